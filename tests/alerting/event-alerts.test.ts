// The events operators expect, end to end on the emulator: AWS's own sample events (events/samples/aws,
// each from its documentation page) put on the bus, the stack's rules, the event-alerts queue and
// function, the alert router, and the topics' subscribers. Each event becomes one alert naming the
// resources, the cause and a next step; events outside the managed estate reach nobody; the alarms
// on the control plane itself come through the router, and those on the alert path do not.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GetQueueAttributesCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { beforeEach, describe, expect, it } from 'vitest';
import { lastResortAlarmPrefix, routedAlarmPrefix } from '../../events/operator-events.ts';
import { InvalidInputError } from '../../functions/shared/errors.ts';
import type { ReceivedAlert } from '../../local/control-plane.ts';
import type { DeployedStack } from '../../local/deploy.ts';
import { localFunction } from '../../local/lambda-host.ts';
import { observerClient } from '../../local/observer.ts';
import { REPO_ROOT } from '../../local/python-env.ts';
import { putEvents } from '../../local/spot-harness.ts';
import { useAlertWorld } from './world.ts';

type Event = Record<string, unknown> & { detail: Record<string, unknown>; resources: string[] };

/** An AWS sample event, moved into the emulator's account and region and the managed `web` cluster. */
function sample(stack: DeployedStack, name: string): Event {
  const text = readFileSync(join(REPO_ROOT, 'events/samples/aws', `${name}.json`), 'utf8')
    .replace(/arn:aws:ecs:[a-z0-9-]+:\d{12}:/g, `arn:aws:ecs:${stack.region}:${stack.accountId}:`)
    .replace(/(cluster|service)\/default\b/g, '$1/web')
    .replace(/service\/web\/servicetest/g, 'service/web/api');
  const event = JSON.parse(text) as Event;
  return { ...event, account: stack.accountId, region: stack.region, time: new Date().toISOString() };
}

const alarmEvent = (
  stack: DeployedStack,
  name: string,
  state: 'ALARM' | 'OK',
  description: string,
): Event => {
  const event = sample(stack, 'cloudwatch-alarm-state-change');
  const arn = `arn:aws:cloudwatch:${stack.region}:${stack.accountId}:alarm:${name}`;
  const detail = event.detail as {
    alarmName: string;
    configuration: { description: string; metrics: { metricStat: { metric: Record<string, unknown> } }[] };
    state: Record<string, unknown>;
    previousState: Record<string, unknown>;
  };
  detail.alarmName = name;
  detail.configuration.description = description;
  const metric = detail.configuration.metrics[0]?.metricStat.metric as Record<string, unknown>;
  Object.assign(metric, {
    namespace: 'AWS/Lambda',
    name: 'Errors',
    dimensions: { FunctionName: 'rollout-step-fn' },
  });
  detail.state.value = state;
  detail.state.timestamp = new Date().toISOString();
  detail.previousState.value = state === 'OK' ? 'ALARM' : 'OK';
  return { ...event, resources: [arn] };
};

describe('the events operators expect, as alerts', () => {
  const world = useAlertWorld();
  const prefix = 'ecs-ops-local';

  /** Puts the events on the bus, lets every event source run, and returns what subscribers got. */
  const deliver = async (...events: Event[]): Promise<ReceivedAlert[]> => {
    await putEvents(events);
    await world.route();
    return world.published();
  };

  beforeEach(async () => {
    await world.clear();
  });

  it('a failed ECS deployment of a managed service: one critical alert with the service, the deployment and the cause', async () => {
    const got = await deliver(sample(world.stack, 'ecs-deployment-state-change-failed'));
    expect(got).toHaveLength(1);
    const [a] = got as [ReceivedAlert];
    expect(a.severity).toBe('critical');
    expect(a.alert).toMatchObject({
      kind: 'ecs-deployment-failed',
      cluster: 'web',
      service: 'api',
      state: 'firing',
    });
    expect(a.alert.resources).toEqual([
      `arn:aws:ecs:${world.stack.region}:${world.stack.accountId}:service/web/api`,
      'ecs-svc/123',
    ]);
    expect(a.alert.whatHappened).toContain('ECS deployment circuit breaker: task failed to start.');
    expect((a.alert.nextSteps as string[])[0]).toContain('--desired-status STOPPED');
  });

  it('a task placement failure (service action, ERROR): one critical alert naming the capacity provider and the reason; ECS repeating it is one episode', async () => {
    const event = sample(world.stack, 'ecs-service-action-task-placement-failure');
    const again = {
      ...event,
      id: 'repeat-of-placement-failure',
      time: new Date(Date.now() + 60_000).toISOString(),
    };
    const got = await deliver(event, again);
    expect(got).toHaveLength(1);
    const [a] = got as [ReceivedAlert];
    expect(a.severity).toBe('critical');
    expect(a.alert).toMatchObject({ kind: 'ecs-service-action', cluster: 'web', service: 'api' });
    expect(a.alert.title).toContain('SERVICE_TASK_PLACEMENT_FAILURE');
    expect(a.alert.summary).toContain('RESOURCE:FARGATE');
    expect(a.alert.resources).toContain(
      `arn:aws:ecs:${world.stack.region}:${world.stack.accountId}:capacity-provider/FARGATE_SPOT`,
    );
    expect((a.alert.nextSteps as string[])[0]).toMatch(/add capacity/);
  });

  it('AWS Health: an ECS scheduled change warns with the affected tasks; an EC2 issue pages, and its close resolves it', async () => {
    const ecs = sample(world.stack, 'aws-health-ecs-scheduled-change');
    ecs.detail.eventRegion = world.stack.region;
    const ec2 = sample(world.stack, 'aws-health-ec2-issue-account-specific');
    ec2.detail.eventRegion = world.stack.region;
    const got = await deliver(ecs, ec2);
    expect(got.map((a) => [a.severity, a.alert.kind, a.alert.state]).sort()).toEqual([
      ['critical', 'aws-health', 'firing'],
      ['warning', 'aws-health', 'firing'],
    ]);
    const scheduled = got.find((a) => a.severity === 'warning') as ReceivedAlert;
    expect(scheduled.alert.title).toContain('AWS_ECS_TASK_PATCHING_RETIREMENT');
    expect(scheduled.alert.resources).toContain(
      `arn:aws:ecs:${world.stack.region}:${world.stack.accountId}:task/examplecluster/00805ce1d81940b5a37398e5a2c23333`,
    );
    expect(scheduled.alert.whatHappened).toContain('software update has been deployed to Fargate');
    const issue = got.find((a) => a.severity === 'critical') as ReceivedAlert;
    expect(issue.alert.resources).toContain('i-abcd1111');

    const closed = { ...ec2, id: 'closed', detail: { ...ec2.detail, statusCode: 'closed' } };
    const resolved = await deliver(closed);
    expect(resolved.map((a) => [a.severity, a.alert.state, a.alert.dedupKey])).toEqual([
      ['critical', 'resolved', issue.alert.dedupKey],
    ]);
  });

  it('an Auto Scaling launch failure of the on-demand fallback group pages, with the zone, subnet and cause', async () => {
    const event = sample(world.stack, 'autoscaling-launch-unsuccessful');
    event.detail.AutoScalingGroupName = 'web-on-demand';
    // A launch a scaling alarm asked for names the alarm: not a string, and still one alert.
    (event.detail.Details as Record<string, unknown>).InvokingAlarms = [{ AlarmName: 'web-capacity-low' }];
    event.detail.StatusMessage =
      'We currently do not have sufficient m5.large capacity in the Availability Zone you requested (us-west-2b).';
    const got = await deliver(event);
    expect(got).toHaveLength(1);
    const [a] = got as [ReceivedAlert];
    expect(a.severity).toBe('critical');
    expect(a.alert).toMatchObject({
      kind: 'asg-launch-failed',
      counts: { 'availability zone': { 'us-west-2b': 1 } },
    });
    expect(a.alert.resources).toEqual([
      'web-on-demand',
      'subnet-12345678',
      '87654321-4321-4321-4321-210987654321',
    ]);
    expect(a.alert.whatWeDid).toContain('on-demand fallback');
    expect((a.alert.nextSteps as string[])[0]).toMatch(/^Insufficient capacity/);

    // The spot group failing is a warning: the on-demand group is still there.
    const spot = sample(world.stack, 'autoscaling-launch-unsuccessful');
    spot.detail.AutoScalingGroupName = 'web-spot';
    expect((await deliver(spot)).map((x) => x.severity)).toEqual(['warning']);
  });

  it('reaches nobody for what is outside the managed estate or needs no one', async () => {
    const s = world.stack;
    const otherCluster = sample(s, 'ecs-deployment-state-change-failed');
    otherCluster.resources = [`arn:aws:ecs:${s.region}:${s.accountId}:service/batch/worker`];
    const steady = sample(s, 'ecs-service-action-task-placement-failure');
    steady.detail = { ...steady.detail, eventType: 'INFO', eventName: 'SERVICE_STEADY_STATE' };
    // ECS reports a failed deployment as a service action too: the deployment rule alerts on it once.
    const failedAsAction = sample(s, 'ecs-service-action-task-placement-failure');
    failedAsAction.detail = { ...failedAsAction.detail, eventName: 'SERVICE_DEPLOYMENT_FAILED' };
    const otherGroup = sample(s, 'autoscaling-launch-unsuccessful');
    otherGroup.detail.AutoScalingGroupName = 'someone-elses-asg';
    const rds = sample(s, 'aws-health-ec2-issue');
    rds.detail.service = 'RDS';
    // AWS Health's backup copy of another region's event: that region's own stack alerts on it.
    const backup = sample(s, 'aws-health-ec2-issue-account-specific');
    backup.detail.eventRegion = 'ap-southeast-2';
    const alertPathAlarm = alarmEvent(
      s,
      `${lastResortAlarmPrefix(prefix)}alerting-router-errors`,
      'ALARM',
      '[critical] The alerting-router function failed',
    );
    const applicationAlarm = alarmEvent(s, `${prefix}-api-blue-5xx`, 'ALARM', '[critical] 5xx');
    expect(
      await deliver(
        otherCluster,
        steady,
        failedAsAction,
        otherGroup,
        rds,
        backup,
        alertPathAlarm,
        applicationAlarm,
      ),
    ).toEqual([]);
    // Delivered to the function, the backup was judged and left alone; the rest never came.
    expect(await deadLettered(s)).toBe(0);
  });

  it('an alarm on the control plane comes through the router: a warning on ALARM, resolved on OK, not also to the runbooks', async () => {
    const name = `${routedAlarmPrefix(prefix)}rollouts-step-errors`;
    const firing = await deliver(
      alarmEvent(world.stack, name, 'ALARM', '[warning] The rollouts-step function failed'),
    );
    expect(firing).toHaveLength(1);
    const [a] = firing as [ReceivedAlert];
    expect(a.severity).toBe('warning');
    expect(a.alert).toMatchObject({
      kind: 'control-plane-health',
      state: 'firing',
      dedupKey: `alarm:${name}`,
    });
    expect(a.alert.title).toBe('Control plane: The rollouts-step function failed');
    expect(a.alert.resources).toEqual([
      `arn:aws:cloudwatch:${world.stack.region}:${world.stack.accountId}:alarm:${name}`,
      'rollout-step-fn',
    ]);
    expect((a.alert.nextSteps as string[])[0]).toContain('log group');
    const ok = await deliver(
      alarmEvent(world.stack, name, 'OK', '[warning] The rollouts-step function failed'),
    );
    expect(ok.map((x) => [x.severity, x.alert.state])).toEqual([['warning', 'resolved']]);
    // The remediation rule leaves the control plane's alarms alone: no "no runbook" notice came.
    expect([...firing, ...ok].map((x) => x.alert.kind)).not.toContain('remediation-unknown-alarm');
  });

  it('a malformed event names its field when invoked directly, and through the queue ends in the DLQ, alerting nobody', async () => {
    const bad = sample(world.stack, 'ecs-service-action-task-placement-failure');
    delete bad.detail.clusterArn;
    const fn = await localFunction(world.stack, 'event-alerts');
    const error = await fn.invoke(bad).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as Error).message).toContain('detail.clusterArn');

    const mapping = world.stack.eventSourceMappings.find((m) => m.functionName === 'event-alerts');
    await observerClient(SQSClient).send(
      new SendMessageCommand({ QueueUrl: mapping?.queueUrl, MessageBody: JSON.stringify(bad) }),
    );
    for (let i = 0; i < 4; i++) await world.route();
    expect(await world.published()).toEqual([]);
    expect(await deadLettered(world.stack)).toBe(1);
  });
});

/** Messages in the event-alerts queue's dead-letter queue (found from the queue's redrive policy). */
async function deadLettered(stack: DeployedStack): Promise<number> {
  const sqs = observerClient(SQSClient);
  const mapping = stack.eventSourceMappings.find((m) => m.functionName === 'event-alerts');
  const attrs = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: mapping?.queueUrl, AttributeNames: ['RedrivePolicy'] }),
  );
  const dlqArn = JSON.parse(attrs.Attributes?.RedrivePolicy ?? '{}').deadLetterTargetArn as string;
  const dlq = Object.values(stack.resources).find((r) => r.Arn === dlqArn);
  if (!dlq) throw new Error(`no dead-letter queue ${dlqArn}`);
  const depth = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: String(dlq.QueueUrl ?? dlq.ref),
      AttributeNames: ['ApproximateNumberOfMessages'],
    }),
  );
  return Number(depth.Attributes?.ApproximateNumberOfMessages ?? 0);
}
