// What operators do to a running rollout (`ops approve|reject|abort|rollback`), through its
// record: answer a gate, abort, or roll back inside the window after promotion. Every action is
// claimed on the record first (a conditional write), so two operators, or an operator and the
// closing window, cannot both win. The answer reaches the waiting task through `callbacks`
// (Step Functions' SendTaskSuccess, on AWS and on the rig alike).
import type { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { GateAnswer } from '../../../events/rollout-state.ts';
import type { Clock } from '../clock.ts';
import { iso } from '../clock.ts';
import type { Db } from '../dynamo.ts';
import { OpsError, VerificationFailedError } from '../errors.ts';
import { writeJournal } from '../journal.ts';
import { serviceLockResource } from '../service-lock.ts';
import type { TaskCallbacks } from '../task-callbacks.ts';
import { operatorReason } from '../validation.ts';
import {
  claimGateAnswer,
  findRolloutRecord,
  getRolloutRecord,
  type RolloutPhase,
  type RolloutRecord,
  TERMINAL_PHASES,
  updateRolloutRecord,
} from './record.ts';
import { setWeights, type Weights } from './traffic.ts';

/** The operator's request cannot be carried out; the message says why and what to do instead. */
export class OperatorRefusedError extends OpsError {
  override readonly name = 'Refused';
}

export interface OperatorDeps {
  db: Db;
  elb: ElasticLoadBalancingV2Client;
  clock: Clock;
  env: { OPERATIONS_TABLE: string; JOURNAL_TABLE: string };
  callbacks: TaskCallbacks;
}

export interface OperatorResult {
  execution: string;
  service: string;
  action: string;
  /** Listener weights read back after the operator's own change, if it made one. */
  weights?: Weights;
  message: string;
}

async function recordFor(deps: OperatorDeps, ref: string): Promise<RolloutRecord> {
  const record = await findRolloutRecord(deps.db, deps.env.OPERATIONS_TABLE, ref);
  if (!record)
    throw new OperatorRefusedError(`no rollout matches "${ref}" (an execution ARN or name, or a service)`);
  return record;
}

/** An ECS deployment's gates belong to its lifecycle hook: answered on the record only, no task waits. */
const answeredOnRecordOnly = (record: RolloutRecord) => record.controller === 'ecs';

const key = (r: RolloutRecord) => ({ cluster: r.cluster, service: r.service, execution: r.execution });

/** `ops approve|reject <execution>`: answers the gate the rollout waits at. */
export async function answerGate(
  deps: OperatorDeps,
  ref: string,
  decision: 'approve' | 'reject',
  by: string,
  reasonGiven?: string,
): Promise<OperatorResult> {
  const reason = operatorReason(reasonGiven);
  const record = await recordFor(deps, ref);
  const gate = record.gate;
  if (record.phase !== 'gate' || !gate || gate.kind === 'window') {
    throw new OperatorRefusedError(
      gate?.kind === 'window'
        ? `rollout ${record.executionName} is in its rollback window, not at a gate: use ops rollback ${record.cluster}/${record.service} to go back`
        : `rollout ${record.executionName} is not waiting at a gate (phase: ${record.phase})`,
    );
  }
  const answer: GateAnswer = { decision, by, at: iso(deps.clock.now()), ...(reason ? { reason } : {}) };
  const claimed = await claimGateAnswer(deps.db, deps.env.OPERATIONS_TABLE, deps.clock, key(record), {
    token: gate.token,
    decision,
    by,
    at: answer.at as string,
    ...(reason ? { reason } : {}),
  });
  if (!claimed)
    throw new OperatorRefusedError(`the ${gate.kind} gate of ${record.executionName} was already answered`);
  // An ECS deployment's lifecycle hook reads the claim at its next call; no task waits on it.
  if (!answeredOnRecordOnly(record)) await deps.callbacks.success(gate.token, answer);
  return {
    execution: record.execution,
    service: `${record.cluster}/${record.service}`,
    action: decision,
    message: `${decision === 'approve' ? 'approved' : 'rejected'} the ${gate.kind} gate of ${record.executionName}`,
  };
}

/**
 * `ops rollback <service>`: inside the rollback window after promotion, puts 100% of traffic
 * back on blue at once (one listener update, read back) and tells the workflow, which then
 * removes green. Outside the window it refuses and says why.
 */
export async function rollbackService(deps: OperatorDeps, ref: string, by: string): Promise<OperatorResult> {
  return rollbackServiceOf(deps, await recordFor(deps, ref), by);
}

/** `rollbackService` of a record already read. */
async function rollbackServiceOf(
  deps: OperatorDeps,
  record: RolloutRecord,
  by: string,
): Promise<OperatorResult> {
  if (record.controller === 'ecs')
    throw new OperatorRefusedError(
      `${record.cluster}/${record.service} is deployed by ECS: while deployment ${record.executionName} runs, ops abort ${record.executionName} makes its hook answer FAILED (ECS rolls back); after it, deploy the previous revision again (ECS keeps no rollback window)`,
    );
  const now = deps.clock.now();
  const gate = record.gate;
  const windowOpen =
    record.phase === 'window' &&
    gate?.kind === 'window' &&
    record.windowEndsAt !== undefined &&
    now < Date.parse(record.windowEndsAt);
  if (!windowOpen || !gate) throw new OperatorRefusedError(refusal(record, now));

  const at = iso(now);
  const claimed = await updateRolloutRecord(deps.db, deps.env.OPERATIONS_TABLE, deps.clock, key(record), {
    set: { phase: 'reverting', answer: { token: gate.token, decision: 'rollback', by, at } },
    condition: {
      expression: '#phase = :window AND #gate.#token = :token',
      names: { '#phase': 'phase', '#gate': 'gate', '#token': 'token' },
      values: { ':window': 'window', ':token': gate.token },
    },
  });
  if (!claimed)
    throw new OperatorRefusedError(
      `the rollback window of ${record.executionName} closed just now; nothing was changed`,
    );

  let weights: Weights;
  try {
    weights = await setWeights(deps.elb, record.topology, 0);
  } catch (error) {
    // Traffic is not known to be on blue: the workflow must do the full rollback itself.
    await deps.callbacks.success(gate.token, {
      decision: 'abort',
      by,
      at,
      reason: `ops rollback failed: ${(error as Error).message}`,
    });
    throw error;
  }
  await updateRolloutRecord(deps.db, deps.env.OPERATIONS_TABLE, deps.clock, key(record), {
    set: { weights },
  });
  await writeJournal(deps.db, deps.env.JOURNAL_TABLE, deps.clock, [
    {
      resource: serviceLockResource(record.cluster, record.service),
      action: 'operator-rollback',
      outcome: 'changed',
      reason: `${by} rolled back inside the rollback window (until ${record.windowEndsAt}): 100% on blue, read back from the ${record.topology.route.kind}`,
      trigger: { kind: 'operator', id: record.execution, source: by, at },
      actor: by,
      before: { blue: 0, green: 100 },
      after: weights,
      details: { execution: record.execution },
    },
  ]);
  await deps.callbacks.success(gate.token, { decision: 'rollback', by, at });
  return {
    execution: record.execution,
    service: `${record.cluster}/${record.service}`,
    action: 'rollback',
    weights,
    message: `traffic is 100% on blue again (read back: blue ${weights.blue}% / green ${weights.green}%); the rollout removes green`,
  };
}

/**
 * `ops abort <execution>`: the rollout stops and goes back to blue. Traffic leaves green at once
 * (read back); a waiting gate is answered; a running bake ends in a rollback when it is analysed.
 * Once green is promoted it is refused (in the window it is `ops rollback`).
 */
export async function abortRollout(
  deps: OperatorDeps,
  ref: string,
  by: string,
  reasonGiven?: string,
): Promise<OperatorResult> {
  operatorReason(reasonGiven);
  return abortRolloutOf(deps, await recordFor(deps, ref), by, reasonGiven);
}

/** `abortRollout` of a record already read (a release train stopping its running rollouts). */
export async function abortRolloutOf(
  deps: OperatorDeps,
  record: RolloutRecord,
  by: string,
  reasonGiven?: string,
): Promise<OperatorResult> {
  const reason = operatorReason(reasonGiven);
  if (record.phase === 'window') return rollbackServiceOf(deps, record, by);
  refuseAbortIn(record, deps.clock.now());
  const at = iso(deps.clock.now());
  // Claimed against the phase too: once the rollout has claimed its promotion, moving the
  // listener back would leave it off the primary task set.
  const phases = Object.fromEntries(ABORTABLE_PHASES.map((phase, i) => [`:abortable${i}`, phase]));
  const claimed = await updateRolloutRecord(deps.db, deps.env.OPERATIONS_TABLE, deps.clock, key(record), {
    set: { abortRequested: { by, at, ...(reason ? { reason } : {}) } },
    condition: {
      expression: `attribute_not_exists(#abort) AND #phase IN (${Object.keys(phases).join(', ')})`,
      names: { '#abort': 'abortRequested', '#phase': 'phase' },
      values: phases,
    },
  });
  if (!claimed) {
    const now = await getRolloutRecord(deps.db, deps.env.OPERATIONS_TABLE, record.cluster, record.service);
    const ours = now?.execution === record.execution ? now : undefined;
    // Our own claim, applied with its answer lost and retried: it stands.
    const mine = ours?.abortRequested?.by === by && ours.abortRequested.at === at;
    if (!mine) {
      if (ours?.phase === 'window') return rollbackServiceOf(deps, ours, by);
      if (ours && !ours.abortRequested) refuseAbortIn(ours, deps.clock.now());
      throw new OperatorRefusedError(`rollout ${record.executionName} is already being aborted`);
    }
  }
  let weights: Weights | undefined;
  let overtaken: string | undefined;
  // ECS owns an ECS deployment's weights: its hook answers FAILED at its next call, and ECS rolls back.
  if (record.weights.green > 0 && record.controller !== 'ecs') {
    try {
      weights = await setWeights(deps.elb, record.topology, 0);
    } catch (error) {
      if (!(error instanceof VerificationFailedError)) throw error;
      // A step of the rollout already in flight (it looked for an abort before ours was claimed)
      // moved traffic after us. The abort stands: that step's rollout sees it at its next check
      // and puts traffic back on blue itself.
      overtaken = error.message;
    }
    if (weights)
      await updateRolloutRecord(deps.db, deps.env.OPERATIONS_TABLE, deps.clock, key(record), {
        set: { weights },
      });
  }
  await writeJournal(deps.db, deps.env.JOURNAL_TABLE, deps.clock, [
    {
      resource: serviceLockResource(record.cluster, record.service),
      action: 'operator-abort',
      outcome: weights ? 'changed' : 'unchanged',
      reason: `${by} aborted the rollout${reason ? `: ${reason}` : ''}${weights ? '; traffic put back on blue at once (read back)' : ''}${overtaken ? `; a rollout step in flight moved traffic after ours (${overtaken}): the rollout puts it back on blue at its next check` : ''}`,
      trigger: { kind: 'operator', id: record.execution, source: by, at },
      actor: by,
      ...(weights ? { before: record.weights, after: weights } : {}),
      details: { execution: record.execution, phase: record.phase },
    },
  ]);
  const gate = record.gate;
  if (record.phase === 'gate' && gate) {
    // Claimed on the record like any answer: a rollout running in another process (ops rollout
    // on the emulator) takes its answers from there. Already answered: the next step sees the abort.
    const answered = await claimGateAnswer(deps.db, deps.env.OPERATIONS_TABLE, deps.clock, key(record), {
      token: gate.token,
      decision: 'abort',
      by,
      at,
      ...(reason ? { reason } : {}),
    });
    if (answered && !answeredOnRecordOnly(record))
      await deps.callbacks.success(gate.token, { decision: 'abort', by, at, ...(reason ? { reason } : {}) });
  }
  return {
    execution: record.execution,
    service: `${record.cluster}/${record.service}`,
    action: 'abort',
    ...(weights ? { weights } : {}),
    message:
      record.controller === 'ecs'
        ? 'abort requested; the lifecycle hook answers FAILED at its next call, and ECS rolls back to blue'
        : `abort requested${weights ? '; traffic is 100% on blue' : ''}${overtaken ? '; a rollout step in flight moved traffic after ours, and the rollout puts it back on blue at its next check' : ''}; the rollout removes green and releases the service`,
  };
}

/** Phases in which an abort can still stop the rollout before green is primary. */
const ABORTABLE_PHASES: readonly RolloutPhase[] = [
  'starting',
  'preparing',
  'waiting-for-green',
  'pre-traffic',
  'shifting',
  'baking',
  'paused',
  'gate',
];

/** Throws the operator's refusal when the rollout is past the point an abort can act on. */
function refuseAbortIn(record: RolloutRecord, now: number): void {
  if (ABORTABLE_PHASES.includes(record.phase)) return;
  if (TERMINAL_PHASES.includes(record.phase))
    throw new OperatorRefusedError(
      `rollout ${record.executionName} already ended (${record.outcome ?? record.phase})`,
    );
  throw new OperatorRefusedError(refusal(record, now));
}

function refusal(record: RolloutRecord, now: number): string {
  const name = record.executionName;
  const svc = `${record.cluster}/${record.service}`;
  switch (record.phase) {
    case 'finalized':
      return `refused: the rollback window of rollout ${name} closed at ${record.windowEndsAt ?? record.finishedAt}; blue was retired${record.finishedAt ? ` (${record.finishedAt})` : ''}. Roll forward instead: ops rollout --service ${record.service} --image ${record.blue.image ?? '<previous image>'}`;
    case 'rolled-back':
      return `refused: rollout ${name} of ${svc} was already rolled back (${record.outcome ?? 'rolled back'})`;
    case 'frozen':
      return `refused: rollout ${name} froze on failure (onFailure=freeze: it must not go back on its own); move traffic by hand if you are sure`;
    case 'finalizing':
      if (record.gate?.kind !== 'window' && record.windowEndsAt && now < Date.parse(record.windowEndsAt))
        return `refused: green of ${name} was just promoted: nothing was changed; once its rollback window opens, ops rollback ${svc} puts traffic back on blue (until ${record.windowEndsAt})`;
      return `refused: the rollback window of rollout ${name} closed at ${record.windowEndsAt} (now ${iso(now)}); blue is being retired`;
    case 'window':
      return `refused: the rollback window of rollout ${name} closed at ${record.windowEndsAt} (now ${iso(now)}); blue is being retired`;
    case 'reverting':
    case 'rolling-back':
      return `refused: rollout ${name} is already being rolled back`;
    default:
      return `refused: rollout ${name} of ${svc} is still in progress (${record.phase}, green at ${record.weights.green}%): use ops abort ${name} to stop it and go back to blue`;
  }
}
