import {
  errorText,
  formatDuration,
  formatTime,
  preview,
  stripAnsi,
  typeName,
  utcTitle
} from '../src/format';

describe('format', () => {
  it('shows the exact UTC time for a tooltip', () => {
    expect(utcTitle('2026-12-07T13:20:05.123456+00:00')).toBe('2026-12-07 13:20:05 UTC');
    expect(utcTitle(null)).toBe('');
    expect(utcTitle('not a time')).toBe('not a time');
  });

  it('formats relative times against a given now', () => {
    const now = Date.parse('2026-12-07T13:20:00Z');
    expect(formatTime('2026-12-07T13:19:30Z', 'relative', now)).toBe('30 s ago');
    expect(formatTime('2026-12-07T13:15:00Z', 'relative', now)).toBe('5 min ago');
    expect(formatTime('2026-12-07T10:20:00Z', 'relative', now)).toBe('3 h ago');
    expect(formatTime('2026-12-05T13:20:00Z', 'relative', now)).toBe('2 d ago');
  });

  it('formats utc times as UTC and local times without the UTC suffix', () => {
    expect(formatTime('2026-12-07T13:20:05Z', 'utc')).toBe('2026-12-07 13:20:05 UTC');
    const local = formatTime('2026-12-07T13:20:05Z', 'local');
    expect(local).not.toContain('UTC');
    expect(local).toMatch(/20/);
  });

  it('names JSON types as Python does', () => {
    expect([
      typeName(1),
      typeName(1.5),
      typeName('a'),
      typeName(true),
      typeName(null),
      typeName([]),
      typeName({})
    ]).toEqual(['int', 'float', 'str', 'bool', 'null', 'list', 'dict']);
  });

  it('previews long and multi-line values on one line', () => {
    expect(preview('a\nb')).toBe('a ⏎ b');
    const long = preview('x'.repeat(500));
    expect(long).toHaveLength(120);
    expect(long.endsWith('…')).toBe(true);
    expect(preview({ a: 1 })).toBe('{"a":1}');
  });

  it('formats durations', () => {
    expect(formatDuration(null)).toBe('');
    expect(formatDuration(4.23)).toBe('4.2 s');
    expect(formatDuration(185)).toBe('3 min 5 s');
    expect(formatDuration(7800)).toBe('2 h 10 min');
  });

  it('strips ANSI colours from tracebacks', () => {
    expect(stripAnsi('\u001b[0;31mValueError\u001b[0m: bad')).toBe('ValueError: bad');
    expect(
      errorText({ ename: 'ValueError', evalue: 'bad', traceback: ['\u001b[31mline 1\u001b[0m'] })
    ).toBe('ValueError: bad\n\nline 1');
  });
});
