/**
 * Values across runs: the run matrix of a job (recent runs x tasks, a state badge in each cell), the
 * history of one value key (a sparkline for numbers, a list otherwise) and the diff of two runs' values
 * and resolved parameters.
 */
import { TranslationBundle } from '@jupyterlab/translation';

import { h } from './dom';
import { diffRows, diffText } from './diff';
import { preview } from './format';
import { stateClass } from './graph';
import { IHistoryView, TaskValuesModel } from './model';
import { numericPoints, sparkline } from './sparkline';
import { IRunMatrix } from './tokens';
import { badge, button, timeNode } from './views';

/** The run matrix: a row per run (newest first), a column per task; clicking a row selects that run. */
export function renderMatrix(
  model: TaskValuesModel,
  matrix: IRunMatrix,
  trans: TranslationBundle
): Node[] {
  if (matrix.runs.length === 0) {
    return [];
  }
  const format = model.settings.timeFormat;
  const head = h('tr', {}, [
    h('th', { text: trans.__('Run'), attrs: { scope: 'col' } }),
    ...matrix.tasks.map(task =>
      h('th', {
        className: 'jp-TaskValues-matrixTask',
        text: task,
        title: task,
        attrs: { scope: 'col' }
      })
    )
  ]);
  const rows = matrix.runs.map(run => {
    const selected = run.run_id === model.selectedRunId;
    const row = h(
      'tr',
      {
        className: 'jp-TaskValues-matrixRow' + (selected ? ' jp-mod-selected' : ''),
        attrs: {
          tabindex: '0',
          'data-matrix-run-id': run.run_id,
          'aria-label': trans.__('Run %1: %2', run.run_id, run.state ?? ''),
          'aria-selected': String(selected)
        },
        onClick: () => model.selectRun(run.run_id)
      },
      [
        h('th', { attrs: { scope: 'row' } }, [
          badge(run.state),
          ' ',
          timeNode(run.start_time, format)
        ]),
        ...matrix.tasks.map(task => {
          const state = run.tasks[task];
          return h(
            'td',
            { title: state ? `${task}: ${state}` : trans.__('%1: not in this run', task) },
            [
              state
                ? h('span', {
                    className: `jp-TaskValues-cell ${stateClass(state)}`,
                    attrs: { 'data-state': state }
                  })
                : h('span', { className: 'jp-TaskValues-cell jp-mod-absent', text: '·' })
            ]
          );
        })
      ]
    );
    row.addEventListener('keydown', event => {
      if (event.key === 'Enter' || event.key === ' ') {
        event.preventDefault();
        model.selectRun(run.run_id);
      }
    });
    return row;
  });
  return [
    h('h3', { text: trans.__('Recent runs of %1', matrix.job_name) }),
    h('div', { className: 'jp-TaskValues-matrixBox' }, [
      h(
        'table',
        { className: 'jp-TaskValues-matrix', attrs: { 'aria-label': trans.__('Run matrix') } },
        [h('thead', {}, [head]), h('tbody', {}, rows)]
      )
    ])
  ];
}

/** The history of one value key across runs. */
export function renderHistory(
  model: TaskValuesModel,
  history: IHistoryView,
  trans: TranslationBundle
): Node[] {
  const title = h('h3', { className: 'jp-TaskValues-historyTitle' }, [
    h('span', {
      text: trans.__('History of %1 · %2', history.key, history.task),
      title: `${history.task}.${history.key}`
    }),
    button('✕', () => model.closeHistory(), {
      aria: trans.__('Close the history'),
      title: trans.__('Close the history')
    })
  ]);
  if (history.error) {
    return [title, h('p', { className: 'jp-TaskValues-error', text: history.error })];
  }
  if (history.points.length === 0) {
    return [
      title,
      h('p', { className: 'jp-TaskValues-empty', text: trans.__('No run has set this value yet.') })
    ];
  }
  const nodes: Node[] = [title];
  const numeric = numericPoints(history.points);
  if (numeric.length >= 2) {
    const values = numeric.map(p => p.value as number);
    nodes.push(
      h('div', { className: 'jp-TaskValues-sparkBox' }, [
        sparkline(history.points, trans.__('%1 over %2 runs', history.key, numeric.length)),
        h('span', {
          className: 'jp-TaskValues-muted',
          text: trans.__(
            'min %1 · max %2 · last %3',
            Math.min(...values),
            Math.max(...values),
            values[values.length - 1]
          )
        })
      ])
    );
  }
  const format = model.settings.timeFormat;
  const items = [...history.points].reverse().map(point => {
    const item = h(
      'li',
      {
        className: 'jp-TaskValues-historyPoint',
        title: trans.__('Show run %1', point.run_id),
        attrs: { tabindex: '0', role: 'button', 'data-point-run-id': point.run_id },
        onClick: () => model.selectRun(point.run_id)
      },
      [
        timeNode(point.start_time, format),
        h('span', { className: 'jp-TaskValues-preview', text: preview(point.value) })
      ]
    );
    item.addEventListener('keydown', event => {
      if (event.key === 'Enter' || event.key === ' ') {
        event.preventDefault();
        model.selectRun(point.run_id);
      }
    });
    return item;
  });
  nodes.push(
    h(
      'ul',
      { className: 'jp-TaskValues-history', attrs: { 'aria-label': trans.__('Values by run') } },
      items
    )
  );
  return nodes;
}

/** The "Compare with" picker and the diff of the selected run with the picked one. */
export function renderDiff(model: TaskValuesModel, trans: TranslationBundle): Node[] {
  const run = model.run;
  if (!run) {
    return [];
  }
  const others = (model.matrix?.runs ?? []).filter(r => r.run_id !== run.run_id);
  if (others.length === 0) {
    return [];
  }
  const select = h('select', {
    className: 'jp-mod-styled jp-TaskValues-compare',
    attrs: { 'aria-label': trans.__('Compare with another run') }
  });
  select.appendChild(h('option', { text: trans.__('Compare with…'), attrs: { value: '' } }));
  for (const other of others) {
    const option = h('option', {
      text: `${other.run_id} · ${(other.state ?? '').toLowerCase()}`,
      attrs: { value: other.run_id }
    });
    option.selected = model.diff?.a === other.run_id;
    select.appendChild(option);
  }
  select.addEventListener(
    'change',
    () => void model.loadDiff(select.value === '' ? null : select.value)
  );
  const nodes: Node[] = [h('div', { className: 'jp-TaskValues-compareBox' }, [select])];
  if (model.diffError) {
    nodes.push(h('p', { className: 'jp-TaskValues-error', text: model.diffError }));
  }
  const diff = model.diff;
  if (diff) {
    const rows = diffRows(diff);
    const changed = rows.filter(r => r.changed).length;
    nodes.push(
      h('p', {
        className: 'jp-TaskValues-muted',
        text: trans._n('%1 difference', '%1 differences', changed)
      })
    );
    nodes.push(
      h(
        'table',
        {
          className: 'jp-TaskValues-diff',
          attrs: { 'aria-label': trans.__('Differences between two runs') }
        },
        [
          h('thead', {}, [
            h('tr', {}, [
              h('th', { text: trans.__('Task'), attrs: { scope: 'col' } }),
              h('th', { text: trans.__('Name'), attrs: { scope: 'col' } }),
              h('th', { text: diff.a, title: diff.a, attrs: { scope: 'col' } }),
              h('th', { text: diff.b, title: diff.b, attrs: { scope: 'col' } })
            ])
          ]),
          h(
            'tbody',
            {},
            rows.map(row =>
              h(
                'tr',
                {
                  className: row.changed ? 'jp-mod-changed' : '',
                  attrs: { 'data-kind': row.kind, 'data-name': row.name }
                },
                [
                  h('td', { text: row.task_key, title: row.task_key }),
                  h('td', {
                    text:
                      row.kind === 'parameter'
                        ? `${row.name} ${trans.__('(parameter)')}`
                        : row.name,
                    title: row.name
                  }),
                  h('td', { text: diffText(row.a) }),
                  h('td', { text: diffText(row.b) })
                ]
              )
            )
          )
        ]
      )
    );
  }
  return nodes;
}
