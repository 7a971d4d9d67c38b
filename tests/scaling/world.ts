// One scaling world per test file: a private emulator behind a fault proxy, the control plane
// deployed from the synthesized template (config/scaling/local.json: web/api on EC2, clamps;
// web/worker on Fargate, refuses), the seeded cluster, a Fargate worker service, and one
// virtual clock that every run shares (scenarios move it past earlier cooldowns explicitly).
import { CreateServiceCommand, ECSClient, RegisterTaskDefinitionCommand } from '@aws-sdk/client-ecs';
import { beforeAll } from 'vitest';
import type { ScaleInputDraft, ScalePlan } from '../../events/scale-input.ts';
import type { Alert } from '../../functions/shared/alerts.ts';
import { awsClient } from '../../functions/shared/clients.ts';
import { deployControlPlane } from '../../local/control-plane.ts';
import type { DeployedStack } from '../../local/deploy.ts';
import type { FaultSettings } from '../../local/fault-proxy.ts';
import { takeRaisedAlerts } from '../../local/rollouts.ts';
import { type Seed, seed } from '../../local/seed.ts';
import { VirtualClock } from '../../local/virtual-clock.ts';
import type { WorkflowResult } from '../../local/workflow-runner.ts';
import { runDeployedWorkflow } from '../../local/workflows.ts';
import { answersMayBeLost, type FaultProxyHandle, useEmulator, useFaultProxy } from '../support/emulator.ts';

export interface ScalingWorld {
  stack: DeployedStack;
  seed: Seed;
  clock: VirtualClock;
  /** Runs the scale-service workflow from its synthesized definition. */
  run(input: ScaleInputDraft | Record<string, unknown>, opts?: { executionName?: string }): Promise<ScaleRun>;
  /** Alerts the functions raised onto the alert queue since the last call (read and removed). */
  raisedAlerts(): Promise<Alert[]>;
  env(name: string): string;
}

export interface ScaleRun extends WorkflowResult {
  plan: ScalePlan;
}

export const WORKER = 'worker';

export function useScalingWorld(opts: { throttleRate?: number; faults?: Partial<FaultSettings> } = {}): {
  world: ScalingWorld;
  proxy: FaultProxyHandle;
} {
  useEmulator();
  const proxy = useFaultProxy({ throttleRate: 0, seed: 6 });
  const world = {} as ScalingWorld;
  beforeAll(async () => {
    world.stack = await deployControlPlane();
    world.seed = await seed(world.stack, { instances: 4, spotFraction: 0.5 });
    await createFargateWorker(world.seed);
    world.clock = new VirtualClock();
    world.env = (name) => {
      const value = world.stack.functions['scale-service-step']?.environment[name];
      if (!value) throw new Error(`scale-service-step has no ${name}`);
      return value;
    };
    world.run = async (input, runOpts = {}) => {
      const result = await runDeployedWorkflow(world.stack, 'scale-service', input, {
        clock: world.clock,
        ...(runOpts.executionName ? { executionName: runOpts.executionName } : {}),
      });
      return { ...result, plan: result.output as ScalePlan };
    };
    // Read past the fault proxy, as every read-back of the rig is; where answers may be lost, a
    // retried send's copy is one alert, as the router takes it.
    const copies = { collapseCopies: answersMayBeLost(opts.faults) };
    world.raisedAlerts = () => takeRaisedAlerts(world.env('ALERT_QUEUE_URL'), copies);
    // Faults start after setup: the scenarios are under test, not the seeding.
    if (opts.throttleRate) proxy.setFaults({ throttleRate: opts.throttleRate });
    if (opts.faults) proxy.setFaults(opts.faults);
    proxy.resetStats();
  });
  return { world, proxy };
}

/** The Fargate worker of config/scaling/local.json: scaled, not rolled out (no load balancer). */
export async function createFargateWorker(world: Seed): Promise<void> {
  const ecs = awsClient(ECSClient);
  const td = await ecs.send(
    new RegisterTaskDefinitionCommand({
      family: `${world.cluster}-${WORKER}`,
      requiresCompatibilities: ['FARGATE'],
      networkMode: 'awsvpc',
      cpu: '256',
      memory: '512',
      containerDefinitions: [
        { name: 'worker', image: 'public.ecr.aws/docker/library/busybox:stable', essential: true },
      ],
    }),
  );
  await ecs.send(
    new CreateServiceCommand({
      cluster: world.cluster,
      serviceName: WORKER,
      taskDefinition: td.taskDefinition?.taskDefinitionArn,
      desiredCount: 2,
      // The emulator answers a networkConfiguration with HTTP 500; it is not what is under test.
      launchType: 'FARGATE',
    }),
  );
}
