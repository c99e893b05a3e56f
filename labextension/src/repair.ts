/** Which tasks a default "Repair run" reruns: the failed, timed-out or canceled ones and their dependants. */
import { ITaskDocument, REPAIRABLE_STATES } from './tokens';

/**
 * The task keys a default repair reruns, in the run's task order.
 *
 * @param tasks - the tasks of a finished run
 * @returns the tasks whose state is in REPAIRABLE_STATES, with every task that depends on one of them
 */
export function defaultRepairTasks(
  tasks: Record<string, Pick<ITaskDocument, 'state' | 'depends_on'>>
): string[] {
  const chosen = new Set(Object.keys(tasks).filter(key => REPAIRABLE_STATES.has(tasks[key].state)));
  let grew = true;
  while (grew) {
    grew = false;
    for (const [key, task] of Object.entries(tasks)) {
      if (!chosen.has(key) && (task.depends_on ?? []).some(dep => chosen.has(dep.task_key))) {
        chosen.add(key);
        grew = true;
      }
    }
  }
  return Object.keys(tasks).filter(key => chosen.has(key));
}
