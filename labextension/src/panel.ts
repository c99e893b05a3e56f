import { LabIcon } from '@jupyterlab/ui-components';
import { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import { h } from './dom';
import { stateClass, taskGraph } from './graph';
import { TaskValuesModel } from './model';
import { IIteration, IRunDocument, IRunSummary, ITaskDocument, IValueInfo, LIVE_STATES } from './tokens';

const ICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <rect x="2" y="3" width="8" height="6" rx="1.5"/>
    <rect x="14" y="3" width="8" height="6" rx="1.5"/>
    <rect x="8" y="15" width="8" height="6" rx="1.5"/>
    <path d="M6 9v2.5c0 .8.7 1.5 1.5 1.5H11v2h2v-2h3.5c.8 0 1.5-.7 1.5-1.5V9h-2v2H8V9z"/>
  </g>
</svg>`;

/** The icon of the Task Values side panel. */
export const taskValuesIcon = new LabIcon({ name: 'jupyter-taskvalues:panel', svgstr: ICON_SVG });

/** How the panel asks the application to open a task's executed notebook. */
export type OpenNotebook = (runId: string, taskKey: string, iteration: number | null) => Promise<void>;

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

export function formatBytes(size: number): string {
  if (size < 1024) {
    return `${size} B`;
  }
  return `${(size / 1024).toFixed(size < 10240 ? 1 : 0)} KiB`;
}

export function formatDuration(seconds: number | null): string {
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

function formatTime(stamp: string | null, withDate = true): string {
  if (!stamp) {
    return '';
  }
  const date = new Date(stamp);
  if (Number.isNaN(date.getTime())) {
    return stamp;
  }
  return withDate
    ? date.toLocaleString(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' })
    : date.toLocaleTimeString();
}

function elapsed(start: string | null, end: string | null, duration: number | null): string {
  if (duration !== null) {
    return formatDuration(duration);
  }
  if (start && !end) {
    const seconds = (Date.now() - new Date(start).getTime()) / 1000;
    return seconds >= 0 ? `${formatDuration(seconds)} so far` : '';
  }
  return '';
}

function badge(state: string | null | undefined): HTMLElement {
  const label = state ?? 'UNKNOWN';
  return h('span', {
    className: `jp-TaskValues-badge ${stateClass(label)}`,
    text: label.replace(/_/g, ' ').toLowerCase(),
    attrs: { 'data-state': label }
  });
}

function errorText(error: unknown): string {
  if (error === null || error === undefined) {
    return '';
  }
  if (typeof error === 'string') {
    return error;
  }
  if (typeof error === 'object') {
    const e = error as Record<string, unknown>;
    const head = [e.ename, e.evalue ?? e.message].filter(x => x !== undefined && x !== null).join(': ');
    const traceback = Array.isArray(e.traceback) ? e.traceback.join('\n') : '';
    // Tracebacks from kernels carry ANSI colour codes.
    // eslint-disable-next-line no-control-regex
    const text = [head, traceback].filter(Boolean).join('\n\n').replace(/\u001b\[[0-9;]*m/g, '');
    return text || JSON.stringify(error, null, 2);
  }
  return String(error);
}

/**
 * The "Task Values" side panel: recent runs, the selected run's task graph, the selected task's values,
 * parameters, exit value and error. Values are shown through text nodes only.
 */
export class TaskValuesPanel extends Widget {
  constructor(
    readonly model: TaskValuesModel,
    private readonly _openNotebook: OpenNotebook
  ) {
    super();
    this.id = 'jupyter-taskvalues-panel';
    this.addClass('jp-TaskValues');
    this.title.icon = taskValuesIcon;
    this.title.caption = 'Task Values';
    this.node.setAttribute('role', 'region');
    this.node.setAttribute('aria-label', 'Task Values');
    this._runsNode = h('section', { className: 'jp-TaskValues-runsSection' });
    this._runNode = h('section', { className: 'jp-TaskValues-runSection' });
    this._taskNode = h('section', { className: 'jp-TaskValues-taskSection' });
    const refresh = h('button', {
      className: 'jp-TaskValues-refresh jp-mod-styled',
      text: '↻',
      title: 'Refresh the runs',
      attrs: { 'aria-label': 'Refresh the runs' },
      onClick: () => {
        void this.model.refreshRuns();
        void this.model.refreshRun();
      }
    });
    const header = h('header', { className: 'jp-TaskValues-header' }, [
      h('h2', { text: 'Task Values' }),
      refresh
    ]);
    this.node.append(header, this._runsNode, this._runNode, this._taskNode);
    model.changed.connect(this.render, this);
    this.render();
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this.model.dispose();
    super.dispose();
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this.model.visible = true;
  }

  protected onAfterHide(msg: Message): void {
    super.onAfterHide(msg);
    this.model.visible = false;
  }

  protected onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    if (this.isVisible) {
      this.model.visible = true;
    }
  }

  protected onBeforeDetach(msg: Message): void {
    this.model.visible = false;
    super.onBeforeDetach(msg);
  }

  /** Rebuild the three sections from the model. */
  render(): void {
    this._runsNode.replaceChildren(...this._renderRuns());
    const run = this.model.run;
    this._runNode.replaceChildren(...this._renderRun(run));
    const task = run && this.model.selectedTaskKey ? run.tasks[this.model.selectedTaskKey] : undefined;
    this._taskNode.replaceChildren(...(run && task ? this._renderTask(run, task) : []));
  }

  private _renderRuns(): Node[] {
    const m = this.model;
    const title = h('h3', { text: m.total > m.runs.length ? `Runs (${m.runs.length} of ${m.total})` : 'Runs' });
    if (m.runsError) {
      return [title, h('p', { className: 'jp-TaskValues-error', text: m.runsError })];
    }
    if (!m.loadedRuns) {
      return [title, h('p', { className: 'jp-TaskValues-empty', text: 'Loading runs…' })];
    }
    if (m.runs.length === 0) {
      return [
        title,
        h('p', { className: 'jp-TaskValues-empty', text: 'No job runs yet. A run appears here as soon as it starts.' }),
        h('p', { className: 'jp-TaskValues-muted', text: `Runs directory: ${m.runsDir}` })
      ];
    }
    const list = h(
      'ul',
      { className: 'jp-TaskValues-runs', attrs: { role: 'listbox', 'aria-label': 'Runs' } },
      m.runs.map(run => this._renderRunItem(run))
    );
    return [title, list];
  }

  private _renderRunItem(run: IRunSummary): HTMLElement {
    const selected = run.run_id === this.model.selectedRunId;
    const item = h(
      'li',
      {
        className: 'jp-TaskValues-run' + (selected ? ' jp-mod-selected' : ''),
        title: `Run ${run.run_id}${run.source ? `\n${run.source}` : ''}`,
        attrs: {
          role: 'option',
          tabindex: '0',
          'aria-selected': String(selected),
          'data-run-id': run.run_id
        },
        onClick: () => this.model.selectRun(run.run_id)
      },
      [
        h('span', { className: `jp-TaskValues-dot ${stateClass(run.state)}` }),
        h('span', { className: 'jp-TaskValues-runJob', text: run.job_name ?? run.run_id }),
        badge(run.state),
        h('span', {
          className: 'jp-TaskValues-runTime',
          text: [formatTime(run.start_time ?? run.created), formatDuration(run.duration_seconds)]
            .filter(Boolean)
            .join(' · ')
        })
      ]
    );
    item.addEventListener('keydown', event => {
      if (event.key === 'Enter' || event.key === ' ') {
        event.preventDefault();
        this.model.selectRun(run.run_id);
      }
    });
    return item;
  }

  private _renderRun(run: IRunDocument | null): Node[] {
    const m = this.model;
    if (m.selectedRunId === null) {
      return [];
    }
    if (m.runError && !run) {
      return [h('p', { className: 'jp-TaskValues-error', text: m.runError })];
    }
    if (!run) {
      return [h('p', { className: 'jp-TaskValues-empty', text: 'Loading the run…' })];
    }
    const live = LIVE_STATES.has(run.state);
    const facts: Array<[string, string]> = [
      ['Run', run.run_id],
      ['Started', formatTime(run.start_time ?? run.created)],
      ['Duration', elapsed(run.start_time, run.end_time, run.duration_seconds)],
      ['Values', String(run.value_count)]
    ];
    if (run.repair_count) {
      facts.push(['Repairs', String(run.repair_count)]);
    }
    const nodes: Node[] = [
      h('h3', { className: 'jp-TaskValues-runTitle' }, [
        h('span', { text: run.job_name ?? 'Run' }),
        badge(run.state),
        live ? h('span', { className: 'jp-TaskValues-live', text: 'live', title: 'Updating while the run goes on' }) : null
      ]),
      this._facts(facts)
    ];
    if (m.runError) {
      nodes.push(h('p', { className: 'jp-TaskValues-error', text: m.runError }));
    }
    if (Object.keys(run.parameters ?? {}).length > 0) {
      nodes.push(this._table('Job parameters', run.parameters));
    }
    const tasks = run.tasks ?? {};
    if (Object.keys(tasks).length === 0) {
      nodes.push(h('p', { className: 'jp-TaskValues-empty', text: 'This run has no tasks.' }));
    } else {
      nodes.push(
        h('div', { className: 'jp-TaskValues-graphBox' }, [
          taskGraph(tasks, m.selectedTaskKey, key => m.selectTask(key))
        ])
      );
    }
    return nodes;
  }

  private _renderTask(run: IRunDocument, task: ITaskDocument): Node[] {
    const nodes: Node[] = [];
    const heading = h('h3', { className: 'jp-TaskValues-taskTitle' }, [
      h('span', { text: task.task_key }),
      badge(task.state)
    ]);
    nodes.push(heading);
    const facts: Array<[string, string]> = [
      ['Type', task.type],
      ['Started', formatTime(task.start_time)],
      ['Duration', elapsed(task.start_time, task.end_time, task.duration_seconds)],
      ['Attempts', String(task.attempts?.length ?? 0)]
    ];
    if (task.notebook_path) {
      facts.push(['Notebook', task.notebook_path]);
    }
    if (task.outcome !== null && task.outcome !== undefined) {
      facts.push(['Outcome', String(task.outcome)]);
    }
    nodes.push(this._facts(facts));
    if (task.output_notebook) {
      const button = h('button', {
        className: 'jp-TaskValues-open jp-mod-styled jp-mod-accept',
        text: 'Open executed notebook',
        title: task.output_notebook,
        onClick: () => void this._openNotebook(run.run_id, task.task_key, null)
      });
      nodes.push(h('div', { className: 'jp-TaskValues-actions' }, [button]));
    }
    nodes.push(h('h4', { text: 'Values' }));
    nodes.push(this._values(task.values ?? {}, task.value_info ?? {}, ''));
    if (Object.keys(task.parameters ?? {}).length > 0) {
      nodes.push(this._table('Parameters', task.parameters));
    }
    if (task.exit_value !== null && task.exit_value !== undefined) {
      nodes.push(h('h4', { text: 'Exit value' }));
      nodes.push(h('pre', { className: 'jp-TaskValues-exit', text: preview(task.exit_value) }));
    }
    if (task.error !== null && task.error !== undefined) {
      nodes.push(h('h4', { text: 'Error' }));
      nodes.push(h('pre', { className: 'jp-TaskValues-errorBlock', text: errorText(task.error) }));
    }
    for (const iteration of task.iterations ?? []) {
      nodes.push(...this._iteration(run, task, iteration));
    }
    return nodes;
  }

  private _iteration(run: IRunDocument, task: ITaskDocument, iteration: IIteration): Node[] {
    const title = h('h4', { className: 'jp-TaskValues-iterationTitle' }, [
      h('span', { text: `Iteration ${iteration.index}` }),
      badge(iteration.state ?? 'PENDING')
    ]);
    const nodes: Node[] = [title];
    if (iteration.input !== undefined) {
      nodes.push(this._facts([['Input', preview(iteration.input)]]));
    }
    nodes.push(this._values(iteration.values ?? {}, iteration.value_info ?? {}, `@${iteration.index}/`));
    if (iteration.error) {
      nodes.push(h('pre', { className: 'jp-TaskValues-errorBlock', text: errorText(iteration.error) }));
    }
    if (iteration.output_notebook) {
      nodes.push(
        h('button', {
          className: 'jp-TaskValues-open jp-mod-styled',
          text: `Open notebook of iteration ${iteration.index}`,
          onClick: () => void this._openNotebook(run.run_id, task.task_key, iteration.index)
        })
      );
    }
    return nodes;
  }

  private _values(values: Record<string, unknown>, info: Record<string, IValueInfo>, scope: string): HTMLElement {
    const keys = Object.keys(values);
    if (keys.length === 0) {
      return h('p', { className: 'jp-TaskValues-empty', text: 'No values set.' });
    }
    const list = h('ul', { className: 'jp-TaskValues-values', attrs: { 'aria-label': 'Task values' } });
    for (const key of keys) {
      const value = values[key];
      const meta = info[key];
      const id = scope + key;
      const open = this.model.expanded.has(id);
      const item = h(
        'li',
        {
          className: 'jp-TaskValues-value' + (open ? ' jp-mod-expanded' : ''),
          title: open ? 'Click to hide the full JSON' : 'Click to show the full JSON',
          attrs: { 'data-key': key, tabindex: '0', role: 'button', 'aria-expanded': String(open) },
          onClick: () => this.model.toggleValue(id)
        },
        [
          h('span', { className: 'jp-TaskValues-key', text: key, title: key }),
          h('span', { className: 'jp-TaskValues-meta' }, [
            h('span', { className: 'jp-TaskValues-type', text: typeName(value), title: 'Type' }),
            h('span', { className: 'jp-TaskValues-size', text: meta ? formatBytes(meta.size) : '', title: 'Size as JSON' }),
            h('span', {
              className: 'jp-TaskValues-setAt',
              text: meta ? formatTime(meta.set_at, false) : '',
              title: meta ? `Set at ${meta.set_at} (attempt ${meta.attempt})` : ''
            })
          ]),
          h('span', { className: 'jp-TaskValues-preview', text: preview(value) }),
          open ? h('pre', { className: 'jp-TaskValues-json', text: JSON.stringify(value, null, 2) }) : null
        ]
      );
      item.addEventListener('keydown', event => {
        if (event.key === 'Enter' || event.key === ' ') {
          event.preventDefault();
          this.model.toggleValue(id);
        }
      });
      list.appendChild(item);
    }
    return list;
  }

  private _table(title: string, entries: Record<string, unknown>): HTMLElement {
    const rows = Object.entries(entries).map(([name, value]) =>
      h('tr', {}, [
        h('th', { text: name, attrs: { scope: 'row' } }),
        h('td', { text: typeof value === 'string' ? value : JSON.stringify(value) })
      ])
    );
    return h('div', { className: 'jp-TaskValues-block' }, [
      h('h4', { text: title }),
      h('table', { className: 'jp-TaskValues-params' }, [h('tbody', {}, rows)])
    ]);
  }

  private _facts(facts: Array<[string, string]>): HTMLElement {
    return h(
      'dl',
      { className: 'jp-TaskValues-facts' },
      facts.filter(([, value]) => value !== '').flatMap(([name, value]) => [h('dt', { text: name }), h('dd', { text: value, title: value })])
    );
  }

  private _runsNode: HTMLElement;
  private _runNode: HTMLElement;
  private _taskNode: HTMLElement;
}
