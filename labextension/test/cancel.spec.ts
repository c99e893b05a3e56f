import { canCancelRun, canCancelTask } from '../src/cancel';

describe('cancel', () => {
  const here = new Set(['mine']);

  it('offers Cancel run on a live run of this server, and on any other RUNNING run', () => {
    expect(canCancelRun({ run_id: 'mine', state: 'PENDING' }, here)).toBe(true);
    expect(canCancelRun({ run_id: 'mine', state: 'RUNNING' }, here)).toBe(true);
    expect(canCancelRun({ run_id: 'cli', state: 'RUNNING' }, here)).toBe(true);
  });

  it('offers no Cancel run on a finished run, nor on one whose runner is gone', () => {
    expect(canCancelRun({ run_id: 'mine', state: 'SUCCESS' }, here)).toBe(false);
    expect(canCancelRun({ run_id: 'cli', state: 'INTERRUPTED' }, here)).toBe(false);
    expect(canCancelRun({ run_id: 'cli', state: 'CANCELED' }, here)).toBe(false);
  });

  it('offers Cancel task on a running task; on a run of this server on a queued one too', () => {
    const cli = { run_id: 'cli', state: 'RUNNING' };
    const mine = { run_id: 'mine', state: 'RUNNING' };
    expect(canCancelTask(cli, { state: 'RUNNING' }, here)).toBe(true);
    expect(canCancelTask(cli, { state: 'PENDING' }, here)).toBe(false);
    expect(canCancelTask(mine, { state: 'PENDING' }, here)).toBe(true);
    expect(canCancelTask(mine, { state: 'SUCCESS' }, here)).toBe(false);
    expect(canCancelTask({ run_id: 'cli', state: 'FAILED' }, { state: 'RUNNING' }, here)).toBe(
      false
    );
  });
});
