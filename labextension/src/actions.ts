/**
 * The run actions of the panel and the commands: run a job file, run a past run again (with the same or
 * different parameters), cancel a run or one task, repair a finished run. Each one calls the REST API and
 * then selects the run it started or changed, so the panel follows it live.
 */
import { Dialog, showDialog, showErrorMessage } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';

import { parametersDialog, repairDialog, runJobDialog } from './dialogs';
import { TaskValuesModel } from './model';
import { APIError, endpoint, requestAPI, sendAPI } from './request';
import { IJobFile, IRunDocument, IRunStarted } from './tokens';

/** Whether a file name is a job file the "Run job" command accepts. */
export function isJobFile(path: string): boolean {
  const name = path.split('/').pop() ?? '';
  return (
    name === 'databricks.yml' || name === 'databricks.yaml' || /\.job\.(json|ya?ml)$/.test(name)
  );
}

/** The run actions, bound to the panel's model and a translation bundle. */
export class RunActions {
  constructor(
    private readonly _model: TaskValuesModel,
    private readonly _trans: TranslationBundle,
    private readonly _reveal: () => void = () => undefined
  ) {}

  /**
   * Show the "Run job" dialog of a job file and start the run it describes.
   *
   * A file that does not validate shows the validator's messages and starts nothing.
   *
   * @returns the id of the started run, or null
   */
  async runJobFile(path: string): Promise<string | null> {
    const trans = this._trans;
    let file: IJobFile;
    try {
      const { data } = await requestAPI<IJobFile>(`jobs?path=${encodeURIComponent(path)}`);
      if (!data) {
        return null;
      }
      file = data;
    } catch (error) {
      await this._failed(trans.__('Cannot read the job file %1', path), error);
      return null;
    }
    let initial: Record<string, string> | null = null;
    for (;;) {
      const request = await runJobDialog(file, trans, initial);
      if (request === null) {
        return null;
      }
      try {
        const started = await sendAPI<IRunStarted>('POST', 'runs', request);
        this._follow(started.run_id);
        return started.run_id;
      } catch (error) {
        if (error instanceof APIError && error.problems.length > 0) {
          // The server's validator refused the parameters: show its messages, keep what was typed.
          file = { ...file, problems: error.problems };
          initial = request.parameters;
          await runJobDialog(file, trans, initial);
          return null;
        }
        await this._failed(trans.__('Cannot start the job'), error);
        return null;
      }
    }
  }

  /** Start a new run of a past run's job file, job and target, asking for new parameters when `ask`. */
  async rerun(run: IRunDocument, ask: boolean): Promise<string | null> {
    let body: { parameters?: Record<string, string> } = {};
    if (ask) {
      const parameters = await parametersDialog(run, this._trans);
      if (parameters === null) {
        return null;
      }
      body = { parameters };
    }
    try {
      const started = await sendAPI<IRunStarted>(
        'POST',
        endpoint('runs', run.run_id, 'rerun'),
        body
      );
      this._follow(started.run_id);
      return started.run_id;
    } catch (error) {
      await this._failed(this._trans.__('Cannot run %1 again', run.job_name ?? run.run_id), error);
      return null;
    }
  }

  /** Cancel a running run (after a confirmation). */
  async cancelRun(run: IRunDocument): Promise<void> {
    const trans = this._trans;
    const answer = await showDialog({
      title: trans.__('Cancel run %1?', run.job_name ?? run.run_id),
      body: trans.__('Its running tasks are stopped; the values already set are kept.'),
      buttons: [
        Dialog.cancelButton({ label: trans.__('Keep running') }),
        Dialog.warnButton({ label: trans.__('Cancel run') })
      ]
    });
    if (!answer.button.accept) {
      return;
    }
    try {
      await sendAPI<IRunStarted>('DELETE', endpoint('runs', run.run_id));
    } catch (error) {
      await this._failed(trans.__('Cannot cancel the run'), error);
    }
    this._model.refreshNow();
  }

  /** Cancel one running task; its dependants follow their run_if. */
  async cancelTask(run: IRunDocument, taskKey: string): Promise<void> {
    try {
      await sendAPI<IRunStarted>('DELETE', endpoint('runs', run.run_id, 'tasks', taskKey));
    } catch (error) {
      await this._failed(this._trans.__('Cannot cancel the task %1', taskKey), error);
    }
    this._model.refreshNow();
  }

  /** Ask which tasks to rerun (default: the failed ones and their dependants) and repair the run. */
  async repair(run: IRunDocument): Promise<void> {
    const tasks = await repairDialog(run, this._trans);
    if (tasks === null) {
      return;
    }
    try {
      await sendAPI<IRunStarted>(
        'POST',
        endpoint('runs', run.run_id, 'repair'),
        tasks.length > 0 ? { tasks } : {}
      );
    } catch (error) {
      await this._failed(this._trans.__('Cannot repair the run'), error);
    }
    this._model.refreshNow();
  }

  private _follow(runId: string): void {
    // Started here, so this server can cancel it (before the runs list says so).
    this._model.serverRuns.add(runId);
    this._reveal();
    this._model.selectRun(runId);
    this._model.refreshNow();
  }

  private async _failed(title: string, error: unknown): Promise<void> {
    const message = error instanceof Error ? error.message : String(error);
    const problems = error instanceof APIError ? error.problems : [];
    await showErrorMessage(title, [message, ...problems.map(p => `• ${p}`)].join('\n'));
  }
}
