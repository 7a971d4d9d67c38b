// Which services an interrupted instance's drain would take below their minimum healthy
// percent, and how many tasks to add first, with no I/O (protection.ts carries it out).
//
// ECS drains a DRAINING instance's service tasks by the service's deployment configuration: it
// stops them while the healthy count stays at or above minimumHealthyPercent of the desired
// count, and starts replacements while the running count stays at or below maximumPercent of it.
// A task it may neither stop nor replace at once runs until the instance is reclaimed, and then
// the service is short of it. Adding those tasks to the desired count first starts them at once
// (a desired count increase is not bounded by maximumPercent), so the reclaim takes the service
// back to where it was, not below it.

export interface ServiceState {
  service: string;
  desiredCount: number;
  runningCount: number;
  /** Started, not yet running: they count toward maximumPercent, not toward healthy. */
  pendingCount: number;
  minimumHealthyPercent: number;
  maximumPercent: number;
}

export interface DrainBudget {
  /** Seconds from now until the instance is reclaimed, less the margin kept for the handler; undefined without a deadline (a rebalance drain). */
  secondsLeft: number | undefined;
  /** How long a started task takes to count as healthy. */
  replacementSeconds: number;
}

export interface Protection {
  service: string;
  /** The service's tasks on the instances being drained. */
  tasksOnDrained: number;
  /** Of those, how many ECS may stop at once without going below minimum healthy. */
  stoppable: number;
  /** How many replacements ECS may start at once within maximumPercent. */
  room: number;
  /** Tasks to add to the desired count before the drain (0: ECS keeps the minimum on its own). */
  add: number;
  /** False when the replacements cannot be healthy before the instance is reclaimed. */
  inBudget: boolean;
  why: string;
}

/**
 * The fewest tasks to add so that, once the drained instances are gone and what started is
 * healthy, the service has as many healthy tasks as it has now (at most its desired count). At a
 * desired count D + a, ECS may stop `stoppable(a)` of the drained tasks (minimum healthy of D + a)
 * and start `room(a)` replacements (maximum percent of D + a, the a added tasks pending): raising
 * the count moves both limits, so each candidate is checked at its own count.
 */
export function protectionFor(state: ServiceState, tasksOnDrained: number, budget: DrainBudget): Protection {
  const { desiredCount: desired, runningCount: running, pendingCount: pending } = state;
  const k = tasksOnDrained;
  const goal = Math.min(desired, running);
  const stoppableAt = (a: number) =>
    Math.max(0, running - Math.ceil(((desired + a) * state.minimumHealthyPercent) / 100));
  const roomAt = (a: number) =>
    Math.max(0, Math.floor(((desired + a) * state.maximumPercent) / 100) - running - pending - a);
  const healthyAfter = (a: number) => running - k + a + Math.min(k, stoppableAt(a) + roomAt(a));
  let add = 0;
  while (add < k && healthyAfter(add) < goal) add++;
  const stoppable = Math.min(k, stoppableAt(0));
  const room = roomAt(0);
  const waiting = Math.max(0, k - stoppable);
  const inBudget = budget.secondsLeft === undefined || budget.replacementSeconds <= budget.secondsLeft;
  const settings = `minimumHealthyPercent ${state.minimumHealthyPercent}, maximumPercent ${state.maximumPercent}, desired ${desired}, running ${running}, pending ${pending}`;
  let why: string;
  if (add === 0 && waiting === 0)
    why = `ECS can stop its ${k} task(s) on the drained instance(s) within minimum healthy and replace them (${settings})`;
  else if (add === 0)
    why = `ECS starts replacements within maximumPercent for the ${waiting} task(s) it may not stop (${settings})`;
  else
    why = `ECS may neither stop nor replace enough of its ${k} task(s) on the drained instance(s) to keep ${goal} healthy (${settings}): ${add} added first`;
  if ((waiting > 0 || add > 0) && !inBudget)
    why += `; replacements need ${budget.replacementSeconds} s but ${Math.max(0, budget.secondsLeft ?? 0)} s of the warning are left, so the service runs short until they are healthy`;
  return { service: state.service, tasksOnDrained: k, stoppable, room, add, inBudget, why };
}

/** The service name of a task's group (`service:<name>`), or undefined for a standalone task. */
export function serviceOfGroup(group: string | undefined): string | undefined {
  return group?.startsWith('service:') ? group.slice('service:'.length) : undefined;
}

/**
 * What a pre-scale gives back later: what was added, never below the desired count before it,
 * and never raising a count that moved down since (a scale-in took it already).
 */
export function restoredDesiredCount(now: number, added: number, before: number): number {
  return Math.min(now, Math.max(now - added, before));
}

/** Seconds left of a two-minute warning, less the margin; undefined for a drain without a deadline. */
export function secondsLeft(
  channel: 'warning' | 'rebalance',
  noticeAt: string,
  nowMs: number,
  marginSeconds: number,
): number | undefined {
  if (channel !== 'warning') return undefined;
  return Math.floor((Date.parse(noticeAt) + 120_000 - nowMs) / 1000) - marginSeconds;
}
