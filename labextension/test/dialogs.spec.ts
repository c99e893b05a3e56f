import { nullTranslator } from '@jupyterlab/translation';

import { RepairBody, RunJobBody } from '../src/dialogs';

const trans = nullTranslator.load('jupyter_taskvalues');

describe('RunJobBody', () => {
  it('prefills the defaults and returns the edited parameters, job and target', () => {
    const body = new RunJobBody(
      {
        path: 'b/databricks.yml',
        jobs: [
          { name: 'etl', parameters: [{ name: 'day', default: '2026-01-01' }], tasks: ['a'] },
          { name: 'ml', parameters: [{ name: 'lr', default: 0.1 }], tasks: ['t'] }
        ],
        targets: ['dev', 'prod'],
        default_target: 'prod',
        problems: []
      },
      trans
    );
    const input = body.node.querySelector<HTMLInputElement>('input[data-parameter="day"]');
    expect(input?.value).toBe('2026-01-01');
    input!.value = '<b>x</b>';
    expect(body.getValue()).toEqual({
      path: 'b/databricks.yml',
      job: 'etl',
      target: 'prod',
      parameters: { day: '<b>x</b>' }
    });
    const select = body.node.querySelector<HTMLSelectElement>('.jp-TaskValues-jobSelect')!;
    select.value = 'ml';
    select.dispatchEvent(new Event('change'));
    expect(body.getValue().parameters).toEqual({ lr: '0.1' });
    expect(body.valid).toBe(true);
  });

  it('shows the warnings of a job file as text and still lets it run', () => {
    const body = new RunJobBody(
      {
        path: 'j.job.json',
        jobs: [{ name: 'j', parameters: [], tasks: ['a'] }],
        targets: [],
        default_target: null,
        problems: [],
        warnings: ["j.job.json: line 3: unknown field '<i>depend_on</i>' is ignored"]
      },
      trans
    );
    expect(body.valid).toBe(true);
    const items = body.node.querySelectorAll('.jp-TaskValues-warnings li');
    expect(items).toHaveLength(1);
    expect(items[0].textContent).toBe(
      "j.job.json: line 3: unknown field '<i>depend_on</i>' is ignored"
    );
    expect(body.node.querySelector('i')).toBeNull();
    expect(body.node.querySelector('.jp-TaskValues-problems')).toBeNull();
    expect(body.getValue()).toEqual({ path: 'j.job.json', job: 'j', parameters: {} });
  });

  it('shows the problems of a job file that does not validate, as text', () => {
    const body = new RunJobBody(
      {
        path: 'x.job.json',
        jobs: [],
        targets: [],
        default_target: null,
        problems: ['<img src=x> task a: unknown']
      },
      trans
    );
    expect(body.valid).toBe(false);
    const items = body.node.querySelectorAll('.jp-TaskValues-problems li');
    expect(items).toHaveLength(1);
    expect(items[0].textContent).toBe('<img src=x> task a: unknown');
    expect(body.node.querySelector('img')).toBeNull();
  });

  it('shows the warnings next to the problems: an ignored field may be why', () => {
    const body = new RunJobBody(
      {
        path: 'x.job.json',
        jobs: [],
        targets: [],
        default_target: null,
        problems: ['tasks[0]: notebook_path is missing'],
        warnings: ["unknown field 'notebook_pth' is ignored"]
      },
      trans
    );
    expect(body.valid).toBe(false);
    const warnings = body.node.querySelectorAll('.jp-TaskValues-warnings li');
    expect(Array.from(warnings, li => li.textContent)).toEqual([
      "unknown field 'notebook_pth' is ignored"
    ]);
  });
});

describe('RepairBody', () => {
  it('checks the failed tasks and their dependants', () => {
    const task = (state: string, deps: string[]) => ({
      state,
      depends_on: deps.map(d => ({ task_key: d, outcome: null }))
    });
    const run = {
      run_id: 'r',
      job_name: 'j',
      tasks: { a: task('SUCCESS', []), b: task('FAILED', ['a']), c: task('UPSTREAM_FAILED', ['b']) }
    };
    const body = new RepairBody(run as never, trans);
    expect(body.getValue()).toEqual(['b', 'c']);
  });
});
