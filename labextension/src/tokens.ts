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
