/**
 * Jest for the extension's TypeScript: ts-jest in a jsdom environment. Unit tests cover the pure
 * modules (formatting, sparkline, diff, repair selection) and the model with the REST seam mocked.
 */
module.exports = {
  testEnvironment: 'jsdom',
  roots: ['<rootDir>/test'],
  testRegex: '\\.spec\\.ts$',
  transform: {
    '^.+\\.tsx?$': ['ts-jest', { tsconfig: 'tsconfig.test.json' }]
  },
  moduleFileExtensions: ['ts', 'tsx', 'js', 'json'],
  collectCoverageFrom: ['src/**/*.ts'],
  coverageReporters: ['text-summary']
};
