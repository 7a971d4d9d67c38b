// Release trains at fleet scale: a train of 200 services in 5 waves of 40, over four clusters of
// 50 services (each behind its own load balancer), on the emulator from the synthesized
// definitions, with every call authorized against the deployed roles. Reports the train's wall
// time, state transitions (the train's own and its rollouts'), its history against Step Functions'
// 25,000-event quota, and the AWS calls and Lambda invocations per service.
import { CreateRuleCommand, ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { TrainInputDraft } from '../../events/train-input.ts';
import { awsClient, resetClients } from '../../functions/shared/clients.ts';
import { documentClient } from '../../functions/shared/dynamo.ts';
import { getTrainRecord } from '../../functions/shared/trains/record.ts';
import { deployControlPlane } from '../../local/control-plane.ts';
import type { DeployedStack } from '../../local/deploy.ts';
import { type Emulator, localAwsEnv, startEmulator } from '../../local/emulator.ts';
import { type FaultProxy, startFaultProxy } from '../../local/fault-proxy.ts';
import { rolloutEnvironment } from '../../local/rollouts.ts';
import {
  allTrafficToBlue,
  createRolledOutService,
  createTargetGroup,
  type Seed,
  seed,
} from '../../local/seed.ts';
import { localEstateSettings, routedServiceReference } from '../../local/seeded-estate.ts';
import { historyEventsFor, MAX_HISTORY_EVENTS } from '../../local/sfn-rules.ts';
import { useStepFunctionsEndpoint } from '../../local/step-functions-endpoint.ts';
import { VirtualClock } from '../../local/virtual-clock.ts';
import type { WorkflowResult } from '../../local/workflow-runner.ts';
import { runDeployedWorkflow } from '../../local/workflows.ts';
import type { SuiteContext, SuiteResult } from '../run.ts';

export const name = 'trains';
export const description =
  'A release train of 200 services in 5 waves on the emulator: wall time, state transitions, the train history against the 25,000-event quota, AWS calls and Lambda invocations per service.';

const ENVIRONMENT = 'bench';
const CLUSTERS = ['fleet-a', 'fleet-b', 'fleet-c', 'fleet-d'] as const;
/** Per cluster: its seeded api and this many more, each behind a path rule of the cluster's listener. */
const MORE_PER_CLUSTER = 49;
const WAVES = 5;
/** Bounds the numbers must stay within; each says why. */
export const BOUNDS = {
  /** The train's own history must leave room: a fleet this size uses well under half the quota. */
  historyShare: 0.5,
  /** The train's own transitions: admit, its choice, the nested rollout, the result (4), and 3 a look for room. */
  trainTransitionsPerService: 8,
  /** The calls of one service's all-at-once rollout and its train bookkeeping. */
  callsPerService: 80,
} as const;

const SHADOWING_VARS = ['AWS_PROFILE', 'AWS_SESSION_TOKEN', 'AWS_MAX_ATTEMPTS'];
const svc = (i: number) => `svc-${String(i).padStart(2, '0')}`;

function estate() {
  const routed = (cluster: string, service: string, groups: string) =>
    routedServiceReference(ENVIRONMENT, cluster, service, groups);
  return {
    ...localEstateSettings(ENVIRONMENT),
    clusters: CLUSTERS.map((cluster) => ({
      cluster,
      rebalance: 'surge',
      spot: { autoScalingGroup: `${cluster}-spot`, capacityProvider: `${cluster}-spot`, draining: 'agent' },
      onDemand: { autoScalingGroup: `${cluster}-on-demand`, capacityProvider: `${cluster}-on-demand` },
    })),
    services: CLUSTERS.flatMap((cluster) => [
      routed(cluster, 'api', cluster),
      ...Array.from({ length: MORE_PER_CLUSTER }, (_, i) => routed(cluster, svc(i), `${cluster}-${svc(i)}`)),
    ]),
  };
}

interface World {
  emulator: Emulator;
  proxy: FaultProxy;
  stack: DeployedStack;
  seeds: Seed[];
}

async function openWorld(ctx: SuiteContext): Promise<World> {
  const emulator = await startEmulator();
  const proxy = await startFaultProxy({ target: emulator.endpoint, throttleRate: 0 });
  for (const key of SHADOWING_VARS) delete process.env[key];
  Object.assign(process.env, localAwsEnv(proxy.endpoint));
  await useStepFunctionsEndpoint(proxy.endpoint);
  process.env.OPS_LOG_LEVEL ??= 'SILENT';
  resetClients();
  ctx.log('deploying the control plane for 200 services');
  const stack = await deployControlPlane(ENVIRONMENT, { config: estate() });
  const seeds: Seed[] = [];
  for (const cluster of CLUSTERS) {
    ctx.log(`seeding ${cluster}: instances, its load balancer, api and ${MORE_PER_CLUSTER} more services`);
    const world = await seed(stack, {
      instances: 8,
      spotFraction: 0.5,
      cluster: {
        name: cluster,
        rebalance: 'surge',
        spotAsg: `${cluster}-spot`,
        onDemandAsg: `${cluster}-on-demand`,
      },
      suffix: `-${cluster}`,
    });
    const elb = awsClient(ElasticLoadBalancingV2Client);
    for (let i = 0; i < MORE_PER_CLUSTER; i++) {
      const blue = await createTargetGroup(elb, `${cluster}-${svc(i)}-blue`, world.vpcId);
      const green = await createTargetGroup(elb, `${cluster}-${svc(i)}-green`, world.vpcId);
      await elb.send(
        new CreateRuleCommand({
          ListenerArn: world.loadBalancer.listenerArn,
          Priority: 10 + i,
          Conditions: [{ Field: 'path-pattern', PathPatternConfig: { Values: [`/${svc(i)}/*`] } }],
          Actions: allTrafficToBlue(blue, green),
        }),
      );
      await createRolledOutService({
        cluster,
        service: svc(i),
        environmentName: ENVIRONMENT,
        blueTargetGroupArn: blue,
        desiredCount: 1,
        memoryMiB: 128,
      });
    }
    seeds.push(world);
  }
  return { emulator, proxy, stack, seeds };
}

/** 200 services, dealt round the clusters into 5 waves of 40 (10 of each cluster per wave). */
function trainInput(): TrainInputDraft {
  const all = CLUSTERS.flatMap((cluster) =>
    ['api', ...Array.from({ length: MORE_PER_CLUSTER }, (_, i) => svc(i))].map((service) => ({
      cluster,
      service,
    })),
  );
  const perWave = all.length / WAVES;
  return {
    name: 'fleet 200',
    waves: Array.from({ length: WAVES }, (_, w) => ({
      name: `wave ${w + 1}`,
      maxConcurrency: 40,
      services: all
        .filter((_, i) => i % WAVES === w)
        .slice(0, perWave)
        .map((s) => ({
          ...s,
          image: `bench/${s.service}:train`,
          strategy: { type: 'all-at-once' as const },
        })),
    })),
    budget: { maxFailedServices: 0, maxGreenTaskPercent: 25 },
    requestedBy: 'bench',
  };
}

export async function run(ctx: SuiteContext): Promise<SuiteResult> {
  ctx.log('starting the emulator');
  const world = await openWorld(ctx);
  try {
    const input = trainInput();
    const services = input.waves.reduce((n, w) => n + w.services.length, 0);
    world.proxy.resetStats();
    const ended: { machine: string; result: WorkflowResult }[] = [];
    const invocations = new Map<string, number>();
    const executionName = 'train-fleet-200';
    ctx.log(`running a train of ${services} services in ${input.waves.length} waves`);
    const started = performance.now();
    const result = await runDeployedWorkflow(world.stack, 'release-train', input, {
      clock: new VirtualClock(),
      executionName,
      // Nobody answers a rollback window: each closes at once.
      taskTokenTimeoutMs: 20,
      beforeLambda: async (fn) => {
        invocations.set(fn, (invocations.get(fn) ?? 0) + 1);
      },
      onEnded: (machine, r) => ended.push({ machine, result: r }),
    });
    const seconds = (performance.now() - started) / 1000;
    const record = await getTrainRecord(
      documentClient(),
      rolloutEnvironment(world.stack).OPERATIONS_TABLE as string,
      executionName,
    );
    const stats = world.proxy.stats();
    const calls = Object.values(stats.appliedCallsByOperation ?? {}).reduce((n, c) => n + c, 0);
    const train = ended.find((e) => e.result === result);
    const rollouts = ended.filter((e) => e.result !== result);
    const rolloutTransitions = rollouts.reduce((n, e) => n + e.result.transitions, 0);
    const history = result.events.reduce<number>(
      (n, e) => n + historyEventsFor(e as { type: string; state?: { type: string } }),
      0,
    );
    const lambdaCalls = [...invocations.values()].reduce((n, c) => n + c, 0);
    const trainSteps = invocations.get('train-step') ?? 0;
    const rows = [
      {
        measure: 'services (waves x services)',
        value: `${services} (${input.waves.length} x ${services / input.waves.length})`,
      },
      {
        measure: 'outcome',
        value: `${result.status}: ${record?.counts.succeeded ?? 0} succeeded, ${record?.counts.failed ?? 0} failed`,
      },
      { measure: 'wall time on the emulator (s)', value: Number(seconds.toFixed(1)) },
      { measure: 'train state transitions', value: result.transitions },
      {
        measure: 'train state transitions per service',
        value: Number((result.transitions / services).toFixed(1)),
      },
      { measure: 'rollout executions', value: rollouts.length },
      {
        measure: 'rollout state transitions per service',
        value: Number((rolloutTransitions / services).toFixed(1)),
      },
      {
        measure: `train history events (quota ${MAX_HISTORY_EVENTS.toLocaleString('en-US')})`,
        value: history,
      },
      { measure: 'AWS calls per service (train and rollout)', value: Number((calls / services).toFixed(1)) },
      { measure: 'Lambda invocations per service', value: Number((lambdaCalls / services).toFixed(1)) },
      { measure: 'train-step invocations per service', value: Number((trainSteps / services).toFixed(2)) },
    ];
    const checks = [
      {
        name: `the train of ${services} services completes, every one rolled out`,
        ok:
          result.status === 'SUCCEEDED' &&
          record?.counts.succeeded === services &&
          rollouts.length === services,
        detail: `${result.status}${result.error ? ` ${result.error}: ${result.cause?.slice(0, 300)}` : ''}; ${record?.counts.succeeded} of ${services}`,
      },
      {
        name: `the train's history stays under ${BOUNDS.historyShare * 100}% of the 25,000-event quota`,
        ok: history < MAX_HISTORY_EVENTS * BOUNDS.historyShare,
        detail: `${history} events`,
      },
      {
        name: `the train's own transitions stay within ${BOUNDS.trainTransitionsPerService} per service`,
        ok: result.transitions <= services * BOUNDS.trainTransitionsPerService,
        detail: `${(result.transitions / services).toFixed(1)} per service`,
      },
      {
        name: `AWS calls stay within ${BOUNDS.callsPerService} per service`,
        ok: calls <= services * BOUNDS.callsPerService,
        detail: `${(calls / services).toFixed(1)} per service`,
      },
    ];
    const byOperation = Object.entries(stats.appliedCallsByOperation ?? {})
      .sort((a, b) => b[1] - a[1])
      .slice(0, 12)
      .map(([op, n]) => `${op} ${(n / services).toFixed(2)}`);
    return {
      title: 'Release train of 200 services (5 waves of 40, all-at-once rollouts)',
      columns: [
        { key: 'measure', label: 'measure', align: 'left' },
        { key: 'value', label: 'value' },
      ],
      rows,
      notes: [
        'Four clusters of 50 services (each behind its own load balancer, one path rule per service), one task each (web/api-like `api` services four); maxGreenTaskPercent 25 (at most 13 tasks of a cluster in green), maxConcurrency 40 per wave.',
        "Calls counted by the fault proxy as applied by the emulator; the rig makes no calls of its own during the run. Wall time is the emulator's (moto on this machine), with every Wait compressed: on AWS each rollout's rollback window and termination wait add their real time.",
        `Most frequent calls, per service: ${byOperation.join(', ')}.`,
        `Executions that ended: the train (${train ? 1 : 0}) and ${rollouts.length} rollouts.`,
      ],
      checks,
      details: { history, calls, lambda: Object.fromEntries(invocations), seconds },
    };
  } finally {
    await world.proxy.stop();
    await world.emulator.stop();
  }
}
