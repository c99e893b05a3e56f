import { ISignal, Signal } from '@lumino/signaling';

import { endpoint, requestAPI } from './request';
import { IRunDocument, IRunsPage, IRunSummary, LIVE_STATES } from './tokens';

/** How often the selected run is polled while it is live (ms). */
export const RUN_POLL_MS = 1000;
/** How often the list of runs is refreshed while the panel is visible (ms). */
export const RUNS_POLL_MS = 5000;
/** How many runs the list shows. */
export const RUNS_PAGE = 30;

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
      void this.refreshRuns();
      void this.refreshRun();
    } else {
      this._clearTimers();
    }
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  dispose(): void {
    this._disposed = true;
    this._clearTimers();
    Signal.clearData(this);
  }

  /** Fetch the runs list now, then again every RUNS_POLL_MS while visible. */
  async refreshRuns(): Promise<void> {
    window.clearTimeout(this._runsTimer);
    try {
      const { data } = await requestAPI<IRunsPage>(`runs?limit=${RUNS_PAGE}`);
      if (data) {
        this.runs = data.runs;
        this.total = data.total;
        this.runsDir = data.runs_dir;
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
    this._scheduleRuns();
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
    this._emit();
    void this.refreshRun();
  }

  /** Select a task of the selected run. */
  selectTask(taskKey: string | null): void {
    this.selectedTaskKey = taskKey;
    this.expanded.clear();
    this._emit();
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
    window.clearTimeout(this._runTimer);
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
        this._emit();
      }
    } catch (error) {
      if (runId !== this.selectedRunId) {
        return;
      }
      this.runError = (error as Error).message;
      this._emit();
    }
    if (this.run && LIVE_STATES.has(this.run.state)) {
      this._scheduleRun();
    }
  }

  private _defaultTask(run: IRunDocument): string | null {
    const keys = Object.keys(run.tasks);
    const withValues = keys.find(k => Object.keys(run.tasks[k].values).length > 0);
    return withValues ?? keys[0] ?? null;
  }

  private _scheduleRuns(): void {
    window.clearTimeout(this._runsTimer);
    if (this._visible && !this._disposed) {
      this._runsTimer = window.setTimeout(() => void this.refreshRuns(), RUNS_POLL_MS);
    }
  }

  private _scheduleRun(): void {
    window.clearTimeout(this._runTimer);
    if (this._visible && !this._disposed) {
      this._runTimer = window.setTimeout(() => void this.refreshRun(), RUN_POLL_MS);
    }
  }

  private _clearTimers(): void {
    window.clearTimeout(this._runsTimer);
    window.clearTimeout(this._runTimer);
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
  private _runsTimer = 0;
  private _runTimer = 0;
}
