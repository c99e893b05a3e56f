/**
 * The dialogs of the run actions: "Run job" (pick the job of a bundle, the target, edit the parameters),
 * "Run with different parameters" and "Repair run" (pick the tasks to rerun). Every value goes into the DOM
 * through `textContent` or an input's `value`: a parameter value is data, never markup.
 */
import { Dialog, showDialog } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';

import { h } from './dom';
import { defaultRepairTasks } from './repair';
import { IJobFile, IRunDocument } from './tokens';

/** What the "Run job" dialog asks the server to start (the body of `POST runs`). */
export interface IRunRequest {
  path: string;
  job?: string;
  target?: string;
  parameters: Record<string, string>;
}

/** A job parameter's default as the text of its input. */
export function parameterText(value: unknown): string {
  if (value === null || value === undefined) {
    return '';
  }
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** The body of the "Run job" dialog: job, target and one input per job parameter. */
export class RunJobBody extends Widget implements Dialog.IBodyWidget<IRunRequest> {
  constructor(
    private readonly _file: IJobFile,
    private readonly _trans: TranslationBundle,
    initial: Record<string, string> | null = null
  ) {
    super();
    this.addClass('jp-TaskValues-dialog');
    const trans = this._trans;
    if (_file.problems.length > 0) {
      this.node.append(
        h('p', {
          className: 'jp-TaskValues-error',
          text: trans.__('This job file does not validate; nothing was started.')
        }),
        h(
          'ul',
          { className: 'jp-TaskValues-problems', attrs: { 'aria-label': trans.__('Problems') } },
          _file.problems.map(problem => h('li', { text: problem }))
        )
      );
      this._renderWarnings();
      return;
    }
    this._initial = initial;
    this._jobSelect = h('select', {
      className: 'jp-mod-styled jp-TaskValues-jobSelect',
      attrs: { 'aria-label': trans.__('Job') }
    });
    for (const job of _file.jobs) {
      this._jobSelect.appendChild(
        h('option', { text: job.job_name ?? job.name, attrs: { value: job.name } })
      );
    }
    this._jobSelect.addEventListener('change', () => this._renderParameters());
    this.node.append(
      h('label', { className: 'jp-TaskValues-field' }, [
        h('span', { text: trans.__('Job') }),
        this._jobSelect
      ])
    );
    if (_file.targets.length > 0) {
      this._targetSelect = h('select', {
        className: 'jp-mod-styled jp-TaskValues-targetSelect',
        attrs: { 'aria-label': trans.__('Target') }
      });
      for (const target of _file.targets) {
        const option = h('option', { text: target, attrs: { value: target } });
        option.selected = target === _file.default_target;
        this._targetSelect.appendChild(option);
      }
      this.node.append(
        h('label', { className: 'jp-TaskValues-field' }, [
          h('span', { text: trans.__('Target') }),
          this._targetSelect
        ])
      );
    }
    this._parametersNode = h('fieldset', { className: 'jp-TaskValues-paramFields' });
    this.node.append(this._parametersNode);
    this._renderParameters();
    this._renderWarnings();
  }

  /** The fields the loader ignored, as text: a warning, not an error (the job still runs). */
  private _renderWarnings(): void {
    const warnings = this._file.warnings ?? [];
    if (warnings.length === 0) {
      return;
    }
    this.node.append(
      h(
        'ul',
        {
          className: 'jp-TaskValues-warnings',
          attrs: { 'aria-label': this._trans.__('Warnings') }
        },
        warnings.map(warning => h('li', { text: warning }))
      )
    );
  }

  /** Whether the job file validated (else the dialog only shows its problems). */
  get valid(): boolean {
    return this._file.problems.length === 0 && this._file.jobs.length > 0;
  }

  getValue(): IRunRequest {
    const parameters: Record<string, string> = {};
    for (const input of Array.from(
      this.node.querySelectorAll<HTMLInputElement>('input[data-parameter]')
    )) {
      parameters[input.dataset.parameter ?? ''] = input.value;
    }
    const request: IRunRequest = { path: this._file.path, parameters };
    if (this._jobSelect && this._file.jobs.length > 1) {
      request.job = this._jobSelect.value;
    } else if (this._file.jobs.length === 1) {
      request.job = this._file.jobs[0].name;
    }
    if (this._targetSelect) {
      request.target = this._targetSelect.value;
    }
    return request;
  }

  private _renderParameters(): void {
    if (!this._parametersNode || !this._jobSelect) {
      return;
    }
    const trans = this._trans;
    const job = this._file.jobs.find(j => j.name === this._jobSelect?.value) ?? this._file.jobs[0];
    const rows: HTMLElement[] = [h('legend', { text: trans.__('Job parameters') })];
    if (!job || job.parameters.length === 0) {
      rows.push(
        h('p', { className: 'jp-TaskValues-muted', text: trans.__('This job has no parameters.') })
      );
    }
    for (const parameter of job?.parameters ?? []) {
      const input = h('input', {
        className: 'jp-mod-styled',
        attrs: { type: 'text', 'data-parameter': parameter.name, 'aria-label': parameter.name }
      });
      input.value = this._initial?.[parameter.name] ?? parameterText(parameter.default);
      rows.push(
        h('label', { className: 'jp-TaskValues-field' }, [
          h('span', { text: parameter.name, title: parameter.name }),
          input
        ])
      );
    }
    this._parametersNode.replaceChildren(...rows);
  }

  private _initial: Record<string, string> | null = null;
  private _jobSelect: HTMLSelectElement | null = null;
  private _targetSelect: HTMLSelectElement | null = null;
  private _parametersNode: HTMLElement | null = null;
}

/**
 * Show the "Run job" dialog of a job file.
 *
 * @returns the request to send, or null when the user canceled or the file does not validate
 */
export async function runJobDialog(
  file: IJobFile,
  trans: TranslationBundle,
  initial: Record<string, string> | null = null
): Promise<IRunRequest | null> {
  const body = new RunJobBody(file, trans, initial);
  const buttons = body.valid
    ? [
        Dialog.cancelButton({ label: trans.__('Cancel') }),
        Dialog.okButton({ label: trans.__('Run') })
      ]
    : [Dialog.cancelButton({ label: trans.__('Close') })];
  const result = await showDialog({ title: trans.__('Run job: %1', file.path), body, buttons });
  return result.button.accept && body.valid ? result.value : null;
}

/** The body of "Run with different parameters": one input per parameter of the past run. */
export class ParametersBody extends Widget implements Dialog.IBodyWidget<Record<string, string>> {
  constructor(parameters: Record<string, unknown>, trans: TranslationBundle) {
    super();
    this.addClass('jp-TaskValues-dialog');
    const names = Object.keys(parameters);
    if (names.length === 0) {
      this.node.append(
        h('p', {
          className: 'jp-TaskValues-muted',
          text: trans.__('This run has no job parameters.')
        })
      );
    }
    for (const name of names) {
      const input = h('input', {
        className: 'jp-mod-styled',
        attrs: { type: 'text', 'data-parameter': name, 'aria-label': name }
      });
      input.value = parameterText(parameters[name]);
      this.node.append(
        h('label', { className: 'jp-TaskValues-field' }, [
          h('span', { text: name, title: name }),
          input
        ])
      );
    }
  }

  getValue(): Record<string, string> {
    const parameters: Record<string, string> = {};
    for (const input of Array.from(
      this.node.querySelectorAll<HTMLInputElement>('input[data-parameter]')
    )) {
      parameters[input.dataset.parameter ?? ''] = input.value;
    }
    return parameters;
  }
}

/** Ask for new job parameters of a run; null when canceled. */
export async function parametersDialog(
  run: IRunDocument,
  trans: TranslationBundle
): Promise<Record<string, string> | null> {
  const body = new ParametersBody(run.parameters ?? {}, trans);
  const result = await showDialog({
    title: trans.__('Run %1 with different parameters', run.job_name ?? run.run_id),
    body,
    buttons: [
      Dialog.cancelButton({ label: trans.__('Cancel') }),
      Dialog.okButton({ label: trans.__('Run') })
    ]
  });
  return result.button.accept ? result.value : null;
}

/** The body of "Repair run": a checkbox per task, the failed ones and their dependants checked. */
export class RepairBody extends Widget implements Dialog.IBodyWidget<string[]> {
  constructor(run: IRunDocument, trans: TranslationBundle) {
    super();
    this.addClass('jp-TaskValues-dialog');
    const checked = new Set(defaultRepairTasks(run.tasks));
    this.node.append(
      h('p', { text: trans.__('Tasks to rerun (default: the failed ones and their dependants)') })
    );
    for (const [key, task] of Object.entries(run.tasks)) {
      const box = h('input', { attrs: { type: 'checkbox', 'data-task': key, 'aria-label': key } });
      box.checked = checked.has(key);
      this.node.append(
        h('label', { className: 'jp-TaskValues-check' }, [
          box,
          h('span', { text: key, title: key }),
          h('span', { className: 'jp-TaskValues-muted', text: task.state.toLowerCase() })
        ])
      );
    }
  }

  getValue(): string[] {
    return Array.from(this.node.querySelectorAll<HTMLInputElement>('input[data-task]'))
      .filter(box => box.checked)
      .map(box => box.dataset.task ?? '');
  }
}

/** Ask which tasks of a finished run to rerun; null when canceled. */
export async function repairDialog(
  run: IRunDocument,
  trans: TranslationBundle
): Promise<string[] | null> {
  const body = new RepairBody(run, trans);
  const result = await showDialog({
    title: trans.__('Repair run %1', run.job_name ?? run.run_id),
    body,
    buttons: [
      Dialog.cancelButton({ label: trans.__('Cancel') }),
      Dialog.okButton({ label: trans.__('Repair') })
    ]
  });
  return result.button.accept ? result.value : null;
}
