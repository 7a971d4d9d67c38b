// Secrets: events and console inputs that carry credential-looking values (an AWS access key id,
// a temporary one, a secret access key, a Secrets Manager SecretString) in their fields, valid
// and malformed, go through the deployed control plane (EventBridge -> SQS -> functions -> alert
// router, and the workflows); nothing the functions' Powertools logger writes contains them.
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsClient } from '../../functions/shared/clients.ts';
import { putCpuAlarm } from '../../local/seed.ts';
import {
  enqueueRaw,
  putEvents,
  type SpotHarness,
  sampleEvent,
  spotHarness,
} from '../../local/spot-harness.ts';
import { VirtualClock } from '../../local/virtual-clock.ts';
import { runDeployedWorkflow, runStartedExecutions } from '../../local/workflows.ts';
import { useReliabilityWorld } from './world.ts';

// Shaped like the real thing (AWS's documented examples are on public deny-lists; these are not).
const ACCESS_KEY_ID = 'AKIAQ7XZ3M4N5P6R2S7T';
const SESSION_KEY_ID = 'ASIAW2V5K7L3M9N4P8Q6';
const SECRET_ACCESS_KEY = 'q8Vt3/mZk9+Lw2RbX7sPfN4yHc6JdE1gUa5oKi0T';
const SESSION_TOKEN = 'IQoJb3JpZ2luX2VjEHcaCWV1LXdlc3QtMSJHMEUCIQDx7Examp1eT0kenValue/Zz9+Qq==';
const PASSWORD = 'pW9-xQ2-Lm7-vB4-rT8';
const SECRET_STRING = JSON.stringify({ username: 'app', password: PASSWORD, engine: 'postgres' });
const SECRETS = { ACCESS_KEY_ID, SESSION_KEY_ID, SECRET_ACCESS_KEY, SESSION_TOKEN, PASSWORD, SECRET_STRING };

const CREDENTIALS = {
  AccessKeyId: SESSION_KEY_ID,
  SecretAccessKey: SECRET_ACCESS_KEY,
  SessionToken: SESSION_TOKEN,
};

describe('secrets never reach the logs', () => {
  // Function logs at their most verbose, so that every log call under test is written. The
  // functions share one module logger, which takes its level from OPS_LOG_LEVEL when the first
  // handler is loaded (local/lambda-host.ts); Powertools resets it to that level per invocation.
  const level = process.env.OPS_LOG_LEVEL;
  const world = useReliabilityWorld();
  let harness: SpotHarness;
  const lines: string[] = [];
  let redacted = '';
  const restore: (() => void)[] = [];

  beforeAll(async () => {
    process.env.OPS_LOG_LEVEL = 'DEBUG';
    harness = await spotHarness(world.stack);
    // Imported here, not at the top: a static import would create the logger before the
    // function's environment (its service name, OPS_LOG_LEVEL) is applied.
    const shared = await import('../../functions/shared/logger.ts');
    expect(shared.logger.getLevelName()).toBe('DEBUG');
    redacted = shared.REDACTED;
    // The logger writes JSON lines to stdout (errors to stderr): kept here, not printed.
    for (const stream of [process.stdout, process.stderr]) {
      const write = stream.write;
      stream.write = ((chunk: string | Uint8Array) => {
        lines.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
        return true;
      }) as typeof stream.write;
      restore.push(() => {
        stream.write = write;
      });
    }
  });

  afterAll(() => {
    for (const r of restore) r();
    if (level === undefined) delete process.env.OPS_LOG_LEVEL;
    else process.env.OPS_LOG_LEVEL = level;
  });

  it('events with credentials in their fields, valid and malformed, leave no credential in the logs', async () => {
    const [spot, other] = world.seed.containerInstances.filter((c) => c.spot);
    const warning = (instanceId: string, detail: Record<string, unknown> = {}) => {
      const event = sampleEvent('ec2-spot-instance-interruption-warning', instanceId);
      event.detail = { ...(event.detail as object), ...detail };
      return event;
    };
    const alarm = (alarmName: string, reason: string) => ({
      source: 'aws.cloudwatch',
      'detail-type': 'CloudWatch Alarm State Change',
      resources: [`arn:aws:cloudwatch:${world.stack.region}:${world.stack.accountId}:alarm:${alarmName}`],
      detail: {
        alarmName,
        state: { value: 'ALARM', reason, timestamp: new Date().toISOString() },
        previousState: {
          value: 'OK',
          reason: `was fine; ${SECRET_STRING}`,
          timestamp: new Date().toISOString(),
        },
        configuration: { description: `owner key ${ACCESS_KEY_ID}` },
      },
    });
    await putEvents([
      // Malformed: the credential is the bad value the rejection would quote.
      warning(ACCESS_KEY_ID),
      warning(spot!.ec2InstanceId, { 'instance-action': SECRET_ACCESS_KEY }),
      { ...sampleEvent('ec2-instance-rebalance-recommendation'), detail: { 'instance-id': SECRET_STRING } },
      // Valid, with credentials beside the fields that are read: drained, alerted, journaled.
      warning(other!.ec2InstanceId, { credentials: CREDENTIALS, SecretString: SECRET_STRING }),
      {
        ...sampleEvent('ecs-task-state-change-fargate-spot-interruption'),
        detail: {
          ...(sampleEvent('ecs-task-state-change-fargate-spot-interruption').detail as object),
          stoppedReason: `CannotPullContainerError: auth ${ACCESS_KEY_ID}:${SECRET_ACCESS_KEY}`,
          overrides: { containerOverrides: [{ environment: [{ name: 'DB', value: SECRET_STRING }] }] },
        },
      },
      // A mapped alarm whose reason quotes a secret (it becomes the scale-out's reason) and an
      // unmapped one named like a key (the remediation's execution name is made from it).
      alarm('web-api-requests-per-target-high', `spike; leaked ${SECRET_STRING} and ${ACCESS_KEY_ID}`),
      alarm(ACCESS_KEY_ID, `token ${SESSION_TOKEN}`),
    ]);
    // Straight onto the spot queue: bodies EventBridge would never deliver.
    await enqueueRaw(world.stack, [
      {
        'detail-type': 'EC2 Spot Instance Interruption Warning',
        source: 'aws.ec2',
        detail: { 'instance-id': CREDENTIALS },
      },
      `SecretString=${SECRET_STRING}`,
      { 'detail-type': SECRET_ACCESS_KEY, source: 'aws.ec2' },
    ]);
    const processed = await harness.process();
    expect(processed.failed).toBeGreaterThan(0);

    const clock = new VirtualClock();
    const seen = new Set<string>();
    const scaled = await runStartedExecutions(world.stack, 'scale-service', seen, { clock });
    expect(scaled.length).toBeGreaterThan(0);
    await runStartedExecutions(world.stack, 'remediate-alarm', seen, { clock });

    // Console inputs: a reason an operator pasted a key into, and credentials as bad values.
    await putCpuAlarm(awsClient(CloudWatchClient), 'web-api-cpu-high');
    const runs = [
      await runDeployedWorkflow(
        world.stack,
        'scale-service',
        {
          cluster: 'web',
          service: 'api',
          desiredCount: 4,
          dryRun: true,
          reason: `rotate ${ACCESS_KEY_ID} / ${SECRET_ACCESS_KEY}`,
        },
        { clock },
      ),
      await runDeployedWorkflow(
        world.stack,
        'scale-service',
        { cluster: 'web', service: SECRET_ACCESS_KEY, desiredCount: 4, reason: 'who is this' },
        { clock },
      ),
      await runDeployedWorkflow(
        world.stack,
        'remediate-alarm',
        { alarmName: 'web-api-cpu-high', dryRun: true, reason: `db creds ${SECRET_STRING}` },
        { clock },
      ),
      await runDeployedWorkflow(
        world.stack,
        'spot-surge',
        {
          cluster: 'web',
          instances: [{ instanceId: ACCESS_KEY_ID, containerInstanceArn: 'arn:x' }],
          replacements: 1,
        },
        { clock },
      ),
      await runDeployedWorkflow(
        world.stack,
        'blue-green-rollout',
        {
          cluster: 'web',
          service: 'api',
          image: SECRET_STRING,
          taskDefinition: 'x',
          strategy: { type: 'all-at-once' },
        },
        { clock },
      ),
    ];
    expect(runs.map((r) => r.status)).toEqual(['SUCCEEDED', 'FAILED', 'SUCCEEDED', 'FAILED', 'FAILED']);

    const logs = lines.join('');
    // The logger was on and the paths that quote bad values ran.
    expect(logs).toContain('Rejected malformed event');
    expect(logs).toContain('Scale step');
    expect(logs).toContain('Remediation step');
    const leaks = logs.split('\n').flatMap((line) =>
      Object.entries(SECRETS)
        .filter(([, value]) => line.includes(value))
        .map(([name]) => `${name}: ${line.slice(0, 400)}`),
    );
    expect(leaks).toEqual([]);
    // They did reach the logger, and were redacted there.
    expect(logs).toContain(redacted);
  });
});
