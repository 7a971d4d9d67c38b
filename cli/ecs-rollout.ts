// `ops rollout` of a service ECS deploys (controller `ecs`): a new task definition revision (from
// --image, or --task-definition as given), `UpdateService`, and the deployment followed with the
// same output as a task-set rollout: the plan, then with --watch every change of the service's
// rollout record (weights, verdicts, gates) as the lifecycle hook writes it. Locally ECS's part is
// played by local/ecs-deployment-stand-in.ts on the emulator, gates wait --gate-wait for an
// answer from another shell; on AWS (--aws) the service deployment is followed through
// ListServiceDeployments and DescribeServiceDeployments.
import {
  DescribeServiceDeploymentsCommand,
  DescribeServicesCommand,
  ECSClient,
  ListServiceDeploymentsCommand,
  type ServiceDeployment,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import { deploymentIdOf } from '../events/ecs-lifecycle-hook.ts';
import { AnalysisSchema, describeAnalysis, type RolloutInputDraft } from '../events/rollout-input.ts';
import { awsClient } from '../functions/shared/clients.ts';
import { documentClient } from '../functions/shared/dynamo.ts';
import { type ManagedService, ManagedServicesSchema } from '../functions/shared/rollouts/config.ts';
import { getRolloutRecord, type RolloutRecord } from '../functions/shared/rollouts/record.ts';
import { DEPLOYMENT_HOOK_OUTPUTS } from '../infra/shared/stack-outputs.ts';
import type { DeployedStack } from '../local/deploy.ts';
import {
  deployService,
  describeEcsStrategy,
  ecsStrategyOf,
  type HookCall,
  hookAnswerText,
  registerRevisionWithImage,
} from '../local/ecs-deployment-stand-in.ts';
import { asRig } from '../local/iam-enforcement.ts';
import { rolloutEnvironment } from '../local/rollouts.ts';
import { VirtualClock } from '../local/virtual-clock.ts';
import { describeRecord } from './rollout.ts';
import { type Out, UsageError } from './usage.ts';

/** Flags a task-set rollout takes that an ECS deployment cannot: its plan is the service's. */
const TASK_SET_ONLY = ['strategy', 'approval', 'no-analysis', 'input'] as const;

export function refuseTaskSetFlags(
  flags: Partial<Record<(typeof TASK_SET_ONLY)[number], unknown>>,
  target: string,
) {
  const given = TASK_SET_ONLY.filter((f) => flags[f] !== undefined && flags[f] !== false);
  if (given.length > 0)
    throw new UsageError(
      `${target} is deployed by ECS: its strategy, analysis and approval are its deployment configuration and rollout defaults, not --${given.join(', --')}`,
    );
}

/** The one service of `services` an input names; its cluster may be left out when the name is unique. */
function namedBy<T extends { cluster: string; service: string }>(
  services: readonly T[],
  input: RolloutInputDraft,
): T | undefined {
  const named = services.filter(
    (m) => m.service === input.service && (input.cluster === undefined || m.cluster === input.cluster),
  );
  return named.length === 1 ? named[0] : undefined;
}

/** Locally: the managed service an input names (MANAGED_SERVICES), if ECS deploys it. */
export function ecsDeployed(
  managedServices: string | undefined,
  input: RolloutInputDraft,
): ManagedService | undefined {
  const managed = namedBy(ManagedServicesSchema.parse(managedServices), input);
  return managed?.controller === 'ecs' ? managed : undefined;
}

/** On AWS: the service, if the stack's outputs list it among those ECS deploys. */
export function ecsDeployedInOutputs(
  outputs: Record<string, string>,
  input: RolloutInputDraft,
): { cluster: string; service: string } | undefined {
  const listed = (outputs[DEPLOYMENT_HOOK_OUTPUTS.services] ?? '')
    .split(',')
    .filter((s) => s.includes('/'))
    .map((s) => ({ cluster: s.split('/')[0] as string, service: s.split('/')[1] as string }));
  return namedBy(listed, input);
}

/** The revision to deploy: --task-definition as given, or the service's own with --image in its container. */
async function revisionToDeploy(ecs: ECSClient, cluster: string, service: string, input: RolloutInputDraft) {
  if (input.taskDefinition) return input.taskDefinition;
  if (!input.image) throw new UsageError('ops rollout needs --image or --task-definition');
  return registerRevisionWithImage(ecs, cluster, service, input.image);
}

/** The plan an ECS deployment follows: the service's strategy, and what the hook judges. */
function planLines(managed: ManagedService, strategy: string): string[] {
  const analysis = AnalysisSchema.parse(managed.defaults?.analysis ?? {});
  // describeAnalysis also words each step of a plan; ECS decides the steps here, so one baked step
  // stands for them and only what every analysis judges is kept.
  const judged = describeAnalysis({ steps: [{ weight: 10, bakeSeconds: 300 }], analysis }).filter(
    (line) => !line.startsWith('step '),
  );
  return [
    `plan for ${managed.cluster}/${managed.service}: ECS deploys it (${strategy}); the lifecycle hook judges each traffic step`,
    ...judged.map((line) => `  ${line}`),
  ];
}

const hookLine = (call: HookCall) =>
  `  hook at ${call.stage} (green ${call.productionWeight}%): ${hookAnswerText(call)}`;

/** Locally: the stand-in plays ECS's deployment on the emulator, the deployed hook judges it. */
export async function ecsRolloutLocally(
  stack: DeployedStack,
  managed: ManagedService,
  input: RolloutInputDraft,
  opts: { watch: boolean; json: boolean; gateWaitMs: number },
  out: Out,
): Promise<number> {
  const ecs = awsClient(ECSClient);
  const { cluster, service } = managed;
  const table = rolloutEnvironment(stack).OPERATIONS_TABLE as string;
  const taskDefinition = await asRig(() => revisionToDeploy(ecs, cluster, service, input));
  const described = await ecs.send(new DescribeServicesCommand({ cluster, services: [service] }));
  const strategy = describeEcsStrategy(ecsStrategyOf(described.services?.[0]?.deploymentConfiguration));
  if (!opts.json) for (const line of planLines(managed, strategy)) console.log(line);
  const clock = new VirtualClock();
  let previous: RolloutRecord | undefined;
  const answered = new Set<string>();
  const result = await deployService({
    stack,
    clock,
    cluster,
    service,
    taskDefinition,
    // A gate waits --gate-wait in real time for an answer from another shell (ops approve|reject).
    beforeHookCall: async () => {
      const until = Date.now() + opts.gateWaitMs;
      for (;;) {
        const record = await getRolloutRecord(documentClient(), table, cluster, service);
        const gate = record?.phase === 'gate' ? record.gate : undefined;
        if (!gate || record?.answer || answered.has(gate.token) || Date.now() >= until) {
          if (gate) answered.add(gate.token);
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    },
    afterHookCall: async (call) => {
      if (!opts.watch || opts.json) return;
      const record = await getRolloutRecord(documentClient(), table, cluster, service);
      if (record && !previous) console.log(`${record.executionName}: ${record.plan.strategy}`);
      console.log(hookLine(call));
      if (record) for (const line of describeRecord(record, previous)) console.log(line);
      previous = record;
    },
  });
  const id = deploymentIdOf(result.deploymentArn);
  const ok = result.status === 'SUCCESSFUL';
  const human = [
    `${id}: ${result.status} after ${result.calls.length} lifecycle hook calls`,
    ok
      ? `green is primary (${taskDefinition.split('/').pop()}); ECS retired blue`
      : `ECS rolled back to ${result.from.split('/').pop()}: ${result.reason}`,
    `(gates wait ${opts.gateWaitMs / 1000} s here; bakes and callback delays pass on a virtual clock; see ops journal)`,
  ].join('\n');
  out(human, { deployment: result.deploymentArn, ...result });
  return ok ? 0 : 1;
}

const TERMINAL = new Set(['SUCCESSFUL', 'STOPPED', 'ROLLBACK_SUCCESSFUL', 'ROLLBACK_FAILED']);

/** One line per change of the service deployment as ECS reports it. */
export function describeDeployment(now: ServiceDeployment, previous?: ServiceDeployment): string[] {
  if (previous && previous.status === now.status && previous.lifecycleStage === now.lifecycleStage) return [];
  const target = now.targetServiceRevision;
  return [
    `ECS ${String(now.status).padEnd(20)} ${now.lifecycleStage ?? ''}${target?.requestedProductionTrafficWeight !== undefined ? ` (green ${target.requestedProductionTrafficWeight}% of production)` : ''}${now.statusReason ? `: ${now.statusReason}` : ''}`,
  ];
}

/** On AWS: UpdateService, then the deployment followed until ECS ends it. */
export async function ecsRolloutOnAws(
  cluster: string,
  service: string,
  input: RolloutInputDraft,
  opts: { watch: boolean; operationsTable: string },
  out: Out,
): Promise<number> {
  const ecs = awsClient(ECSClient);
  const taskDefinition = await revisionToDeploy(ecs, cluster, service, input);
  // A minute's margin for this machine's clock; the newest deployment created since is ours
  // (AWS documents no order for the list).
  const since = new Date(Date.now() - 60_000);
  await ecs.send(new UpdateServiceCommand({ cluster, service, taskDefinition }));
  let deploymentArn: string | undefined;
  for (let tries = 0; !deploymentArn && tries < 60; tries++) {
    const listed = await ecs.send(
      new ListServiceDeploymentsCommand({ cluster, service, createdAt: { after: since } }),
    );
    const newest = [...(listed.serviceDeployments ?? [])].sort(
      (a, b) => (b.createdAt?.getTime() ?? 0) - (a.createdAt?.getTime() ?? 0),
    )[0];
    deploymentArn = newest?.serviceDeploymentArn;
    if (!deploymentArn) await new Promise((resolve) => setTimeout(resolve, 2000));
  }
  if (!deploymentArn) throw new Error(`ECS started no deployment of ${cluster}/${service} within 2 minutes`);
  out(`started ${deploymentArn} (${taskDefinition})`, { deploymentArn, taskDefinition });
  if (!opts.watch) return 0;
  let previous: ServiceDeployment | undefined;
  let record: RolloutRecord | undefined;
  for (;;) {
    const described = await ecs.send(
      new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: [deploymentArn] }),
    );
    const failure = described.failures?.[0];
    if (failure)
      throw new Error(`ECS cannot describe ${deploymentArn}: ${failure.reason} ${failure.detail ?? ''}`);
    const now = described.serviceDeployments?.[0];
    if (now) for (const line of describeDeployment(now, previous)) console.log(line);
    const latest = await getRolloutRecord(documentClient(), opts.operationsTable, cluster, service);
    if (latest?.execution === deploymentArn) {
      for (const line of describeRecord(latest, record)) console.log(line);
      record = latest;
    }
    previous = now ?? previous;
    if (now?.status && TERMINAL.has(now.status)) {
      out(
        `${deploymentIdOf(deploymentArn)}: ${now.status}${now.statusReason ? ` ${now.statusReason}` : ''}`,
        now,
      );
      return now.status === 'SUCCESSFUL' ? 0 : 1;
    }
    await new Promise((resolve) => setTimeout(resolve, 5000));
  }
}
