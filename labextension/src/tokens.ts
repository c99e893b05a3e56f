/** The shapes the REST API answers with (see `jupyter_taskvalues/document.py`). */

export type RunState =
  | 'PENDING'
  | 'RUNNING'
  | 'SUCCESS'
  | 'SUCCESS_WITH_FAILURES'
  | 'FAILED'
  | 'TIMEDOUT'
  | 'CANCELED'
  | 'INTERRUPTED';

export interface IRunSummary {
  run_id: string;
  job_id: string | null;
  job_name: string | null;
  state: string | null;
  start_time: string | null;
  end_time: string | null;
  created: string | null;
  duration_seconds: number | null;
  task_count: number;
  repair_count: number;
  source: string | null;
}

export interface IRunsPage {
  runs: IRunSummary[];
  total: number;
  limit: number;
  offset: number;
  runs_dir: string;
}

export interface IValueInfo {
  size: number;
  set_at: string;
  attempt: number;
}

export interface IDependency {
  task_key: string;
  outcome: string | null;
}

export interface IIteration {
  index: number;
  input?: unknown;
  state?: string;
  start_time?: string | null;
  end_time?: string | null;
  parameters?: Record<string, unknown>;
  values?: Record<string, unknown>;
  value_info?: Record<string, IValueInfo>;
  error?: unknown;
  exit_value?: unknown;
  output_notebook?: string | null;
}

export interface ITaskDocument {
  task_key: string;
  type: string;
  depends_on: IDependency[];
  run_if: string;
  notebook_path: string | null;
  state: string;
  attempts: Array<Record<string, unknown>>;
  start_time: string | null;
  end_time: string | null;
  duration_seconds: number | null;
  parameters: Record<string, unknown>;
  values: Record<string, unknown>;
  value_info: Record<string, IValueInfo>;
  exit_value: unknown;
  error: unknown;
  output_notebook: string | null;
  outcome: string | null;
  iterations: IIteration[] | null;
}

export interface IRunDocument {
  format: number;
  run_id: string;
  job_id: string | null;
  job_name: string | null;
  state: string;
  start_time: string | null;
  end_time: string | null;
  duration_seconds: number | null;
  parameters: Record<string, unknown>;
  repair_count: number;
  source: string | null;
  created: string | null;
  value_count: number;
  tasks: Record<string, ITaskDocument>;
}

export interface INotebookLocation {
  run_id: string;
  task_key: string;
  iteration: number | null;
  name: string;
  /** Path relative to the server root (open it with `docmanager:open`), or null. */
  path: string | null;
  /** The notebook JSON when `path` is null. */
  notebook: Record<string, unknown> | null;
}

/** States during which a run can still change. */
export const LIVE_STATES = new Set(['PENDING', 'RUNNING']);

/** A job of a job file, as `GET jobs?path=` describes it. */
export interface IJobInfo {
  name: string;
  job_name?: string;
  parameters: Array<{ name: string; default: unknown }>;
  tasks: string[];
}

/** The answer of `GET jobs?path=`: the jobs and targets of a job file, or its problems. */
export interface IJobFile {
  path: string;
  jobs: IJobInfo[];
  targets: string[];
  default_target: string | null;
  problems: string[];
  /** Fields the loader ignored (unknown fields): shown, but they never stop a run. */
  warnings?: string[];
}

/** The answer of POST runs, rerun, repair and DELETE. */
export interface IRunStarted {
  run_id: string;
  state: string;
  tasks?: string[];
}

/** The live output of one task: `GET runs/<id>/tasks/<task>/output`. */
export interface ITaskOutput {
  run_id: string;
  task_key: string;
  state: string;
  lines: string[];
  truncated: boolean;
  notebook: { path: string | null } | null;
  error: { ename: string; evalue: string; traceback: string[]; cell_source: string | null } | null;
}

/** The run matrix of a job: `GET matrix?job=`, newest run first. */
export interface IRunMatrix {
  job_name: string;
  tasks: string[];
  runs: Array<{
    run_id: string;
    state: string | null;
    start_time: string | null;
    tasks: Record<string, string>;
  }>;
}

/** One point of a value's history: `GET history?job=&task=&key=`, oldest first. */
export interface IHistoryPoint {
  run_id: string;
  start_time: string | null;
  value: unknown;
}

/** A diff of two runs: `GET diff?a=&b=`. */
export interface IRunDiff {
  a: string;
  b: string;
  values: Array<{ task_key: string; key: string; a: unknown; b: unknown; changed: boolean }>;
  parameters: Array<{ task_key: string; name: string; a: unknown; b: unknown; changed: boolean }>;
}

/** Task states from which a task can still be canceled. */
export const CANCELABLE_TASK_STATES = new Set([
  'PENDING',
  'RUNNING',
  'QUEUED',
  'BLOCKED',
  'RETRYING'
]);
/** Task states a default repair reruns (with their dependants). */
export const REPAIRABLE_STATES = new Set([
  'FAILED',
  'TIMEDOUT',
  'CANCELED',
  'INTERNAL_ERROR',
  'UPSTREAM_FAILED',
  'UPSTREAM_CANCELED'
]);
