/** Comparing two runs: which values and resolved parameters changed, as the `GET diff` rows say. */
import { IRunDiff } from './tokens';

/** One row of the diff table. */
export interface IDiffRow {
  kind: 'value' | 'parameter';
  task_key: string;
  name: string;
  a: unknown;
  b: unknown;
  changed: boolean;
}

/** The rows of a diff, changed ones first, then by task and name; `changedOnly` drops the equal ones. */
export function diffRows(diff: IRunDiff, changedOnly = false): IDiffRow[] {
  const rows: IDiffRow[] = [
    ...diff.parameters.map(p => ({
      kind: 'parameter' as const,
      task_key: p.task_key,
      name: p.name,
      a: p.a,
      b: p.b,
      changed: p.changed
    })),
    ...diff.values.map(v => ({
      kind: 'value' as const,
      task_key: v.task_key,
      name: v.key,
      a: v.a,
      b: v.b,
      changed: v.changed
    }))
  ];
  return rows
    .filter(row => !changedOnly || row.changed)
    .sort(
      (x, y) =>
        Number(y.changed) - Number(x.changed) ||
        x.task_key.localeCompare(y.task_key) ||
        x.kind.localeCompare(y.kind) ||
        x.name.localeCompare(y.name)
    );
}

/** A cell's text: strings as they are, a missing side as an em dash, anything else as JSON. */
export function diffText(value: unknown): string {
  if (value === undefined || value === null) {
    return '—';
  }
  return typeof value === 'string' ? value : JSON.stringify(value);
}
