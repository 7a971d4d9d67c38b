// Stopping a release train's line: claimed once on the train's record (by the budget or by an
// operator), journaled, and with onStop=rollback each running rollout of the train is aborted as
// `ops abort` would (traffic back on blue at once, read back; the rollout removes green). Waves
// and services not yet started see the stop at their turn and never start; a rollout admitted but
// not yet past its first states sees it at its lock step and refuses to start.
import { logger } from '../shared/logger.ts';
import { abortRolloutOf, type OperatorDeps } from '../shared/rollouts/operator.ts';
import { getRolloutRecord, TERMINAL_PHASES } from '../shared/rollouts/record.ts';
import {
  claimTrainStop,
  getTrainRecord,
  type TrainRecord,
  type TrainStop,
  trainServices,
} from '../shared/trains/record.ts';
import { journalTrain } from './evidence.ts';

/** What stopping needs: what an operator's abort needs (the CLI has no more than that). */
type StopDeps = OperatorDeps;

/** Stops the line once; false when it was not running any more (stopped already, or ended). */
export async function stopLine(
  deps: StopDeps,
  record: TrainRecord,
  stop: Omit<TrainStop, 'at'>,
): Promise<boolean> {
  const claim: TrainStop = { ...stop, at: new Date(deps.clock.now()).toISOString() };
  const won = await claimTrainStop(
    deps.db,
    deps.env.OPERATIONS_TABLE,
    deps.clock,
    record.executionName,
    claim,
  );
  if (!won) return false;
  const stopped: TrainRecord = { ...record, status: 'stopping', stop: claim };
  await journalTrain(
    deps,
    stopped,
    'line-stopped',
    'changed',
    `${stop.reason}; services not yet started will not start; running rollouts ${record.onStop === 'rollback' ? 'are aborted and go back to blue' : 'run to their own end'}`,
    { details: { by: stop.by, onStop: record.onStop } },
  );
  if (record.onStop === 'rollback') await abortRunningRollouts(deps, stopped);
  return true;
}

/**
 * Aborts every rollout of the train still running that has not been aborted yet. Safe to repeat
 * and to race: each abort is claimed on the rollout's record, and a rollout already past the
 * point an abort can act on (promoted, rolling back, ended) is left as it is.
 */
export async function abortRunningRollouts(deps: StopDeps, record: TrainRecord): Promise<string[]> {
  const aborted: string[] = [];
  const services = await trainServices(deps.db, deps.env.OPERATIONS_TABLE, record);
  for (const s of services) {
    if (s.phase !== 'rolling' || !s.execution) continue;
    const rollout = await getRolloutRecord(deps.db, deps.env.OPERATIONS_TABLE, s.cluster, s.service);
    // Not started yet (its lock step refuses now), already aborted, or over.
    if (
      rollout?.executionName !== s.execution ||
      rollout.abortRequested ||
      TERMINAL_PHASES.includes(rollout.phase)
    )
      continue;
    try {
      await abortRolloutOf(
        deps,
        rollout,
        `release-train/${record.executionName}`,
        `the line of release train ${record.name} stopped: ${record.stop?.reason ?? 'stopped'}`.slice(0, 500),
      );
      aborted.push(`${s.cluster}/${s.service}`);
    } catch (error) {
      // Promoted just now, or aborted by someone else: the rollout goes its own way.
      if ((error as Error).name !== 'Refused') throw error;
      logger.info('Rollout not aborted', {
        service: `${s.cluster}/${s.service}`,
        why: (error as Error).message,
      });
    }
  }
  return aborted;
}

/** `ops train abort`: stops the line as the operator; refused when it is not running. */
export async function abortTrain(
  deps: StopDeps,
  executionName: string,
  by: string,
  reason: string | undefined,
): Promise<{ stopped: boolean; record: TrainRecord | undefined }> {
  const record = await getTrainRecord(deps.db, deps.env.OPERATIONS_TABLE, executionName);
  if (!record) return { stopped: false, record };
  const stopped = await stopLine(deps, record, {
    reason: `aborted by ${by}${reason ? `: ${reason}` : ''}`,
    by,
  });
  return { stopped, record: await getTrainRecord(deps.db, deps.env.OPERATIONS_TABLE, executionName) };
}
