/**
 * The selected task's section of the panel: its facts, a Cancel button while it runs, its live output
 * (the last lines), the failing cell and traceback when it failed, its values (each with a "History"
 * button), parameters, exit value and iterations. Values go into the DOM as text only.
 */
import { TranslationBundle } from '@jupyterlab/translation';

import { canCancelTask } from './cancel';
import { h } from './dom';
import { errorText, formatBytes, formatDuration, preview, stripAnsi, typeName } from './format';
import { TaskValuesModel } from './model';
import {
  IIteration,
  IRunDocument,
  ITaskDocument,
  ITaskOutput,
  IValueInfo,
  LIVE_STATES
} from './tokens';
import { badge, button, facts, table, timeNode } from './views';

/** How the task view asks the application to act. */
export interface ITaskViewCallbacks {
  openNotebook: (runId: string, taskKey: string, iteration: number | null) => Promise<void>;
  cancelTask: ((run: IRunDocument, taskKey: string) => void) | null;
}

/** How long a task has run: its duration, or the time so far while it runs. */
export function elapsed(
  start: string | null,
  end: string | null,
  duration: number | null,
  soFar: string
): string {
  if (duration !== null && duration !== undefined) {
    return formatDuration(duration);
  }
  if (start && !end) {
    const seconds = (Date.now() - new Date(start).getTime()) / 1000;
    return seconds >= 0 ? `${formatDuration(seconds)} ${soFar}` : '';
  }
  return '';
}

/** Render the section of one task. */
export function renderTask(
  model: TaskValuesModel,
  run: IRunDocument,
  task: ITaskDocument,
  trans: TranslationBundle,
  callbacks: ITaskViewCallbacks
): Node[] {
  const format = model.settings.timeFormat;
  const nodes: Node[] = [
    h('h3', { className: 'jp-TaskValues-taskTitle' }, [
      h('span', { text: task.task_key, title: task.task_key }),
      badge(task.state)
    ])
  ];
  const entries: Array<[string, string | HTMLElement]> = [
    [trans.__('Type'), task.type],
    [trans.__('Started'), timeNode(task.start_time, format)],
    [
      trans.__('Duration'),
      elapsed(task.start_time, task.end_time, task.duration_seconds, trans.__('so far'))
    ],
    [trans.__('Attempts'), String(task.attempts?.length ?? 0)]
  ];
  if (task.notebook_path) {
    // The file name only (the full path, often absolute, is on hover): no build paths on screen.
    const name = task.notebook_path.split(/[\\/]/).pop() ?? task.notebook_path;
    entries.push([trans.__('Notebook'), h('span', { text: name, title: task.notebook_path })]);
  }
  if (task.outcome !== null && task.outcome !== undefined) {
    entries.push([trans.__('Outcome'), String(task.outcome)]);
  }
  nodes.push(facts(entries));

  const actions: HTMLElement[] = [];
  const cancel = callbacks.cancelTask;
  if (cancel && canCancelTask(run, task, model.serverRuns)) {
    actions.push(
      button(trans.__('Cancel task'), () => cancel(run, task.task_key), {
        className: 'jp-TaskValues-cancelTask',
        warn: true,
        aria: trans.__('Cancel the task %1', task.task_key)
      })
    );
  }
  const output = model.output && model.output.task_key === task.task_key ? model.output : null;
  const notebookPath = task.output_notebook ?? output?.notebook?.path ?? null;
  if (notebookPath && !LIVE_STATES.has(task.state)) {
    actions.push(
      button(
        trans.__('Open executed notebook'),
        () => void callbacks.openNotebook(run.run_id, task.task_key, null),
        {
          className: 'jp-TaskValues-open',
          accept: true,
          title: notebookPath
        }
      )
    );
  }
  if (actions.length > 0) {
    nodes.push(h('div', { className: 'jp-TaskValues-actions' }, actions));
  }
  if (output) {
    nodes.push(...renderOutput(output, task, trans));
  }

  nodes.push(h('h4', { text: trans.__('Values') }));
  nodes.push(
    renderValues(model, run, task.task_key, task.values ?? {}, task.value_info ?? {}, '', trans)
  );
  if (Object.keys(task.parameters ?? {}).length > 0) {
    nodes.push(table(trans.__('Parameters'), task.parameters));
  }
  if (task.exit_value !== null && task.exit_value !== undefined) {
    nodes.push(h('h4', { text: trans.__('Exit value') }));
    nodes.push(h('pre', { className: 'jp-TaskValues-exit', text: preview(task.exit_value) }));
  }
  if (task.error !== null && task.error !== undefined && !output?.error) {
    nodes.push(h('h4', { text: trans.__('Error') }));
    nodes.push(h('pre', { className: 'jp-TaskValues-errorBlock', text: errorText(task.error) }));
  }
  for (const iteration of task.iterations ?? []) {
    nodes.push(...renderIteration(model, run, task, iteration, trans, callbacks));
  }
  return nodes;
}

/** The live output block and, for a failed task, the failing cell and the traceback. */
function renderOutput(output: ITaskOutput, task: ITaskDocument, trans: TranslationBundle): Node[] {
  const nodes: Node[] = [];
  const live = LIVE_STATES.has(task.state);
  if (output.lines.length > 0 || live) {
    nodes.push(
      h('h4', { text: live ? trans.__('Output (live)') : trans.__('Output') }),
      h('pre', {
        className: 'jp-TaskValues-output' + (live ? ' jp-mod-live' : ''),
        text:
          (output.truncated ? trans.__('… earlier lines left out …') + '\n' : '') +
          (output.lines.length > 0
            ? stripAnsi(output.lines.join('\n'))
            : trans.__('No output yet.')),
        attrs: {
          'aria-label': trans.__('Output of %1', task.task_key),
          'aria-live': live ? 'polite' : 'off',
          tabindex: '0'
        }
      })
    );
  }
  if (output.error) {
    nodes.push(h('h4', { text: trans.__('Error') }));
    if (output.error.cell_source) {
      nodes.push(
        h('div', { className: 'jp-TaskValues-muted', text: trans.__('The failing cell') }),
        h('pre', { className: 'jp-TaskValues-cellSource', text: output.error.cell_source })
      );
    }
    nodes.push(h('pre', { className: 'jp-TaskValues-errorBlock', text: errorText(output.error) }));
  }
  return nodes;
}

function renderIteration(
  model: TaskValuesModel,
  run: IRunDocument,
  task: ITaskDocument,
  iteration: IIteration,
  trans: TranslationBundle,
  callbacks: ITaskViewCallbacks
): Node[] {
  const nodes: Node[] = [
    h('h4', { className: 'jp-TaskValues-iterationTitle' }, [
      h('span', { text: trans.__('Iteration %1', iteration.index) }),
      badge(iteration.state ?? 'PENDING')
    ])
  ];
  if (iteration.input !== undefined) {
    nodes.push(facts([[trans.__('Input'), preview(iteration.input)]]));
  }
  nodes.push(
    renderValues(
      model,
      run,
      task.task_key,
      iteration.values ?? {},
      iteration.value_info ?? {},
      `@${iteration.index}/`,
      trans
    )
  );
  if (iteration.error) {
    nodes.push(
      h('pre', { className: 'jp-TaskValues-errorBlock', text: errorText(iteration.error) })
    );
  }
  if (iteration.output_notebook) {
    nodes.push(
      button(
        trans.__('Open notebook of iteration %1', iteration.index),
        () => void callbacks.openNotebook(run.run_id, task.task_key, iteration.index),
        { className: 'jp-TaskValues-open' }
      )
    );
  }
  return nodes;
}

function renderValues(
  model: TaskValuesModel,
  run: IRunDocument,
  taskKey: string,
  values: Record<string, unknown>,
  info: Record<string, IValueInfo>,
  scope: string,
  trans: TranslationBundle
): HTMLElement {
  const keys = Object.keys(values);
  if (keys.length === 0) {
    return h('p', { className: 'jp-TaskValues-empty', text: trans.__('No values set.') });
  }
  const format = model.settings.timeFormat;
  const list = h('ul', {
    className: 'jp-TaskValues-values',
    attrs: { 'aria-label': trans.__('Task values') }
  });
  for (const key of keys) {
    const value = values[key];
    const meta = info[key];
    const id = scope + key;
    const open = model.expanded.has(id);
    const toggle = (): void => model.toggleValue(id);
    const history =
      run.job_name && scope === ''
        ? button(
            trans.__('History'),
            () => void model.loadHistory(run.job_name ?? '', taskKey, key),
            {
              className: 'jp-TaskValues-historyButton',
              aria: trans.__('History of %1 across runs', key)
            }
          )
        : null;
    history?.addEventListener('click', event => event.stopPropagation());
    history?.addEventListener('keydown', event => event.stopPropagation());
    const item = h(
      'li',
      {
        className: 'jp-TaskValues-value' + (open ? ' jp-mod-expanded' : ''),
        title: open
          ? trans.__('Click to hide the full JSON')
          : trans.__('Click to show the full JSON'),
        attrs: { 'data-key': key, tabindex: '0', role: 'button', 'aria-expanded': String(open) },
        onClick: toggle
      },
      [
        h('span', { className: 'jp-TaskValues-key', text: key, title: key }),
        h('span', { className: 'jp-TaskValues-meta' }, [
          h('span', {
            className: 'jp-TaskValues-type',
            text: typeName(value),
            title: trans.__('Type')
          }),
          h('span', {
            className: 'jp-TaskValues-size',
            text: meta ? formatBytes(meta.size) : '',
            title: trans.__('Size as JSON')
          }),
          meta ? timeNode(meta.set_at, format, 'jp-TaskValues-setAt') : null,
          history
        ]),
        h('span', { className: 'jp-TaskValues-preview', text: preview(value) }),
        open
          ? h('pre', { className: 'jp-TaskValues-json', text: JSON.stringify(value, null, 2) })
          : null
      ]
    );
    item.addEventListener('keydown', event => {
      if (event.key === 'Enter' || event.key === ' ') {
        event.preventDefault();
        toggle();
      }
    });
    list.appendChild(item);
  }
  return list;
}
