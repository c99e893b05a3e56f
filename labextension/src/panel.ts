import { LabIcon } from '@jupyterlab/ui-components';
import { TranslationBundle, nullTranslator } from '@jupyterlab/translation';
import { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import { RunActions } from './actions';
import { canCancelRun } from './cancel';
import { renderDiff, renderHistory, renderMatrix } from './compare';
import { h } from './dom';
import { formatDuration, formatTime, utcTitle } from './format';
import { stateClass, taskGraph } from './graph';
import { TaskValuesModel } from './model';
import { elapsed, renderTask } from './taskview';
import { IRunDocument, IRunSummary, LIVE_STATES } from './tokens';
import { badge, button, facts, table, timeNode, valueCount } from './views';

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

/** What the panel asks the application to do. */
export interface IPanelCallbacks {
  openNotebook: (runId: string, taskKey: string, iteration: number | null) => Promise<void>;
  /** Run a job file (the panel's "Run job…" button): the application asks which file. */
  runJob: (() => void) | null;
  actions: RunActions | null;
}

/**
 * The "Task Values" side panel: recent runs with their actions (cancel, repair, run again), the selected
 * run's task graph, the selected task's live output and values, a value's history across runs, the diff
 * with another run, and the run matrix of the job. Values are shown through text nodes only.
 */
export class TaskValuesPanel extends Widget {
  constructor(
    readonly model: TaskValuesModel,
    private readonly _callbacks: IPanelCallbacks,
    trans: TranslationBundle = nullTranslator.load('jupyter_taskvalues')
  ) {
    super();
    this._trans = trans;
    this.id = 'jupyter-taskvalues-panel';
    this.addClass('jp-TaskValues');
    this.title.icon = taskValuesIcon;
    this.title.caption = trans.__('Task Values');
    this.node.setAttribute('role', 'region');
    this.node.setAttribute('aria-label', trans.__('Task Values'));
    this._runsNode = h('section', { className: 'jp-TaskValues-runsSection' });
    this._runNode = h('section', { className: 'jp-TaskValues-runSection' });
    this._taskNode = h('section', { className: 'jp-TaskValues-taskSection' });
    this._historyNode = h('section', { className: 'jp-TaskValues-historySection' });
    this._matrixNode = h('section', { className: 'jp-TaskValues-matrixSection' });
    const tools: HTMLElement[] = [];
    const runJob = _callbacks.runJob;
    if (runJob) {
      tools.push(
        button(trans.__('Run job…'), () => runJob(), {
          className: 'jp-TaskValues-runJob',
          accept: true,
          title: trans.__('Run a job file (databricks.yml, *.job.json, *.job.yml)')
        })
      );
    }
    tools.push(
      button('↻', () => this.model.refreshNow(), {
        className: 'jp-TaskValues-refresh',
        title: trans.__('Refresh the runs'),
        aria: trans.__('Refresh the runs')
      })
    );
    const header = h('header', { className: 'jp-TaskValues-header' }, [
      h('h2', { text: trans.__('Task Values') }),
      h('div', { className: 'jp-TaskValues-tools' }, tools)
    ]);
    this.node.append(
      header,
      this._runsNode,
      this._runNode,
      this._historyNode,
      this._taskNode,
      this._matrixNode
    );
    model.changed.connect(this.render, this);
    this.render();
  }

  /** Closing the panel disposes its model, which stops its polls. */
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

  /** Rebuild the sections from the model. */
  render(): void {
    const trans = this._trans;
    this._runsNode.replaceChildren(...this._renderRuns());
    const run = this.model.run;
    this._runNode.replaceChildren(...this._renderRun(run));
    const history = this.model.history;
    this._historyNode.replaceChildren(
      ...(history ? renderHistory(this.model, history, trans) : [])
    );
    const task =
      run && this.model.selectedTaskKey ? run.tasks[this.model.selectedTaskKey] : undefined;
    const actions = this._callbacks.actions;
    this._taskNode.replaceChildren(
      ...(run && task
        ? renderTask(this.model, run, task, trans, {
            openNotebook: this._callbacks.openNotebook,
            cancelTask: actions ? (r, key) => void actions.cancelTask(r, key) : null
          })
        : [])
    );
    const matrix = this.model.matrix;
    this._matrixNode.replaceChildren(...(matrix ? renderMatrix(this.model, matrix, trans) : []));
  }

  private _renderRuns(): Node[] {
    const m = this.model;
    const trans = this._trans;
    const title = h('h3', {
      text:
        m.total > m.runs.length
          ? trans.__('Runs (%1 of %2)', m.runs.length, m.total)
          : trans.__('Runs')
    });
    if (m.runsError) {
      return [title, h('p', { className: 'jp-TaskValues-error', text: m.runsError })];
    }
    if (!m.loadedRuns) {
      return [title, h('p', { className: 'jp-TaskValues-empty', text: trans.__('Loading runs…') })];
    }
    if (m.runs.length === 0) {
      return [
        title,
        h('p', {
          className: 'jp-TaskValues-empty',
          text: trans.__('No job runs yet. A run appears here as soon as it starts.')
        }),
        h('p', {
          className: 'jp-TaskValues-muted',
          text: trans.__('Runs directory: %1', m.runsDir)
        })
      ];
    }
    const list = h(
      'ul',
      {
        className: 'jp-TaskValues-runs',
        attrs: { role: 'listbox', 'aria-label': trans.__('Runs') }
      },
      m.runs.map(run => this._renderRunItem(run))
    );
    return [title, list];
  }

  private _renderRunItem(run: IRunSummary): HTMLElement {
    const selected = run.run_id === this.model.selectedRunId;
    const stamp = run.start_time ?? run.created;
    const item = h(
      'li',
      {
        className: 'jp-TaskValues-run' + (selected ? ' jp-mod-selected' : ''),
        title: [this._trans.__('Run %1', run.run_id), utcTitle(stamp), run.source ?? '']
          .filter(Boolean)
          .join('\n'),
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
          text: [
            formatTime(stamp, this.model.settings.timeFormat),
            formatDuration(run.duration_seconds)
          ]
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
    const trans = this._trans;
    if (m.selectedRunId === null) {
      return [];
    }
    if (m.runError && !run) {
      return [h('p', { className: 'jp-TaskValues-error', text: m.runError })];
    }
    if (!run) {
      return [h('p', { className: 'jp-TaskValues-empty', text: trans.__('Loading the run…') })];
    }
    const live = LIVE_STATES.has(run.state);
    const entries: Array<[string, string | HTMLElement]> = [
      [trans.__('Run'), run.run_id],
      [trans.__('Started'), timeNode(run.start_time ?? run.created, m.settings.timeFormat)],
      [
        trans.__('Duration'),
        elapsed(run.start_time, run.end_time, run.duration_seconds, trans.__('so far'))
      ],
      [trans.__('Values'), valueCount(trans, run.value_count)]
    ];
    if (run.repair_count) {
      entries.push([trans.__('Repairs'), String(run.repair_count)]);
    }
    const nodes: Node[] = [
      h('h3', { className: 'jp-TaskValues-runTitle' }, [
        h('span', { text: run.job_name ?? trans.__('Run'), title: run.job_name ?? run.run_id }),
        badge(run.state),
        live
          ? h('span', {
              className: 'jp-TaskValues-live',
              text: trans.__('live'),
              title: trans.__('Updating while the run goes on')
            })
          : null
      ]),
      facts(entries)
    ];
    const actions = this._runActions(run);
    if (actions.length > 0) {
      nodes.push(
        h('div', { className: 'jp-TaskValues-actions jp-TaskValues-runActions' }, actions)
      );
    }
    if (m.runError) {
      nodes.push(h('p', { className: 'jp-TaskValues-error', text: m.runError }));
    }
    if (Object.keys(run.parameters ?? {}).length > 0) {
      nodes.push(table(trans.__('Job parameters'), run.parameters));
    }
    const tasks = run.tasks ?? {};
    if (Object.keys(tasks).length === 0) {
      nodes.push(
        h('p', { className: 'jp-TaskValues-empty', text: trans.__('This run has no tasks.') })
      );
    } else {
      nodes.push(
        h('div', { className: 'jp-TaskValues-graphBox' }, [
          taskGraph(tasks, m.selectedTaskKey, key => m.selectTask(key))
        ])
      );
    }
    nodes.push(...renderDiff(m, trans));
    return nodes;
  }

  /** Cancel while live; Repair, Run again and Run with different parameters once finished. */
  private _runActions(run: IRunDocument): HTMLElement[] {
    const actions = this._callbacks.actions;
    if (!actions) {
      return [];
    }
    const trans = this._trans;
    if (LIVE_STATES.has(run.state)) {
      if (!canCancelRun(run, this.model.serverRuns)) {
        return [];
      }
      const elsewhere = !this.model.serverRuns.has(run.run_id);
      return [
        button(trans.__('Cancel run'), () => void actions.cancelRun(run), {
          className: 'jp-TaskValues-cancelRun',
          warn: true,
          aria: trans.__('Cancel the run %1', run.run_id),
          title: elsewhere
            ? trans.__(
                'Started outside this server: its runner is asked to cancel it through the runs directory'
              )
            : undefined
        })
      ];
    }
    const result = [
      button(trans.__('Run again'), () => void actions.rerun(run, false), {
        className: 'jp-TaskValues-rerun',
        title: trans.__('Start a new run of the same job, target and parameters')
      }),
      button(trans.__('Run with different parameters…'), () => void actions.rerun(run, true), {
        className: 'jp-TaskValues-rerunWith'
      })
    ];
    if (run.state !== 'SUCCESS') {
      result.unshift(
        button(trans.__('Repair run…'), () => void actions.repair(run), {
          className: 'jp-TaskValues-repair',
          accept: true,
          title: trans.__('Rerun the failed tasks and their dependants in this run')
        })
      );
    }
    return result;
  }

  private _trans: TranslationBundle;
  private _runsNode: HTMLElement;
  private _runNode: HTMLElement;
  private _taskNode: HTMLElement;
  private _historyNode: HTMLElement;
  private _matrixNode: HTMLElement;
}
