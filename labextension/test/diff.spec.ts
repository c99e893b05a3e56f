import { diffRows, diffText } from '../src/diff';
import { defaultRepairTasks } from '../src/repair';

describe('diff', () => {
  const diff = {
    a: 'r1',
    b: 'r2',
    values: [
      { task_key: 'train', key: 'loss', a: 0.5, b: 0.4, changed: true },
      { task_key: 'ingest', key: 'rows', a: 10, b: 10, changed: false }
    ],
    parameters: [{ task_key: 'train', name: 'lr', a: '0.1', b: '0.2', changed: true }]
  };

  it('lists changed rows first, then by task, kind and name', () => {
    expect(diffRows(diff).map(r => `${r.task_key}.${r.name}:${r.changed}`)).toEqual([
      'train.lr:true',
      'train.loss:true',
      'ingest.rows:false'
    ]);
  });

  it('drops equal rows when asked', () => {
    expect(diffRows(diff, true)).toHaveLength(2);
  });

  it('shows a missing side as a dash and strings as they are', () => {
    expect(diffText(undefined)).toBe('—');
    expect(diffText('<b>x</b>')).toBe('<b>x</b>');
    expect(diffText({ a: [1] })).toBe('{"a":[1]}');
  });
});

describe('default repair', () => {
  it('reruns the failed tasks and everything downstream of them', () => {
    const tasks = {
      ingest: { state: 'SUCCESS', depends_on: [] },
      train: { state: 'FAILED', depends_on: [{ task_key: 'ingest', outcome: null }] },
      report: { state: 'UPSTREAM_FAILED', depends_on: [{ task_key: 'train', outcome: null }] },
      publish: { state: 'EXCLUDED', depends_on: [{ task_key: 'report', outcome: null }] },
      side: { state: 'SUCCESS', depends_on: [{ task_key: 'ingest', outcome: null }] }
    };
    expect(defaultRepairTasks(tasks)).toEqual(['train', 'report', 'publish']);
  });

  it('reruns nothing for a run that succeeded', () => {
    expect(defaultRepairTasks({ a: { state: 'SUCCESS', depends_on: [] } })).toEqual([]);
  });
});
