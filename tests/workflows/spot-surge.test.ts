// The spot-surge workflow, run from its synthesized definition against the emulator.
import { DescribeExecutionCommand, ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { beforeAll, describe, expect, it } from 'vitest';
import { awsClient } from '../../functions/shared/clients.ts';
import { readJournal, takeAlerts } from '../../local/control-plane.ts';
import type { DeployedStack } from '../../local/deploy.ts';
import { registerGroupInstances } from '../../local/ecs-agent.ts';
import { type Seed, seed } from '../../local/seed.ts';
import { putEvents, type SpotHarness, sampleEvent, spotHarness } from '../../local/spot-harness.ts';
import { VirtualClock } from '../../local/virtual-clock.ts';
import { deployedWorkflow, runDeployedWorkflow } from '../../local/workflows.ts';
import { type SpotWorld, statuses } from '../spot/scenarios.ts';
import { useEmulator } from '../support/emulator.ts';

describe('spot-surge workflow', () => {
  useEmulator();
  let stack: DeployedStack;
  let world: Seed;
  let harness: SpotHarness;
  const spot = () => world.containerInstances.filter((c) => c.spot);
  const view = () => ({ stack, seed: world, harness, calls: () => 0 }) as SpotWorld;

  beforeAll(async () => {
    stack = await deployControlPlane();
    world = await seed(stack, { instances: 12, spotFraction: 0.75 });
    harness = await spotHarness(stack);
  });

  /** A rebalance recommendation for `instanceId`, and the surge execution it started. */
  async function rebalance(instanceId: string): Promise<unknown> {
    await putEvents([sampleEvent('ec2-instance-rebalance-recommendation', instanceId)]);
    await harness.process();
    const sfn = awsClient(SFNClient);
    const { arn } = deployedWorkflow(stack, 'spot-surge');
    const listed = await sfn.send(new ListExecutionsCommand({ stateMachineArn: arn }));
    for (const e of listed.executions ?? []) {
      const d = await sfn.send(new DescribeExecutionCommand({ executionArn: e.executionArn }));
      const input = JSON.parse(d.input ?? '{}');
      if (input.instances?.some((i: { instanceId: string }) => i.instanceId === instanceId)) return input;
    }
    throw new Error(`no surge execution for ${instanceId}`);
  }

  it('drains the at-risk instance once its replacement has registered', async () => {
    const target = spot()[0]!;
    const input = await rebalance(target.ec2InstanceId);
    expect((await statuses(view())).get(target.ec2InstanceId)).toBe('ACTIVE');
    // The Auto Scaling group launched the replacement; its ECS agent registers it.
    const registered = await registerGroupInstances(world.cluster, world.autoScalingGroups.spot);
    expect(registered).toHaveLength(1);

    const result = await runDeployedWorkflow(stack, 'spot-surge', input, { clock: new VirtualClock() });
    expect(result.status).toBe('SUCCEEDED');
    expect((result.output as { status: string }).status).toBe('drained');
    expect((await statuses(view())).get(target.ec2InstanceId)).toBe('DRAINING');
    const journal = await readJournal(stack.functions['spot-surge-step']!.environment.JOURNAL_TABLE!);
    const drained = journal.filter(
      (r) => r.action === 'drain-instance' && r.resource.endsWith(target.ec2InstanceId),
    );
    expect(drained).toHaveLength(1);
    expect(drained[0]?.reason).toContain('replacement(s) registered');
  });

  it('stops waiting at the deadline, leaves the instance ACTIVE and says why', async () => {
    const target = spot()[1]!;
    const input = await rebalance(target.ec2InstanceId);
    await takeAlerts(world.alertQueues.warning);
    // No agent registers the replacement this time.
    const clock = new VirtualClock();
    const result = await runDeployedWorkflow(stack, 'spot-surge', input, { clock });
    expect(result.status).toBe('SUCCEEDED');
    const output = result.output as { status: string; startedAt: string; deadline: string };
    expect(output.status).toBe('expired');
    // The deadline is 30 minutes after the surge started, and the wait ended past it, not before.
    expect(Date.parse(output.deadline) - Date.parse(output.startedAt)).toBe(30 * 60_000);
    expect(clock.now()).toBeGreaterThanOrEqual(Date.parse(output.deadline));
    expect((await statuses(view())).get(target.ec2InstanceId)).toBe('ACTIVE');
    // The step raised its alert onto the alert queue; the router's event source publishes it.
    await harness.process();
    const alerts = await takeAlerts(world.alertQueues.warning);
    expect(alerts.map((a) => a.alert.kind)).toEqual(['spot-surge-expired']);
    // The loop is bounded by the deadline: 30 minutes of 15-second polls.
    expect(result.transitions).toBeLessThan(2 + 3 * 125);
  });

  it('ends without a second drain when the warning drained the instance first', async () => {
    const target = spot()[2]!;
    const input = await rebalance(target.ec2InstanceId);
    await putEvents([sampleEvent('ec2-spot-instance-interruption-warning', target.ec2InstanceId)]);
    await harness.process();
    expect((await statuses(view())).get(target.ec2InstanceId)).toBe('DRAINING');
    await registerGroupInstances(world.cluster, world.autoScalingGroups.spot);
    const result = await runDeployedWorkflow(stack, 'spot-surge', input, { clock: new VirtualClock() });
    expect((result.output as { status: string }).status).toBe('superseded');
    const journal = await readJournal(stack.functions['spot-surge-step']!.environment.JOURNAL_TABLE!);
    expect(
      journal.filter((r) => r.action === 'drain-instance' && r.resource.endsWith(target.ec2InstanceId)),
    ).toHaveLength(1);
  });

  it('rejects bad console input in its first state, naming the field, changing nothing', async () => {
    const before = await statuses(view());
    const result = await runDeployedWorkflow(stack, 'spot-surge', {
      cluster: 'web',
      instances: [{ instanceId: 'not-an-instance', containerInstanceArn: spot()[3]!.containerInstanceArn }],
      replacements: 1,
      startedAt: new Date().toISOString(),
      deadline: new Date(Date.now() + 60_000).toISOString(),
    });
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('InvalidInput');
    expect(result.cause).toContain('input.instances.0.instanceId');
    expect(result.states).toEqual(['Validate input', 'Input rejected']);
    expect(await statuses(view())).toEqual(before);
  });
});

import { deployControlPlane } from '../../local/control-plane.ts';

describe('spot-surge input checks against the cluster', () => {
  useEmulator();
  let stack: DeployedStack;
  let world: Seed;
  beforeAll(async () => {
    stack = await deployControlPlane();
    world = await seed(stack, { instances: 4, spotFraction: 1 });
  });

  it.each([
    ['an unmanaged cluster', (i: Record<string, unknown>) => ({ ...i, cluster: 'other' }), 'input.cluster'],
    [
      'an instance that is not in the cluster',
      (i: Record<string, unknown>) => ({
        ...i,
        instances: [
          {
            instanceId: 'i-0123456789abcdef0',
            containerInstanceArn:
              'arn:aws:ecs:us-east-1:123456789012:container-instance/web/00000000000000000000000000000000',
          },
        ],
      }),
      'input.instances.0.containerInstanceArn',
    ],
    [
      'an instance id that does not match its container instance',
      (i: Record<string, unknown>) => ({
        ...i,
        instances: [
          {
            instanceId: 'i-0123456789abcdef0',
            containerInstanceArn: world.containerInstances[0]!.containerInstanceArn,
          },
        ],
      }),
      'input.instances.0.instanceId',
    ],
    [
      'a deadline beyond 90 minutes',
      (i: Record<string, unknown>) => ({
        ...i,
        startedAt: '2026-01-01T00:00:00Z',
        deadline: '2026-01-01T02:00:00Z',
      }),
      'input.deadline',
    ],
  ])('rejects %s', async (_label, mutate, field) => {
    const valid = {
      cluster: 'web',
      instances: [
        {
          instanceId: world.containerInstances[0]!.ec2InstanceId,
          containerInstanceArn: world.containerInstances[0]!.containerInstanceArn,
        },
      ],
      replacements: 1,
    };
    const result = await runDeployedWorkflow(stack, 'spot-surge', mutate(valid));
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('InvalidInput');
    expect(result.cause).toContain(field);
    expect(result.states).toEqual(['Validate input', 'Input rejected']);
  });
});
