import { Contents, ServerConnection } from '@jupyterlab/services';
import { ISignal, Signal } from '@lumino/signaling';

import { endpoint, requestAPI } from './request';
import { INotebookLocation } from './tokens';

/** The name of the read-only drive: `TaskValues:<run_id>/<task_key>.ipynb` (or `<task_key>@<i>.ipynb`). */
export const DRIVE_NAME = 'TaskValues';

const PATH_RE = /^([^/]+)\/([^/@]+?)(?:@(\d+))?\.ipynb$/;

/** The drive path of a task's (or a for-each iteration's) executed notebook. */
export function drivePath(runId: string, taskKey: string, iteration: number | null): string {
  const suffix = iteration === null ? '' : `@${iteration}`;
  return `${DRIVE_NAME}:${runId}/${taskKey}${suffix}.ipynb`;
}

/** Ask the server where a task's executed notebook is (a root-relative path) or for its JSON. */
export async function notebookLocation(
  runId: string,
  taskKey: string,
  iteration: number | null
): Promise<INotebookLocation> {
  const query = iteration === null ? '' : `?iteration=${iteration}`;
  const { data } = await requestAPI<INotebookLocation>(
    endpoint('runs', runId, 'tasks', taskKey, 'notebook') + query
  );
  if (!data) {
    throw new Error(`No notebook for task ${taskKey} of run ${runId}.`);
  }
  return data;
}

function readOnly(): Promise<never> {
  return Promise.reject(
    new Error('Executed notebooks of job runs are read-only. Use "Save As" to keep a copy.')
  );
}

/**
 * A read-only drive serving executed notebooks that live in the runs directory, outside the server's
 * root, so that JupyterLab can still show them (outputs included).
 */
export class TaskValuesDrive implements Contents.IDrive {
  readonly name = DRIVE_NAME;
  readonly serverSettings: ServerConnection.ISettings = ServerConnection.makeSettings();

  get fileChanged(): ISignal<this, Contents.IChangedArgs> {
    return this._fileChanged;
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  dispose(): void {
    this._disposed = true;
    Signal.clearData(this);
  }

  async get(localPath: string, options?: Contents.IFetchOptions): Promise<Contents.IModel> {
    const match = PATH_RE.exec(localPath);
    if (!match) {
      throw new Error(`${DRIVE_NAME}:${localPath} is not an executed notebook of a run.`);
    }
    const [, runId, taskKey, iteration] = match;
    const location = await notebookLocation(
      runId,
      taskKey,
      iteration === undefined ? null : Number(iteration)
    );
    const now = new Date().toISOString();
    return {
      name: localPath.split('/').pop() ?? localPath,
      path: localPath,
      type: 'notebook',
      format: 'json',
      mimetype: 'application/x-ipynb+json',
      writable: false,
      created: now,
      last_modified: now,
      content: options?.content === false ? null : location.notebook
    };
  }

  getDownloadUrl(): Promise<string> {
    return readOnly();
  }
  newUntitled(): Promise<Contents.IModel> {
    return readOnly();
  }
  delete(): Promise<void> {
    return readOnly();
  }
  rename(): Promise<Contents.IModel> {
    return readOnly();
  }
  save(): Promise<Contents.IModel> {
    return readOnly();
  }
  copy(): Promise<Contents.IModel> {
    return readOnly();
  }
  createCheckpoint(): Promise<Contents.ICheckpointModel> {
    return readOnly();
  }
  async listCheckpoints(): Promise<Contents.ICheckpointModel[]> {
    return [];
  }
  restoreCheckpoint(): Promise<void> {
    return readOnly();
  }
  deleteCheckpoint(): Promise<void> {
    return readOnly();
  }

  private _fileChanged = new Signal<this, Contents.IChangedArgs>(this);
  private _disposed = false;
}
