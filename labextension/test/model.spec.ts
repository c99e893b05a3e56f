import { TaskValuesModel } from '../src/model';

const requestAPI = jest.fn();

jest.mock('../src/request', () => ({
  endpoint: (...parts: string[]) => parts.map(encodeURIComponent).join('/'),
  requestAPI: (...args: unknown[]) => requestAPI(...args)
}));

const run = (state: string) => ({
  format: 1,
  run_id: 'r1',
  job_id: null,
  job_name: 'etl',
  state,
  start_time: '2026-12-07T10:00:00Z',
  end_time: null,
  duration_seconds: null,
  parameters: {},
  repair_count: 0,
  source: null,
  created: null,
  value_count: 1,
  tasks: {
    train: {
      task_key: 'train',
      type: 'notebook',
      depends_on: [],
      run_if: 'ALL_SUCCESS',
      notebook_path: null,
      state: state === 'RUNNING' ? 'RUNNING' : 'FAILED',
      attempts: [],
      start_time: '2026-12-07T10:00:01Z',
      end_time: null,
      duration_seconds: null,
      parameters: {},
      values: { loss: 0.5 },
      value_info: {},
      exit_value: null,
      error: null,
      output_notebook: null,
      outcome: null,
      iterations: null
    }
  }
});

function answer(url: string): unknown {
  if (url.startsWith('runs?')) {
    return {
      runs: [{ run_id: 'r1', state: 'RUNNING' }],
      total: 1,
      runs_dir: '/runs',
      server_runs: ['r1']
    };
  }
  if (url === 'runs/r1') {
    return run('RUNNING');
  }
  if (url.startsWith('runs/r1/tasks/train/output')) {
    return {
      run_id: 'r1',
      task_key: 'train',
      state: 'RUNNING',
      lines: ['epoch 1'],
      truncated: false,
      notebook: null,
      error: null
    };
  }
  if (url.startsWith('matrix?')) {
    return { job_name: 'etl', tasks: ['train'], runs: [] };
  }
  if (url.startsWith('history?')) {
    return { points: [{ run_id: 'r1', start_time: null, value: 1 }] };
  }
  throw new Error(`unexpected ${url}`);
}

describe('TaskValuesModel', () => {
  beforeEach(() => {
    requestAPI.mockReset();
    requestAPI.mockImplementation(async (url: string) => ({
      status: 200,
      data: answer(url),
      etag: null
    }));
  });

  it('asks for as many runs as the runsShown setting says', async () => {
    const model = new TaskValuesModel();
    model.applySettings({ runsShown: 7 });
    await model.refreshRuns();
    expect(requestAPI).toHaveBeenCalledWith('runs?limit=7');
    expect(model.serverRuns.has('r1')).toBe(true);
    model.dispose();
  });

  it('selects the newest run, loads its matrix and the live output of its task', async () => {
    const model = new TaskValuesModel();
    await model.refreshRuns();
    await model.refreshRun();
    expect(model.run?.run_id).toBe('r1');
    expect(model.selectedTaskKey).toBe('train');
    expect(model.output?.lines).toEqual(['epoch 1']);
    const urls = requestAPI.mock.calls.map(call => call[0] as string);
    expect(urls).toContain('runs/r1/tasks/train/output?tail=200');
    expect(urls.some(u => u.startsWith('matrix?job=etl'))).toBe(true);
    model.dispose();
  });

  it('loads a value history with every part of the query encoded', async () => {
    const model = new TaskValuesModel();
    await model.loadHistory('my job', 'train', 'a&b');
    expect(requestAPI).toHaveBeenCalledWith('history?job=my%20job&task=train&key=a%26b&limit=50');
    expect(model.history?.points).toHaveLength(1);
    model.closeHistory();
    expect(model.history).toBeNull();
    model.dispose();
  });

  it('keeps the history error as a message', async () => {
    requestAPI.mockRejectedValueOnce(new Error('Unknown job "x".'));
    const model = new TaskValuesModel();
    await model.loadHistory('x', 't', 'k');
    expect(model.history?.error).toBe('Unknown job "x".');
    model.dispose();
  });

  it('emits changed when settings change and not after dispose', () => {
    const model = new TaskValuesModel();
    const seen: number[] = [];
    model.changed.connect(() => seen.push(model.settings.refreshInterval));
    model.applySettings({ refreshInterval: 2500 });
    expect(seen).toEqual([2500]);
    model.dispose();
    model.applySettings({ refreshInterval: 3000 });
    expect(seen).toEqual([2500]);
    expect(model.isDisposed).toBe(true);
  });
});
