/**
 * When the panel offers Cancel. A run this server executes is canceled at once; any other run that reads
 * RUNNING (its runner is alive: a dead one reads INTERRUPTED), say one started with `jupyter-taskvalues run`,
 * is canceled through a request the server writes into the runs directory, which its runner acts on within a
 * second. Such a run can only cancel a task that is RUNNING.
 */
import { CANCELABLE_TASK_STATES, IRunDocument, ITaskDocument, LIVE_STATES } from './tokens';

/**
 * Whether the panel offers "Cancel run".
 *
 * @param run - the run shown
 * @param serverRuns - the runs this server executes
 */
export function canCancelRun(
  run: Pick<IRunDocument, 'run_id' | 'state'>,
  serverRuns: Set<string>
): boolean {
  return serverRuns.has(run.run_id) ? LIVE_STATES.has(run.state) : run.state === 'RUNNING';
}

/**
 * Whether the panel offers "Cancel task" on one task of a run.
 *
 * @param run - the run shown
 * @param task - one of its tasks
 * @param serverRuns - the runs this server executes
 */
export function canCancelTask(
  run: Pick<IRunDocument, 'run_id' | 'state'>,
  task: Pick<ITaskDocument, 'state'>,
  serverRuns: Set<string>
): boolean {
  if (!canCancelRun(run, serverRuns)) {
    return false;
  }
  return serverRuns.has(run.run_id)
    ? CANCELABLE_TASK_STATES.has(task.state)
    : task.state === 'RUNNING';
}
