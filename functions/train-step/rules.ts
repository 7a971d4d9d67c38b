// The release train's rules, pure: how many green tasks a cluster may have, when the line stops,
// what a rollout's end means for the train, and the train's outcome in words.
import type { TrainBudget } from '../../events/train-input.ts';
import type { TrainRecord, TrainServiceRecord, TrainStatus } from '../shared/trains/record.ts';

/**
 * How long a service waiting for green room waits before it asks again: half as long as it has
 * waited so far, from 1 to 10 minutes. Each ask is a few events in the train's history (25,000
 * at most), so a service that waits 45 minutes asks 11 times, not 45.
 */
export function admissionWaitSeconds(waitedMs: number): number {
  return Math.min(600, Math.max(60, Math.round(waitedMs / 2000)));
}

/** The most a train's plan may take: Step Functions carries at most 256 KiB between states. */
export const MAX_PLAN_BYTES = 200 * 1024;

/** The most tasks a cluster may have in green at once under the budget. */
export function greenTaskLimit(
  clusterTasks: number,
  budget: Pick<TrainBudget, 'maxGreenTaskPercent'>,
): number {
  return Math.floor((clusterTasks * budget.maxGreenTaskPercent) / 100);
}

/**
 * Where a service's green fits: with `room` green tasks at most already in its cluster, or alone
 * when the service by itself is over the limit (it must be able to roll out at all).
 */
export function admissionRoom(limit: number, desiredCount: number): { room: number; alone: boolean } {
  return desiredCount > limit ? { room: 0, alone: true } : { room: limit - desiredCount, alone: false };
}

/** Why the line stops after `failed` failures, or undefined while the budget holds. */
export function budgetStopReason(
  failed: number,
  budget: Pick<TrainBudget, 'maxFailedServices'>,
): string | undefined {
  if (failed <= budget.maxFailedServices) return undefined;
  return `${failed} service${failed === 1 ? '' : 's'} failed; the train tolerates ${budget.maxFailedServices}`;
}

/** A nested rollout's end, from its result or the error its task failed with. */
export interface RolloutEnd {
  phase: 'succeeded' | 'failed';
  error?: string;
  reason?: string;
}

/**
 * What the rollout's task ended with: success, or States.TaskFailed whose cause is the child's
 * DescribeExecution (its own error and cause inside), or any other error of the task itself.
 */
export function rolloutEnd(failure: { Error?: string; Cause?: string } | undefined): RolloutEnd {
  if (!failure) return { phase: 'succeeded' };
  const error = failure.Error ?? 'UnknownError';
  if (error === 'States.TaskFailed' && failure.Cause) {
    try {
      const child = JSON.parse(failure.Cause) as { Error?: string; Cause?: string; Status?: string };
      return {
        phase: 'failed',
        error: child.Error ?? child.Status ?? error,
        reason: causeMessage(child.Cause) || `the rollout ended ${child.Status ?? 'FAILED'}`,
      };
    } catch {
      // Not a child's description: the task's own failure.
    }
  }
  return { phase: 'failed', error, reason: causeMessage(failure.Cause) || error };
}

/** A cause as people read it: a Lambda error's message, else the text, kept short. */
function causeMessage(cause: string | undefined): string {
  if (!cause) return '';
  let text = cause;
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: string };
    if (typeof parsed.errorMessage === 'string') text = parsed.errorMessage;
  } catch {
    // Plain text.
  }
  return text.length > 500 ? `${text.slice(0, 497)}...` : text;
}

/** The train's final status: stopped when the line was stopped, failed when the workflow failed. */
export function finalStatus(
  record: Pick<TrainRecord, 'status'>,
  workflowFailed: boolean,
): Exclude<TrainStatus, 'running' | 'stopping'> {
  if (workflowFailed) return 'failed';
  if (record.status === 'stopping' || record.status === 'stopped') return 'stopped';
  if (record.status === 'failed') return 'failed';
  return 'completed';
}

export interface TrainSummary {
  status: Exclude<TrainStatus, 'running' | 'stopping'>;
  severity: 'critical' | 'warning' | 'info';
  title: string;
  summary: string;
  /** One line per wave: its services and how each ended. */
  waves: string[];
  counts: { succeeded: number; failed: number; skipped: number; notStarted: number };
}

/** The train's outcome in words, for the journal, the one alert, and `ops train status`. */
export function summarizeTrain(
  record: TrainRecord,
  services: readonly TrainServiceRecord[],
  status: TrainSummary['status'],
): TrainSummary {
  const byId = new Map(services.map((s) => [s.id, s]));
  const total = record.waves.reduce((sum, w) => sum + w.services.length, 0);
  const counts = { succeeded: 0, failed: 0, skipped: 0, notStarted: 0 };
  const waves = record.waves.map((wave, w) => {
    const parts = wave.services.map((name, i) => {
      const s = byId.get(`${record.id}/${w}.${i}`);
      const phase = s?.phase ?? 'not started';
      if (s?.phase === 'succeeded') counts.succeeded++;
      else if (s?.phase === 'failed') counts.failed++;
      else if (s?.phase === 'skipped') counts.skipped++;
      else if (!s || s.phase === 'waiting') counts.notStarted++;
      return `${name} ${phase}${s?.phase === 'failed' && s.error ? ` (${s.error})` : ''}`;
    });
    return `${wave.name}: ${parts.join(', ')}`;
  });
  const label = `release train ${record.name}`;
  const tally = `${counts.succeeded} of ${total} services rolled out, ${counts.failed} failed, ${counts.skipped + counts.notStarted} not started`;
  if (status === 'completed') {
    return {
      status,
      severity: counts.failed > 0 ? 'warning' : 'info',
      title: counts.failed > 0 ? `${label} completed with failures within its budget` : `${label} completed`,
      summary: tally,
      waves,
      counts,
    };
  }
  const why = record.stop ? `: ${record.stop.reason}` : '';
  return {
    status,
    severity: 'critical',
    title: status === 'stopped' ? `${label} stopped${why}` : `${label} failed`,
    summary: tally,
    waves,
    counts,
  };
}
