// Crashes (issue 9): a function failing mid-rollout, at each Lambda action of the synthesized
// blue-green-rollout definition: with a thrown error and with a Lambda timeout before it did
// anything, and with a timeout after it did its work (the effect happened, the answer is lost).
// The failure is injected at the function's first call of that action (the runner's beforeLambda
// hook: the task fails as a crashed or timed-out invocation does), and afterwards the service must
// be whole: the listener entirely on one target group, exactly one primary task set behind it, the
// service lock free, and the journal saying what happened.
//
// Each action is crashed on a route that reaches it: a forward route (test traffic, pre-traffic
// hook, canary, finalize gate, rollback window) that succeeds when nothing crashes, a rollback
// route (green answers 12% 5xx), a freeze route (the traffic gate times out into reject with
// onFailure=freeze) and a route where the rollback's last step keeps failing. Which route reaches
// which action is learnt from clean runs of the routes, not listed by hand; every action of the
// definition must be reached by one of them. One emulator, everything sequential, virtual time.
import { ECSClient } from '@aws-sdk/client-ecs';
import { describe, expect, it } from 'vitest';
import type { RolloutInputDraft } from '../../events/rollout-input.ts';
import { ROLLOUT_STEP_ACTIONS } from '../../functions/rollout-step/handler.ts';
import { removeGreen } from '../../functions/rollout-step/service.ts';
import { awsClient } from '../../functions/shared/clients.ts';
import { documentClient } from '../../functions/shared/dynamo.ts';
import { getRolloutRecord, TERMINAL_PHASES } from '../../functions/shared/rollouts/record.ts';
import { EMULATOR_REGION } from '../../local/emulator.ts';
import { localFunction } from '../../local/lambda-host.ts';
import { rolloutEnvironment, runRollout, takeRaisedAlerts } from '../../local/rollouts.ts';
import { VirtualClock } from '../../local/virtual-clock.ts';
import type { LambdaBinding, WorkflowResult } from '../../local/workflow-runner.ts';
import {
  actionKey,
  CLUSTER,
  expectConsistent,
  primaryOf,
  rolloutJournal,
  rolloutLambdaActions,
  SERVICE,
  type ServiceView,
  serviceLockItem,
  serviceView,
  writeTraffic,
} from './service-view.ts';
import { type ServiceWorld, useServiceWorld } from './service-world.ts';

const HOUR = 3_600_000;
const HOOK_ARN = `arn:aws:lambda:${EMULATOR_REGION}:123456789012:function:rollout-hook-crash-test`;

// ------------------------------------------------------------------------------------------
// How a function fails.

interface CrashMode {
  label: string;
  /** The Lambda error Step Functions sees (errorType). */
  name: string;
  message: (target: string) => string;
  /** The function ran to its end before the invocation failed: its effects happened. */
  afterWork: boolean;
}

const MODES: Record<'error' | 'timeout' | 'timeoutAfterWork', CrashMode> = {
  error: {
    label: 'a thrown error before any work',
    name: 'Error',
    message: (t) => `injected crash in ${t}`,
    afterWork: false,
  },
  timeout: {
    label: 'a timeout before any work',
    name: 'Sandbox.Timedout',
    message: (t) => `Task timed out after 30.00 seconds (injected in ${t})`,
    afterWork: false,
  },
  timeoutAfterWork: {
    label: 'a timeout after the work was done',
    name: 'Sandbox.Timedout',
    message: (t) => `Task timed out after 30.00 seconds (injected in ${t}, after its work)`,
    afterWork: true,
  },
};

function failure(mode: CrashMode, target: string): Error {
  return Object.assign(new Error(mode.message(target)), { name: mode.name });
}

/**
 * Records every Lambda action of a run; crashes `target` at its first call (after running the
 * function itself when the mode says the work was done), `broken` at every call.
 */
function injector(opts: {
  target?: string;
  mode?: CrashMode;
  broken?: string;
  work: (functionName: string, event: unknown) => Promise<unknown>;
}) {
  const calls: string[] = [];
  let injected = 0;
  const beforeLambda = async (functionName: string, event: unknown) => {
    const key = actionKey(functionName, event);
    calls.push(key);
    if (opts.target && opts.mode && key === opts.target && injected === 0) {
      injected++;
      if (opts.mode.afterWork) await opts.work(functionName, event);
      throw failure(opts.mode, key);
    }
    if (opts.broken && key === opts.broken) throw failure(MODES.error, `${key} (broken on this route)`);
  };
  return { calls, beforeLambda, injected: () => injected };
}

// ------------------------------------------------------------------------------------------
// Routes through the workflow.

/** How a route ends: a workflow outcome, or the error of a start that failed ('Error'). */
type Outcome = 'SUCCEEDED' | 'RolledBack' | 'RolloutFrozen' | 'RollbackFailed' | 'Error';

interface Route {
  name: string;
  /** How a clean run of the route ends. */
  outcome: Outcome;
  greenErrors: boolean;
  input: (image: string) => RolloutInputDraft;
  /** An action that fails at every call on this route (part of the route, not the crash). */
  broken?: string;
}

const base = (image: string): RolloutInputDraft => ({
  cluster: CLUSTER,
  service: SERVICE,
  image,
  strategy: { type: 'canary', percent: 10, bakeSeconds: 60 },
  // One-minute bakes give one sample a side: limits only, the comparison with blue switched off.
  analysis: { maxErrorRate: 0.02, maxP95LatencyMs: 400, baseline: { enabled: false } },
  rollbackWindowSeconds: 60,
  terminationWaitSeconds: 60,
  requestedBy: 'crash-test',
});

const ROUTES: Route[] = [
  {
    name: 'forward',
    outcome: 'SUCCEEDED',
    greenErrors: false,
    input: (image) => ({
      ...base(image),
      preTraffic: { testTraffic: true, hookFunctionArn: HOOK_ARN },
      approval: { gate: 'before-finalize', timeoutSeconds: 60, defaultAction: 'approve' },
    }),
  },
  { name: 'rollback', outcome: 'RolledBack', greenErrors: true, input: base },
  {
    name: 'freeze',
    outcome: 'RolloutFrozen',
    greenErrors: false,
    input: (image) => ({
      ...base(image),
      approval: { gate: 'before-traffic', timeoutSeconds: 60, defaultAction: 'reject' },
      onFailure: 'freeze',
    }),
  },
  {
    name: 'rollback that cannot finish',
    outcome: 'RollbackFailed',
    greenErrors: true,
    input: base,
    broken: 'rollout-step:rolled-back',
  },
  {
    // The lock step keeps failing: the lock is released and the execution fails with its error.
    name: 'start that fails',
    outcome: 'Error',
    greenErrors: false,
    input: base,
    broken: 'rollout-step:lock',
  },
];

/**
 * The journal record that ends each outcome. A start that failed after the lock step's work
 * (the execution fails with that step's error) ends rolled back: nothing had changed.
 */
const LAST_RECORD: Partial<Record<string, string>> = {
  SUCCEEDED: 'rollout-complete',
  RolledBack: 'rollout-rolled-back',
  RolloutFrozen: 'rollout-frozen',
  RollbackFailed: 'rollback-failed',
};

const outcomeOf = (r: WorkflowResult): string =>
  r.status === 'SUCCEEDED' ? 'SUCCEEDED' : (r.error ?? r.status);

// ------------------------------------------------------------------------------------------
// One run.

let slot = 0;
let images = 0;

const hook: LambdaBinding = async () => ({ status: 'SUCCEEDED', reason: 'smoke tests passed' });

interface Run {
  result: WorkflowResult & { executionName: string };
  /** When the run's clock started: its journal records are all later. */
  startedAt: number;
  calls: string[];
  injected: number;
  before: ServiceView;
  after: ServiceView;
  image: string;
}

async function runRoute(
  world: ServiceWorld,
  route: Route,
  crash: { target?: string; mode?: CrashMode } = {},
): Promise<Run> {
  // Each run lives hours after the previous one: its metrics never fall in another's bake window.
  const clock = new VirtualClock();
  clock.advance(++slot * 6 * HOUR);
  const startedAt = clock.now();
  const before = await serviceView(world.seed);
  await writeTraffic(world.seed, before, startedAt, route.greenErrors ? 'failing' : 'healthy');
  await takeRaisedAlerts(rolloutEnvironment(world.stack).ALERT_QUEUE_URL as string);
  const inject = injector({
    ...crash,
    ...(route.broken ? { broken: route.broken } : {}),
    // The same function, in this process, on the run's clock: what the crashed invocation did.
    work: async (fn, event) => (await localFunction(world.stack, fn, { clock })).invoke(event),
  });
  const image = `registry.local/api:crash-${++images}`;
  const result = await runRollout(world.stack, route.input(image) as Record<string, unknown>, {
    clock,
    // Gates and the rollback window nobody answers: they time out at once.
    taskTokenTimeoutMs: 50,
    lambdas: { [HOOK_ARN]: hook },
    beforeLambda: inject.beforeLambda,
  });
  return {
    result,
    startedAt,
    calls: inject.calls,
    injected: inject.injected(),
    before,
    after: await serviceView(world.seed),
    image,
  };
}

/** A frozen rollout leaves green beside blue by design; a human removes it (here: the test). */
async function removeFrozenGreen(world: ServiceWorld, run: Run): Promise<void> {
  const record = await getRolloutRecord(
    documentClient(),
    rolloutEnvironment(world.stack).OPERATIONS_TABLE as string,
    CLUSTER,
    SERVICE,
  );
  if (record?.executionName !== run.result.executionName) throw new Error('no record of the frozen rollout');
  await removeGreen(awsClient(ECSClient), {
    cluster: CLUSTER,
    service: SERVICE,
    rolloutId: record.executionName,
    blueTaskSetArn: record.blue.taskSetArn,
  });
}

/** What every run must leave, crashed or not. */
async function expectWhole(world: ServiceWorld, label: string, run: Run): Promise<void> {
  const { result, after, before, image } = run;
  const outcome = outcomeOf(result);
  expectConsistent(label, after, { strays: outcome === 'RolloutFrozen' });
  const primary = primaryOf(after) as NonNullable<ReturnType<typeof primaryOf>>;
  // All green means this rollout's green; all blue means blue as it was.
  if (outcome === 'SUCCEEDED') expect(primary.image, `${label}: primary image`).toBe(image);
  else expect(primary.arn, `${label}: primary task set`).toBe(primaryOf(before)?.arn);
  expect(await serviceLockItem(world.stack), `${label}: the service lock`).toBeUndefined();
  const journal = await rolloutJournal(world.stack, result.executionArn, run.startedAt);
  if (journal.length > 0) {
    expect(journal[0]?.action, `${label}: first journal record`).toBe('rollout-started');
    expect(journal.at(-1)?.action, `${label}: last journal record`).toBe(
      LAST_RECORD[outcome] ?? 'rollout-rolled-back',
    );
    const record = await getRolloutRecord(
      documentClient(),
      rolloutEnvironment(world.stack).OPERATIONS_TABLE as string,
      CLUSTER,
      SERVICE,
    );
    expect(record?.execution, `${label}: rollout record`).toBe(result.executionArn);
    expect(TERMINAL_PHASES, `${label}: record phase ${record?.phase}`).toContain(record?.phase);
  }
  if (outcome === 'RolloutFrozen') await removeFrozenGreen(world, run);
}

// ------------------------------------------------------------------------------------------

describe('reliability: a function crashing at any step of a rollout', () => {
  // Every green takes container instance resources the emulator never gives back: room for ~60.
  const world = useServiceWorld({ instances: 24 });
  /** For each `<function>:<action>`: the first route that reaches it, and that route's clean run. */
  const reach = new Map<string, { route: Route; clean: Run; actions: string[] }>();
  let definitionActions: string[] = [];

  it('enumerates the Lambda actions of the synthesized rollout definition; clean runs of the routes reach every one and leave the service whole', async () => {
    const fromDefinition = rolloutLambdaActions(world.stack);
    definitionActions = [...fromDefinition.keys()].sort();
    // Every action the definition asks for is one the function knows, and none is dead.
    expect(
      definitionActions.filter((k) => k.startsWith('rollout-step:')).map((k) => k.split(':')[1]),
    ).toEqual([...ROLLOUT_STEP_ACTIONS].sort());
    expect(definitionActions).toContain('rollout-analysis:analyse');

    for (const route of ROUTES) {
      const clean = await runRoute(world, route);
      const label = `clean ${route.name} route`;
      expect(outcomeOf(clean.result), `${label}: ${clean.result.cause}`).toBe(route.outcome);
      await expectWhole(world, label, clean);
      const actions = (await rolloutJournal(world.stack, clean.result.executionArn, clean.startedAt)).map(
        (r) => r.action,
      );
      for (const key of new Set(clean.calls)) {
        if (!reach.has(key)) reach.set(key, { route, clean, actions });
      }
    }
    const unreached = definitionActions.filter((k) => !reach.has(k));
    expect(unreached, 'actions no route reaches').toEqual([]);
  }, 120_000);

  for (const mode of Object.values(MODES)) {
    it(`every action failing at its first call with ${mode.label} (${mode.name}) leaves the listener 100/0 or 0/100, one primary task set behind it, the lock free and the journal explaining`, async () => {
      expect(definitionActions.length, 'the enumeration ran first').toBeGreaterThan(0);
      const outcomes: Record<string, string> = {};
      for (const target of definitionActions) {
        const reached = reach.get(target);
        if (!reached) throw new Error(`no route reaches ${target}`);
        const { route, clean, actions } = reached;
        const label = `${target} (${mode.label}) on the ${route.name} route`;
        const run = await runRoute(world, route, { target, mode });
        const { result } = run;
        expect(
          run.injected,
          `${label}: the crash happened (${outcomeOf(result)}: ${result.cause}; ${run.calls.join(', ')})`,
        ).toBe(1);
        const message = mode.message(target);
        const journal = await rolloutJournal(world.stack, result.executionArn, run.startedAt);
        const retried = run.calls.filter((c) => c === target).length > 1;
        outcomes[target] = `${outcomeOf(result)}${retried ? ' (retried)' : ''}`;
        if (journal.length === 0) {
          // It failed before the lock was taken: the execution's error is the crash (or, when the
          // step was retried, the route's own), nothing changed.
          expect(result.status, label).toBe('FAILED');
          if (retried) {
            expect(outcomeOf(result), label).toBe(outcomeOf(clean.result));
          } else {
            expect(result.error, label).toBe(mode.name);
            expect(result.cause, label).toContain(message);
          }
          expect(run.after, `${label}: nothing changed`).toEqual(run.before);
          expect(await serviceLockItem(world.stack), `${label}: the service lock`).toBeUndefined();
          continue;
        }
        await expectWhole(world, label, run);
        const trail = journal.map((r) => r.action);
        if (retried) {
          // The workflow retried the step: the same end and the same evidence as a clean run (a
          // step that had done its work before it timed out journals that work again on retry).
          expect(outcomeOf(result), label).toBe(outcomeOf(clean.result));
          if (mode.afterWork) expect([...new Set(trail)].sort(), label).toEqual([...new Set(actions)].sort());
          else expect(trail, label).toEqual(actions);
        } else {
          // The crash changed the course: the journal names it.
          const named = journal.filter((r) => r.reason.includes(`${mode.name}: ${message}`));
          expect(
            named.map((r) => r.action),
            `${label}: journal records naming the crash (journal: ${journal.map((r) => `${r.action}: ${r.reason}`).join(' | ')})`,
          ).not.toEqual([]);
          if (result.error === 'RolledBack') {
            const critical = (
              await takeRaisedAlerts(rolloutEnvironment(world.stack).ALERT_QUEUE_URL as string)
            ).filter((a) => a.severity === 'critical');
            expect(
              critical.map((a) => a.kind),
              `${label}: critical alerts`,
            ).toEqual(['rollout-rolled-back']);
            expect(critical[0]?.summary, label).toContain(message);
          }
        }
      }
      // Both ends occur: crashes on the way forward go back to blue, retried ones end as planned.
      expect(Object.values(outcomes)).toContain('SUCCEEDED (retried)');
      expect(Object.values(outcomes)).toContain('RolledBack');
    }, 240_000);
  }

  it('a lock step that took the lock and then timed out gives the lock back at once: the service is free, nothing changed', async () => {
    const mode = MODES.timeoutAfterWork;
    const target = 'rollout-step:lock';
    const reached = reach.get(target);
    if (!reached) throw new Error(`no route reaches ${target}`);
    const run = await runRoute(world, reached.route, { target, mode });
    expect(run.injected).toBe(1);
    expect([run.result.status, run.result.error]).toEqual(['FAILED', mode.name]);
    expect(run.result.states.slice(-2)).toEqual(['Release lock after failed start', 'Start failed']);
    expect(run.after).toEqual(run.before);
    expect(await serviceLockItem(world.stack)).toBeUndefined();
    const journal = await rolloutJournal(world.stack, run.result.executionArn, run.startedAt);
    expect(journal.map((r) => r.action)).toEqual(['rollout-started', 'rollout-rolled-back']);
    expect(journal.at(-1)?.reason).toContain(`${mode.name}: ${mode.message(target)}`);
  });
});
