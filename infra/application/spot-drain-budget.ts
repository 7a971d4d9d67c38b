// The spot drain budget: a spot instance gets a two-minute warning, and every task on it
// must be out of the load balancer and stopped before the instance goes. Checked at synth
// (the web service construct calls assertSpotDrainBudget), so an unsafe config never deploys.

/** EC2 sends the interruption notice two minutes before it reclaims the instance. */
export const SPOT_INTERRUPTION_WARNING_SECONDS = 120;

export interface SpotDrainInput {
  /** Shown in the message. */
  readonly service: string;
  /** Where the service's settings are in the config, e.g. `services.0`: the message names its keys. */
  readonly configKey?: string;
  /** Target group deregistration delay: in-flight requests finish, no new ones arrive. */
  readonly deregistrationDelaySeconds: number;
  /** Container stop timeout: SIGTERM to SIGKILL. */
  readonly stopTimeoutSeconds: number;
  readonly minimumHealthyPercent: number;
  readonly maximumPercent: number;
  /** The service's smallest task count (auto scaling minimum): the hardest case for minimumHealthyPercent. */
  readonly minTasks: number;
  /** Kept free for event delivery, the handler and API calls. */
  readonly marginSeconds: number;
  /** A replacement task's placement, start and health checks until it counts as healthy. */
  readonly replacementSeconds: number;
}

export interface SpotDrainBudget {
  /** Two-minute warning minus the margin. */
  readonly budgetSeconds: number;
  /** Worst-case time from the warning until the last task on the instance is stopped. */
  readonly drainSeconds: number;
  /** Tasks ECS may stop at once at minTasks without going below minimumHealthyPercent. */
  readonly stoppableAtOnce: number;
  /** True when draining must first wait for healthy replacements. */
  readonly waitsForReplacements: boolean;
  /** Empty when the service drains in time. */
  readonly problems: readonly string[];
}

export function spotDrainBudget(input: SpotDrainInput): SpotDrainBudget {
  const budgetSeconds = SPOT_INTERRUPTION_WARNING_SECONDS - input.marginSeconds;
  const key = input.configKey ?? 'service';
  // ECS stops tasks on a DRAINING instance only while the healthy count stays at or above
  // minimumHealthyPercent of the desired count; otherwise it starts replacements first.
  const mustKeep = Math.ceil((input.minTasks * input.minimumHealthyPercent) / 100);
  const stoppableAtOnce = Math.max(0, input.minTasks - mustKeep);
  const waitsForReplacements = stoppableAtOnce === 0;
  const stopSeconds = input.deregistrationDelaySeconds + input.stopTimeoutSeconds;
  const drainSeconds = stopSeconds + (waitsForReplacements ? input.replacementSeconds : 0);
  const problems: string[] = [];
  const budgetText = `a spot instance gets a ${SPOT_INTERRUPTION_WARNING_SECONDS} s warning and ${input.marginSeconds} s stay reserved as margin (spotDrain.marginSeconds), leaving ${budgetSeconds} s`;

  if (waitsForReplacements && input.maximumPercent <= 100) {
    problems.push(
      `minimumHealthyPercent ${input.minimumHealthyPercent} with maximumPercent ${input.maximumPercent} at ${input.minTasks} tasks: ECS may neither stop a task nor start a replacement, so a draining instance never empties. Lower ${key}.minimumHealthyPercent or raise ${key}.maximumPercent.`,
    );
  } else if (waitsForReplacements && drainSeconds > budgetSeconds) {
    problems.push(
      `minimumHealthyPercent ${input.minimumHealthyPercent} at ${input.minTasks} tasks lets ECS stop no task before its replacement is healthy: replacement ${input.replacementSeconds} s + deregistration delay ${input.deregistrationDelaySeconds} s + container stop timeout ${input.stopTimeoutSeconds} s = ${drainSeconds} s, but ${budgetText}. Lower ${key}.minimumHealthyPercent (or raise ${key}.minTasks) so tasks can stop at once.`,
    );
  } else if (stopSeconds > budgetSeconds) {
    problems.push(
      `deregistration delay ${input.deregistrationDelaySeconds} s + container stop timeout ${input.stopTimeoutSeconds} s = ${stopSeconds} s, but ${budgetText}. Lower ${key}.deregistrationDelaySeconds or ${key}.stopTimeoutSeconds.`,
    );
  }
  return { budgetSeconds, drainSeconds, stoppableAtOnce, waitsForReplacements, problems };
}

export class SpotDrainBudgetError extends Error {
  override readonly name = 'SpotDrainBudgetError';
}

/** Throws a SpotDrainBudgetError naming the service and what to change when it cannot drain in time. */
export function assertSpotDrainBudget(input: SpotDrainInput): SpotDrainBudget {
  const budget = spotDrainBudget(input);
  if (budget.problems.length > 0) {
    throw new SpotDrainBudgetError(
      `spot drain budget exceeded for service "${input.service}": ${budget.problems.join(' ')}`,
    );
  }
  return budget;
}

/** A replacement task's placement and start, then its health checks until it counts as healthy. */
export function replacementSecondsOf(
  taskStartSeconds: number,
  healthCheck: { healthyThresholdCount: number; intervalSeconds: number },
): number {
  return taskStartSeconds + healthCheck.healthyThresholdCount * healthCheck.intervalSeconds;
}
