import { Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';

import { TimeFormat } from './format';
import { endpoint, requestAPI } from './request';
import {
  IHistoryPoint,
  IRunDiff,
  IRunDocument,
  IRunMatrix,
  IRunsPage,
  IRunSummary,
  ITaskOutput,
  LIVE_STATES
} from './tokens';

/** The panel's settings (schema/plugin.json). */
export interface IPanelSettings {
  /** How often a live run and its task output are polled (ms); the runs list every 5 times that. */
  refreshInterval: number;
  /** How many runs the list and the run matrix show. */
  runsShown: number;
  /** How times are shown. */
  timeFormat: TimeFormat;
}

export const DEFAULT_SETTINGS: IPanelSettings = {
  refreshInterval: 1000,
  runsShown: 30,
  timeFormat: 'local'
};

/** How many output lines of a running task are fetched. */
export const OUTPUT_TAIL = 200;

/** The value history the panel shows: one key of one task across the runs of a job. */
export interface IHistoryView {
  job: string;
  task: string;
  key: string;
  points: IHistoryPoint[];
  error: string | null;
}

/**
 * The state of the Task Values panel: the runs list, the selected run and task, and their polling.
 *
 * Polling happens only while the panel is visible. The selected run is fetched with `If-None-Match`
 * every second while it is PENDING or RUNNING, so an unchanged run costs the server a few `stat` calls.
 */
export class TaskValuesModel {
  runs: IRunSummary[] = [];
  total = 0;
  runsDir = '';
  runsError: string | null = null;
  loadedRuns = false;

  selectedRunId: string | null = null;
  run: IRunDocument | null = null;
  runError: string | null = null;
  selectedTaskKey: string | null = null;
  /** The value keys whose full JSON is shown. */
  expanded = new Set<string>();
  /** The live output (or the error) of the selected task. */
  output: ITaskOutput | null = null;
  /** The run matrix of the selected run's job. */
  matrix: IRunMatrix | null = null;
  /** The history of one value key across runs. */
  history: IHistoryView | null = null;
  /** The diff of the selected run with another. */
  diff: IRunDiff | null = null;
  diffError: string | null = null;
  /** The runs this server executes (the ones it can cancel). */
  serverRuns = new Set<string>();
  settings: IPanelSettings = { ...DEFAULT_SETTINGS };

  constructor() {
    this._runsPoll = new Poll({
      factory: () => this.refreshRuns(),
      frequency: { interval: this.settings.refreshInterval * 5, backoff: true, max: 60000 },
      standby: () => !this._visible || 'when-hidden',
      name: 'jupyter-taskvalues:runs'
    });
    this._runPoll = new Poll({
      factory: () => this.refreshRun(),
      frequency: { interval: this.settings.refreshInterval, backoff: true, max: 30000 },
      standby: () => !this._visible || !this._live() || 'when-hidden',
      name: 'jupyter-taskvalues:run'
    });
  }

  /** Apply new settings: the polls take the new interval at once. */
  applySettings(settings: Partial<IPanelSettings>): void {
    this.settings = { ...this.settings, ...settings };
    const interval = Math.max(200, this.settings.refreshInterval);
    this._runsPoll.frequency = {
      interval: interval * 5,
      backoff: true,
      max: Math.max(60000, interval * 5)
    };
    this._runPoll.frequency = { interval, backoff: true, max: Math.max(30000, interval) };
    this._emit();
    if (this._visible) {
      void this._runsPoll.refresh();
    }
  }

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get visible(): boolean {
    return this._visible;
  }

  /** Start or stop polling as the panel is shown or hidden. */
  set visible(value: boolean) {
    if (value === this._visible) {
      return;
    }
    this._visible = value;
    if (value) {
      void this._runsPoll.refresh();
      void this._runPoll.refresh();
    }
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  dispose(): void {
    this._disposed = true;
    this._runsPoll.dispose();
    this._runPoll.dispose();
    Signal.clearData(this);
  }

  /** Fetch the runs list now, then again every RUNS_POLL_MS while visible. */
  async refreshRuns(): Promise<void> {
    try {
      const { data } = await requestAPI<IRunsPage & { server_runs?: string[] }>(
        `runs?limit=${this.settings.runsShown}`
      );
      if (data) {
        this.runs = data.runs;
        this.total = data.total;
        this.runsDir = data.runs_dir;
        this.serverRuns = new Set(data.server_runs ?? []);
      }
      this.runsError = null;
    } catch (error) {
      this.runsError = (error as Error).message;
    }
    this.loadedRuns = true;
    if (this.selectedRunId === null && this.runs.length > 0) {
      this.selectRun(this.runs[0].run_id);
    } else {
      // The list may know of a state change of the selected run before its own poll does.
      const listed = this.runs.find(r => r.run_id === this.selectedRunId);
      if (listed && this.run && listed.state !== this.run.state) {
        void this.refreshRun();
      }
      this._emit();
    }
  }

  /** Select a run (null: none) and fetch its document. */
  selectRun(runId: string | null): void {
    if (runId === this.selectedRunId) {
      return;
    }
    this.selectedRunId = runId;
    this.run = null;
    this.runError = null;
    this._etag = null;
    this.selectedTaskKey = null;
    this.expanded.clear();
    this.output = null;
    this.diff = null;
    this.diffError = null;
    this._emit();
    void this._runPoll.refresh();
    void this.refreshRun();
  }

  /** Select a task of the selected run. */
  selectTask(taskKey: string | null): void {
    this.selectedTaskKey = taskKey;
    this.expanded.clear();
    this.output = null;
    this._emit();
    void this.refreshOutput();
  }

  /** Show or hide the full JSON of one value of the selected task. */
  toggleValue(key: string): void {
    if (this.expanded.has(key)) {
      this.expanded.delete(key);
    } else {
      this.expanded.add(key);
    }
    this._emit();
  }

  /** Fetch the selected run if it changed (ETag), then poll while it is live and the panel visible. */
  async refreshRun(): Promise<void> {
    const runId = this.selectedRunId;
    if (runId === null) {
      return;
    }
    try {
      const response = await requestAPI<IRunDocument>(endpoint('runs', runId), this._etag);
      if (runId !== this.selectedRunId) {
        return; // another run was selected meanwhile
      }
      this.runError = null;
      if (response.status !== 304 && response.data) {
        const wasLive = this.run !== null && LIVE_STATES.has(this.run.state);
        this.run = response.data;
        this._etag = response.etag;
        if (this.selectedTaskKey === null || !(this.selectedTaskKey in this.run.tasks)) {
          this.selectedTaskKey = this._defaultTask(this.run);
        }
        if (wasLive && !LIVE_STATES.has(this.run.state)) {
          void this.refreshRuns();
        }
        if (this.run.job_name && this.matrix?.job_name !== this.run.job_name) {
          void this.loadMatrix(this.run.job_name);
        } else if (wasLive && this.run.job_name && !LIVE_STATES.has(this.run.state)) {
          void this.loadMatrix(this.run.job_name);
        }
        this._emit();
      }
      await this.refreshOutput();
    } catch (error) {
      if (runId !== this.selectedRunId) {
        return;
      }
      this.runError = (error as Error).message;
      this._emit();
    }
  }

  /**
   * Fetch the output of the selected task while it runs, and once more when it has ended (its last lines,
   * its notebook and, when it failed, the failing cell and traceback).
   */
  async refreshOutput(): Promise<void> {
    const run = this.run;
    const key = this.selectedTaskKey;
    if (!run || !key || !(key in run.tasks)) {
      return;
    }
    const state = run.tasks[key].state;
    const started = run.tasks[key].start_time !== null || !LIVE_STATES.has(state);
    if (
      !started ||
      (this.output &&
        this.output.task_key === key &&
        this.output.state === state &&
        !LIVE_STATES.has(state))
    ) {
      return;
    }
    try {
      const { data } = await requestAPI<ITaskOutput>(
        endpoint('runs', run.run_id, 'tasks', key, 'output') + `?tail=${OUTPUT_TAIL}`
      );
      if (data && run.run_id === this.selectedRunId && key === this.selectedTaskKey) {
        this.output = data;
        this._emit();
      }
    } catch (error) {
      // A run from an older format has no output log: the panel shows the task document alone.
      this.output = null;
    }
  }

  /** Load the run matrix (recent runs x tasks) of a job. */
  async loadMatrix(job: string): Promise<void> {
    try {
      const { data } = await requestAPI<IRunMatrix>(
        `matrix?job=${encodeURIComponent(job)}&limit=${Math.min(this.settings.runsShown, 50)}`
      );
      this.matrix = data;
    } catch (error) {
      this.matrix = { job_name: job, tasks: [], runs: [] };
    }
    this._emit();
  }

  /** Load the history of one value key of a task across the runs of a job. */
  async loadHistory(job: string, task: string, key: string): Promise<void> {
    this.history = { job, task, key, points: [], error: null };
    this._emit();
    try {
      const query = `history?job=${encodeURIComponent(job)}&task=${encodeURIComponent(task)}&key=${encodeURIComponent(key)}&limit=50`;
      const { data } = await requestAPI<{ points: IHistoryPoint[] }>(query);
      this.history = { job, task, key, points: data?.points ?? [], error: null };
    } catch (error) {
      this.history = { job, task, key, points: [], error: (error as Error).message };
    }
    this._emit();
  }

  /** Close the value history. */
  closeHistory(): void {
    this.history = null;
    this._emit();
  }

  /** Compare the selected run (b) with another run (a); null clears the diff. */
  async loadDiff(other: string | null): Promise<void> {
    const runId = this.selectedRunId;
    this.diff = null;
    this.diffError = null;
    if (other === null || runId === null) {
      this._emit();
      return;
    }
    try {
      const { data } = await requestAPI<IRunDiff>(
        `diff?a=${encodeURIComponent(other)}&b=${encodeURIComponent(runId)}`
      );
      this.diff = data;
    } catch (error) {
      this.diffError = (error as Error).message;
    }
    this._emit();
  }

  /** Poll the selected run at once (after an action changed it). */
  refreshNow(): void {
    void this._runsPoll.refresh();
    void this._runPoll.refresh();
    void this.refreshRun();
  }

  private _live(): boolean {
    return this.run === null ? this.selectedRunId !== null : LIVE_STATES.has(this.run.state);
  }

  private _defaultTask(run: IRunDocument): string | null {
    const keys = Object.keys(run.tasks);
    const withValues = keys.find(k => Object.keys(run.tasks[k].values).length > 0);
    return withValues ?? keys[0] ?? null;
  }

  private _emit(): void {
    if (!this._disposed) {
      this._changed.emit();
    }
  }

  private _changed = new Signal<this, void>(this);
  private _visible = false;
  private _disposed = false;
  private _etag: string | null = null;
  private _runsPoll: Poll;
  private _runPoll: Poll;
}
