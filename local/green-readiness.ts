// Stand-in (docs/testing.md): moto reports every task set STEADY_STATE the moment it exists and
// registers no targets, so green is ready at its first check and "wait for green" never waits.
// A scenario scripts how green comes up instead, on the virtual clock: the task set stabilizes
// after a while, and its targets move through initial -> healthy or unhealthy (or draining) as
// ECS and the load balancer would move them. The script rewrites only what the emulator cannot
// know (stabilityStatus, task counts, target states) in the responses of DescribeTaskSets and
// DescribeTargetHealth that the in-process functions receive; every call still reaches the
// emulator.
import { ECSClient, type TaskSet } from '@aws-sdk/client-ecs';
import {
  ElasticLoadBalancingV2Client,
  type TargetHealthStateEnum,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { awsClient } from '../functions/shared/clients.ts';
import type { Clock } from '../functions/shared/clock.ts';

export type TargetState = 'initial' | 'healthy' | 'unhealthy' | 'draining';

export interface GreenReadinessScript {
  /** The green target group the script speaks for. */
  targetGroupArn: string;
  /** How many tasks (and targets) green runs. */
  tasks: number;
  /** Virtual ms after green is first looked at until ECS calls its task set steady. */
  steadyAfterMs: number;
  /** The targets' state from each moment on (virtual ms after the first look), in order. */
  targets: [afterMs: number, state: TargetState][];
}

interface Active extends GreenReadinessScript {
  clock: Clock;
  firstLookAt?: number;
}

let active: Active | undefined;
const patched = new WeakSet<object>();

/** Plays `script` until the returned function is called (or another script replaces it). */
export function scriptGreenReadiness(clock: Clock, script: GreenReadinessScript): () => void {
  const mine: Active = { ...script, clock };
  active = mine;
  installReadinessStandIn();
  return () => {
    if (active === mine) active = undefined;
  };
}

const elapsed = (script: Active): number => {
  const now = script.clock.now();
  script.firstLookAt ??= now;
  return now - script.firstLookAt;
};

function targetState(script: Active, at: number): TargetState {
  let state: TargetState = 'initial';
  for (const [after, next] of script.targets) if (at >= after) state = next;
  return state;
}

type Rewrite = (commandName: string, input: Record<string, unknown>, output: unknown, script: Active) => void;

/** Rewrites what `client` answers while a script is active (once per client). */
function rewriteAnswers(
  client: { middlewareStack: { add: (...args: never[]) => void } },
  name: string,
  rewrite: Rewrite,
): void {
  if (patched.has(client)) return;
  const middleware =
    (next: (args: { input: unknown }) => Promise<{ output: unknown }>, context: { commandName?: string }) =>
    async (args: { input: unknown }) => {
      const out = await next(args);
      const script = active;
      if (script)
        rewrite(context.commandName ?? '', args.input as Record<string, unknown>, out.output, script);
      return out;
    };
  (client.middlewareStack.add as (m: unknown, o: unknown) => void)(middleware, { step: 'initialize', name });
  patched.add(client);
}

/** Adds the rewriting middleware to the shared clients the functions use (once per client). */
export function installReadinessStandIn(): void {
  rewriteAnswers(awsClient(ECSClient), 'greenReadinessTaskSets', (command, _input, out, script) => {
    if (command !== 'DescribeTaskSetsCommand') return;
    const output = out as { taskSets?: TaskSet[] };
    for (const set of output.taskSets ?? []) {
      if (set.loadBalancers?.[0]?.targetGroupArn !== script.targetGroupArn || set.status === 'PRIMARY')
        continue;
      const steady = elapsed(script) >= script.steadyAfterMs;
      set.stabilityStatus = steady ? 'STEADY_STATE' : 'STABILIZING';
      set.computedDesiredCount = script.tasks;
      set.runningCount = steady ? script.tasks : 0;
      set.pendingCount = steady ? 0 : script.tasks;
    }
  });
  rewriteAnswers(
    awsClient(ElasticLoadBalancingV2Client),
    'greenReadinessTargets',
    (command, input, out, script) => {
      if (command !== 'DescribeTargetHealthCommand' || input.TargetGroupArn !== script.targetGroupArn) return;
      const state = targetState(script, elapsed(script));
      const output = out as { TargetHealthDescriptions?: unknown[] };
      output.TargetHealthDescriptions = Array.from({ length: script.tasks }, (_, i) => ({
        Target: { Id: `10.0.${Math.floor(i / 250)}.${(i % 250) + 4}`, Port: 8080 },
        HealthCheckPort: '8080',
        TargetHealth: {
          State: state as TargetHealthStateEnum,
          ...(state === 'healthy'
            ? {}
            : {
                Reason: {
                  initial: 'Elb.RegistrationInProgress',
                  unhealthy: 'Target.FailedHealthChecks',
                  draining: 'Target.DeregistrationInProgress',
                }[state],
              }),
        },
      }));
    },
  );
}
