/**
 * Formatting shared by every view of the panel: times in the browser's local time zone (the exact UTC
 * time goes in the `title`), durations, counts with their plural ("1 value", "2 values").
 */
/** How times are shown (the `timeFormat` setting). */
export type TimeFormat = 'local' | 'relative' | 'utc';

/** The exact UTC time of an ISO stamp, for a tooltip: `2026-12-07 13:20:05 UTC`. */
export function utcTitle(stamp: string | null | undefined): string {
  if (!stamp) {
    return '';
  }
  const date = new Date(stamp);
  if (Number.isNaN(date.getTime())) {
    return stamp;
  }
  return date
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, ' UTC');
}

/** A time as the setting says: local (default), relative to `now` ("3 min ago") or UTC. */
export function formatTime(
  stamp: string | null | undefined,
  format: TimeFormat = 'local',
  now: number = Date.now()
): string {
  if (!stamp) {
    return '';
  }
  const date = new Date(stamp);
  if (Number.isNaN(date.getTime())) {
    return stamp;
  }
  if (format === 'utc') {
    return utcTitle(stamp);
  }
  if (format === 'relative') {
    const seconds = Math.round((now - date.getTime()) / 1000);
    if (seconds < 60) {
      return `${Math.max(0, seconds)} s ago`;
    }
    if (seconds < 3600) {
      return `${Math.floor(seconds / 60)} min ago`;
    }
    if (seconds < 86400) {
      return `${Math.floor(seconds / 3600)} h ago`;
    }
    return `${Math.floor(seconds / 86400)} d ago`;
  }
  return date.toLocaleString(undefined, {
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit'
  });
}

const PREVIEW_CHARS = 120;

/** The type of a JSON value, in the names a Python user knows. */
export function typeName(value: unknown): string {
  if (value === null) {
    return 'null';
  }
  if (Array.isArray(value)) {
    return 'list';
  }
  switch (typeof value) {
    case 'string':
      return 'str';
    case 'boolean':
      return 'bool';
    case 'number':
      return Number.isInteger(value) ? 'int' : 'float';
    case 'object':
      return 'dict';
    default:
      return typeof value;
  }
}

/** A one-line preview of a value: strings as they are, anything else as compact JSON. */
export function preview(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  const line = (text ?? String(value)).replace(/\s*\n\s*/g, ' ⏎ ');
  return line.length > PREVIEW_CHARS ? line.slice(0, PREVIEW_CHARS - 1) + '…' : line;
}

/** A size in bytes: `512 B`, `1.5 KiB`, `20 KiB`. */
export function formatBytes(size: number): string {
  if (size < 1024) {
    return `${size} B`;
  }
  return `${(size / 1024).toFixed(size < 10240 ? 1 : 0)} KiB`;
}

/** A duration in seconds: `4.2 s`, `3 min 5 s`, `2 h 10 min`; '' when unknown. */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) {
    return '';
  }
  if (seconds < 60) {
    return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`;
  }
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) {
    return `${minutes} min ${Math.round(seconds % 60)} s`;
  }
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** Remove the ANSI colour codes kernels put in tracebacks. */
export function stripAnsi(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\u001b\[[0-9;]*[A-Za-z]/g, '');
}

/** The text of a task's error: `ename: evalue` and the traceback without colour codes. */
export function errorText(error: unknown): string {
  if (error === null || error === undefined) {
    return '';
  }
  if (typeof error === 'string') {
    return error;
  }
  if (typeof error === 'object') {
    const e = error as Record<string, unknown>;
    const head = [e.ename, e.evalue ?? e.message]
      .filter(x => x !== undefined && x !== null)
      .join(': ');
    const traceback = Array.isArray(e.traceback) ? e.traceback.join('\n') : '';
    const text = stripAnsi([head, traceback].filter(Boolean).join('\n\n'));
    return text || JSON.stringify(error, null, 2);
  }
  return String(error);
}
