/**
 * Jest for the extension's TypeScript: ts-jest in a jsdom environment. Unit tests cover the pure
 * modules (formatting, sparkline, diff, repair selection), the dialogs' bodies and the model with the
 * REST seam mocked. JupyterLab's packages are ES modules: ts-jest compiles them too.
 */
const esModules = [
  '@jupyterlab',
  '@lumino',
  '@jupyter',
  '@microsoft',
  '@fluentui',
  '@codemirror',
  'exenv-es6',
  'lib0',
  'y-protocols',
  'yjs',
  'nanoid'
].join('|');

module.exports = {
  testEnvironment: 'jsdom',
  roots: ['<rootDir>/test'],
  testRegex: '\\.spec\\.ts$',
  transform: {
    '^.+\\.tsx?$': ['ts-jest', { tsconfig: 'tsconfig.test.json' }],
    '^.+\\.jsx?$': ['ts-jest', { tsconfig: 'tsconfig.test.json', isolatedModules: true }]
  },
  transformIgnorePatterns: [`/node_modules/(?!(${esModules})/)`],
  moduleNameMapper: {
    '\\.(css|less|svg)$': '<rootDir>/test/stub.js'
  },
  setupFiles: ['<rootDir>/test/setup.js'],
  moduleFileExtensions: ['ts', 'tsx', 'js', 'json'],
  collectCoverageFrom: ['src/**/*.ts'],
  coverageReporters: ['text-summary']
};
