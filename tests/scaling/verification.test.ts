// The ways a scaling run ends other than "reached": another scaling action holds the lease, the
// service never reaches its count (someone else keeps changing it), and a step fails after the
// decision. Runs the synthesized definition; the only thing added is that outside actor,
// wrapped around the real step handler.
import { DescribeServicesCommand, ECSClient, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ScalePlan } from '../../events/scale-input.ts';
import { awsClient } from '../../functions/shared/clients.ts';
import { documentClient } from '../../functions/shared/dynamo.ts';
import { acquireLock, releaseLock } from '../../functions/shared/lock.ts';
import { deployControlPlane, readJournal } from '../../local/control-plane.ts';
import type { DeployedStack } from '../../local/deploy.ts';
import { localFunction } from '../../local/lambda-host.ts';
import { seed } from '../../local/seed.ts';
import { VirtualClock } from '../../local/virtual-clock.ts';
import { type LambdaBinding, runWorkflow } from '../../local/workflow-runner.ts';
import { deployedWorkflow } from '../../local/workflows.ts';
import { useEmulator } from '../support/emulator.ts';

type StepEvent = { action: string; plan?: ScalePlan };

describe('scale-service endings', () => {
  useEmulator();
  let stack: DeployedStack;
  const clock = new VirtualClock();
  const env = (name: string) => stack.functions['scale-service-step']?.environment[name] as string;
  const desired = async () =>
    (await awsClient(ECSClient).send(new DescribeServicesCommand({ cluster: 'web', services: ['api'] })))
      .services?.[0]?.desiredCount;
  const lease = async (resource: string) =>
    (
      await documentClient().send(
        new GetCommand({ TableName: env('LOCKS_TABLE'), Key: { resource }, ConsistentRead: true }),
      )
    ).Item;

  /** Runs the workflow with `around` wrapped around the real step handler. */
  async function run(input: unknown, around?: (event: StepEvent, real: LambdaBinding) => Promise<unknown>) {
    const machine = deployedWorkflow(stack, 'scale-service');
    const lambdas: Record<string, LambdaBinding> = {};
    for (const fn of Object.values(stack.functions)) {
      const local = await localFunction(stack, fn.name, { clock });
      const real: LambdaBinding = (event) => local.invoke(event);
      lambdas[fn.arn] =
        fn.name === 'scale-service-step' && around ? (event) => around(event as StepEvent, real) : real;
    }
    return runWorkflow({
      definition: machine.definition,
      input,
      lambdas,
      stateMachineName: machine.name,
      clock,
    });
  }

  beforeAll(async () => {
    stack = await deployControlPlane();
    await seed(stack, { instances: 4 });
  });

  it('does nothing while another scaling action holds the lease, and says whose and until when', async () => {
    clock.advance(2 * 3600_000); // past earlier cooldowns
    const other = 'arn:aws:states:us-east-1:123456789012:execution:scale:other';
    const held = await acquireLock(documentClient(), env('LOCKS_TABLE'), clock, {
      resource: 'scaling/web/api',
      owner: other,
      leaseMs: 600_000,
      reason: 'scale web/api',
    });
    try {
      const r = await run({ cluster: 'web', service: 'api', delta: 1, reason: 'meanwhile' });
      const plan = r.output as ScalePlan;
      expect(plan.decision).toBe('no-change');
      expect(plan.blockedBy?.guardrail).toBe('scaling-lease');
      expect(plan.summary).toContain(`another scaling action (${other}) is in progress until`);
      expect(await desired()).toBe(4);
      expect((await lease('scaling/web/api'))?.owner).toBe(other);
    } finally {
      await releaseLock(documentClient(), env('LOCKS_TABLE'), held);
    }
  });

  it('reports "not reached" at the verification deadline when the count is changed back under it', async () => {
    clock.advance(2 * 3600_000);
    const before = (await desired()) as number;
    // Another actor (an old target-tracking policy, say) sets the count back at every read.
    const r = await run(
      { cluster: 'web', service: 'api', delta: 2, reason: 'contested' },
      async (event, real) => {
        if (event.action === 'verify') {
          await awsClient(ECSClient).send(
            new UpdateServiceCommand({ cluster: 'web', service: 'api', desiredCount: before }),
          );
        }
        return real(event);
      },
    );
    expect(r.status).toBe('FAILED');
    expect(r.error).toBe('VerificationFailed');
    expect(r.cause).toBe(
      `web/api: scaled out from ${before} to ${before + 2} (not reached in time) because "contested"`,
    );
    // 300 s of verification (config/scaling/local.json) at one read every 10 s.
    expect(r.states.filter((s) => s === 'Read back').length).toBeGreaterThanOrEqual(30);
    expect(r.states.slice(-3)).toEqual(['Journal and alert', 'Verified?', 'Not reached in time']);
    const journal = (await readJournal(env('JOURNAL_TABLE'))).filter((j) => j.actor === r.executionArn);
    expect(journal).toEqual([
      expect.objectContaining({
        action: 'scale-service',
        outcome: 'changed',
        after: expect.objectContaining({ desiredCount: before }),
      }),
    ]);
    expect(await lease('scaling/web/api')).toBeUndefined();
  });

  it('cleans up after a failed step: leases released, journaled as failed, then fails visibly', async () => {
    clock.advance(2 * 3600_000);
    await run({ cluster: 'web', service: 'api', desiredCount: 6, reason: 'setup' });
    clock.advance(2 * 3600_000);
    const r = await run(
      { cluster: 'web', service: 'api', delta: -1, reason: 'quiet' },
      async (event, real) => {
        if (event.action === 'verify') {
          // Both leases are held at this point: the scaling one and, for a scale-in, the service's.
          expect(event.plan?.leases.map((l) => l.resource).sort()).toEqual([
            'scaling/web/api',
            'service/web/api',
          ]);
          throw Object.assign(new Error('the read-back broke'), { name: 'ReadBackBroke' });
        }
        return real(event);
      },
    );
    expect(r.status).toBe('FAILED');
    expect(r.error).toBe('ReadBackBroke');
    expect(r.states.slice(-2)).toEqual(['Clean up after failure', 'Scaling failed']);
    expect(await lease('scaling/web/api')).toBeUndefined();
    expect(await lease('service/web/api')).toBeUndefined();
    const journal = (await readJournal(env('JOURNAL_TABLE'))).filter((j) => j.actor === r.executionArn);
    expect(journal.map((j) => [j.action, j.outcome])).toEqual([['scale-service', 'failed']]);
    expect(journal[0]?.reason).toContain('scaling failed (ReadBackBroke)');
  });
});
