// What each AWS event operators expect becomes: one alert, with the resources named, the cause,
// and the next step. No I/O: the batch (process-batch.ts) parses the event and raises the alert.
import type { AlarmStateChange } from '../../events/alarm-state-change.ts';
import type {
  AsgLaunchUnsuccessful,
  AwsHealthEvent,
  EcsDeploymentFailed,
  EcsServiceAction,
} from '../../events/operator-events.ts';
import { type Alert, consoleLinks, type Severity } from '../shared/alerts.ts';
import { clusterNameOfArn, serviceOfArn } from '../shared/ecs-arns.ts';

/** What the rules know beyond the event. */
export interface AlertContext {
  region: string | undefined;
  /** Auto Scaling groups that are the on-demand fallback of a managed cluster. */
  onDemandGroups: ReadonlySet<string>;
}

/** Nothing was done automatically: these events are for people. */
const NOTHING_DONE = 'Nothing automatic: the control plane reports this event and takes no action on it.';

function serviceOf(resources: readonly string[]): { cluster?: string; service?: string } {
  for (const arn of resources) {
    const found = serviceOfArn(arn);
    if (found) return found;
  }
  return {};
}

export function ecsDeploymentFailedAlert(event: EcsDeploymentFailed, ctx: AlertContext): Alert {
  const { cluster, service } = serviceOf(event.resources);
  const where = service ? `${cluster}/${service}` : (event.resources[0] ?? 'a service');
  const reason = event.detail.reason || 'ECS gave no reason';
  const circuitBreaker = /circuit breaker/i.test(reason);
  return {
    severity: 'critical',
    state: 'firing',
    kind: 'ecs-deployment-failed',
    ...(cluster ? { cluster } : {}),
    ...(service ? { service } : {}),
    title: `ECS deployment failed: ${where}`,
    summary: `Deployment ${event.detail.deploymentId} of ${where} failed: ${reason}`,
    resources: [...event.resources, event.detail.deploymentId],
    whatHappened: circuitBreaker
      ? `The deployment circuit breaker stopped deployment ${event.detail.deploymentId}: ${reason} With rollback on, ECS now rolls the service back to its last completed deployment; without it the service stays on the failed deployment.`
      : `ECS reports deployment ${event.detail.deploymentId} failed: ${reason}`,
    whatWeDid: NOTHING_DONE,
    nextSteps: [
      `Why the tasks stopped: aws ecs list-tasks --cluster ${cluster ?? '<cluster>'} --service-name ${service ?? '<service>'} --desired-status STOPPED, then aws ecs describe-tasks for their stoppedReason`,
      `The service's events: aws ecs describe-services --cluster ${cluster ?? '<cluster>'} --services ${service ?? '<service>'} --query 'services[0].events[:10]'`,
      'Fix the task definition or image, then roll forward with ops rollout',
    ],
    dedupKey: `ecs-deployment-failed:${where}:${event.detail.deploymentId}`,
    links: consoleLinks(ctx.region, { ...(cluster ? { cluster } : {}), ...(service ? { service } : {}) }),
    at: event.time,
  };
}

/** What a person does about a service action, by the names ECS documents. */
const SERVICE_ACTION_STEPS: Record<string, string> = {
  SERVICE_TASK_PLACEMENT_FAILURE:
    'No container instance fits the task (the reason says which resource): add capacity, or check the capacity providers and placement constraints',
  SERVICE_TASK_CONFIGURATION_FAILURE:
    'The task cannot start as configured (missing role, secret, image or subnet): fix the task definition or the service network configuration',
  SERVICE_DAEMON_PLACEMENT_CONSTRAINT_VIOLATED:
    'A daemon task violates its placement constraints: check the constraints and the container instances',
  ECS_OPERATION_THROTTLED:
    'ECS throttled the service scheduler: look for clients calling ECS in a loop; it clears when they slow down',
  SERVICE_DISCOVERY_OPERATION_THROTTLED:
    'Cloud Map throttled service discovery: look for clients calling Cloud Map in a loop',
  SERVICE_TASK_START_IMPAIRED:
    'Tasks keep failing to start: read the stopped tasks’ stoppedReason and the service events',
  SERVICE_DISCOVERY_INSTANCE_UNHEALTHY:
    'A task registered in Cloud Map fails its health check: check the task and its health check',
  VPC_LATTICE_TARGET_UNHEALTHY:
    'A task registered with VPC Lattice fails its health check: check the task and the target group health check',
  SERVICE_HEALTH_UNKNOWN:
    'ECS cannot tell whether the service is healthy: check its load balancer and health checks, and the service events',
};

export function ecsServiceActionAlert(event: EcsServiceAction, ctx: AlertContext): Alert {
  const found = serviceOf(event.resources);
  const cluster = found.cluster ?? clusterNameOfArn(event.detail.clusterArn);
  const service = found.service;
  const where = service ? `${cluster}/${service}` : cluster;
  const { eventName, eventType } = event.detail;
  const reason = event.detail.reason ? `: ${event.detail.reason}` : '';
  const resources = [
    ...event.resources,
    ...(event.detail.capacityProviderArns ?? []),
    ...(event.detail.containerInstanceArns ?? []),
    ...(event.detail.targets ?? []).filter((t): t is string => typeof t === 'string'),
  ];
  return {
    severity: eventType === 'ERROR' ? 'critical' : 'warning',
    state: 'firing',
    kind: 'ecs-service-action',
    cluster,
    ...(service ? { service } : {}),
    title: `ECS ${eventType === 'ERROR' ? 'error' : 'warning'} ${eventName}: ${where}`,
    summary: `ECS reports ${eventName} for ${where}${reason}`,
    resources,
    whatHappened: `ECS emitted a service action event of type ${eventType}, ${eventName}, for ${where}${reason}.`,
    whatWeDid: NOTHING_DONE,
    nextSteps: [
      SERVICE_ACTION_STEPS[eventName] ??
        `Look up ${eventName} in the ECS service action events documentation`,
      `The service's events: aws ecs describe-services --cluster ${cluster} --services ${service ?? '<service>'} --query 'services[0].events[:10]'`,
    ],
    // ECS repeats these while the condition lasts: one episode per service and event name.
    dedupKey: `ecs-service-action:${where}:${eventName}`,
    links: consoleLinks(ctx.region, { cluster, ...(service ? { service } : {}) }),
    at: event.time,
  };
}

const HEALTH_SEVERITY: Record<AwsHealthEvent['detail']['eventTypeCategory'], Severity> = {
  issue: 'critical',
  investigation: 'warning',
  scheduledChange: 'warning',
  accountNotification: 'info',
};

export function awsHealthAlert(event: AwsHealthEvent, ctx: AlertContext): Alert | undefined {
  const d = event.detail;
  // AWS Health also delivers each event as a backup in a second region: only this region's (or a
  // global) event is news here, and its primary copy comes to its own region's stack.
  if (ctx.region && d.eventRegion && d.eventRegion !== ctx.region && d.eventRegion !== 'global')
    return undefined;
  const description =
    d.eventDescription.find((e) => e.language?.startsWith('en'))?.latestDescription ??
    d.eventDescription[0]?.latestDescription ??
    '';
  const entities = d.affectedEntities.map((e) => e.entityValue);
  const closed = d.statusCode === 'closed';
  const when = [d.startTime ? `from ${d.startTime}` : '', d.endTime ? `until ${d.endTime}` : '']
    .filter(Boolean)
    .join(' ');
  // Health splits a long entity list over pages with one eventArn: the first page to arrive speaks.
  const paged =
    Number(d.totalPages ?? '1') > 1
      ? ` (page ${d.page ?? '?'} of ${d.totalPages}; the Health Dashboard has the full list)`
      : '';
  const affected =
    entities.length > 0
      ? ` Affected: ${entities.slice(0, 10).join(', ')}${entities.length > 10 ? ` and ${entities.length - 10} more` : ''}.`
      : '';
  return {
    severity: HEALTH_SEVERITY[d.eventTypeCategory],
    // Health sends the same event again as it is updated, and once more when it closes.
    state: closed ? 'resolved' : 'firing',
    kind: 'aws-health',
    title: `AWS Health ${d.service}: ${d.eventTypeCode}${closed ? ' (closed)' : ''}`,
    summary: `${d.eventTypeCategory} ${d.eventTypeCode} for ${d.service}${d.eventRegion ? ` in ${d.eventRegion}` : ''}${when ? ` ${when}` : ''}, ${entities.length} affected resource(s)${paged}`,
    resources: [d.eventArn, ...entities],
    whatHappened: `${description || `AWS Health reports ${d.eventTypeCode}.`}${affected}`,
    whatWeDid: NOTHING_DONE,
    nextSteps: [
      `Read the event in the AWS Health Dashboard: aws health describe-event-details --event-arns ${d.eventArn}`,
      d.eventTypeCategory === 'scheduledChange'
        ? 'Scheduled: replace or drain the affected instances or tasks before it starts (ops scale, or let the spot handling drain them)'
        : 'Check whether the affected resources serve the managed services (ops status), and move work away from them if they do',
    ],
    dedupKey: `aws-health:${d.eventArn}`,
    links: {
      'AWS Health Dashboard': 'https://health.aws.amazon.com/health/home',
    },
    at: event.time,
  };
}

export function asgLaunchUnsuccessfulAlert(event: AsgLaunchUnsuccessful, ctx: AlertContext): Alert {
  const d = event.detail;
  const group = d.AutoScalingGroupName;
  const text = (value: unknown) => (typeof value === 'string' && value ? value : undefined);
  const zone = text(d.Details['Availability Zone']);
  const subnet = text(d.Details['Subnet ID']);
  // The on-demand group is the fallback when spot is reclaimed: failing there leaves no fallback.
  const fallback = ctx.onDemandGroups.has(group);
  const cause = d.StatusMessage || d.Cause || d.Description || 'Auto Scaling gave no cause';
  return {
    severity: fallback ? 'critical' : 'warning',
    state: 'firing',
    kind: 'asg-launch-failed',
    title: `Auto Scaling could not launch an instance: ${group}${zone ? ` in ${zone}` : ''}`,
    summary: `${group} failed to launch an instance${zone ? ` in ${zone}` : ''}: ${cause}`,
    resources: [group, ...(subnet ? [subnet] : []), ...(d.ActivityId ? [d.ActivityId] : [])],
    whatHappened: `${d.Description ? `${d.Description}. ` : ''}${cause}${d.Cause && d.Cause !== cause ? ` (${d.Cause})` : ''}`,
    whatWeDid: fallback
      ? `${NOTHING_DONE} This group is a cluster's on-demand fallback: while it cannot launch, reclaimed spot capacity is not replaced.`
      : NOTHING_DONE,
    nextSteps: [
      /InsufficientInstanceCapacity|capacity/i.test(cause)
        ? 'Insufficient capacity: add instance types or availability zones to the group (a mixed instances policy), or wait for capacity'
        : 'Read the cause: a launch template, quota (vCPU limit), subnet or IAM problem must be fixed before the group can launch',
      `The group's activity: aws autoscaling describe-scaling-activities --auto-scaling-group-name ${group} --max-items 10`,
    ],
    dedupKey: `asg-launch-failed:${group}`,
    ...(zone ? { counts: { 'availability zone': { [zone]: 1 } } } : {}),
    links: ctx.region
      ? {
          'Auto Scaling group': `https://${ctx.region}.console.aws.amazon.com/ec2/home?region=${ctx.region}#AutoScalingGroupDetails:id=${encodeURIComponent(group)};view=activity`,
        }
      : {},
    at: event.time,
  };
}

/** What to do about an alarm on the control plane itself, by what its name says it watches. */
function alarmSteps(alarmName: string): string[] {
  if (alarmName.endsWith('-failed')) {
    return [
      'Find the failed, timed-out or aborted execution in the Step Functions console (link) or with aws stepfunctions list-executions --status-filter FAILED; its last event says why',
      'ops status shows what is still in flight',
    ];
  }
  if (alarmName.endsWith('-not-empty')) {
    return [
      'Work failed and waits in a dead-letter queue: read the failing function’s logs for why',
      'Once fixed, redrive it: aws sqs start-message-move-task --source-arn <the queue ARN>',
    ];
  }
  if (alarmName.endsWith('-throttles')) {
    return [
      'Lambda throttled the function: check the account’s unreserved concurrency (aws lambda get-account-settings) and what else runs in the account',
    ];
  }
  if (alarmName.endsWith('-errors')) {
    return [
      'Read the function’s errors: its log group in CloudWatch Logs, filtered on level ERROR',
      'Events it failed on are retried, then kept in its dead-letter queue for a redrive',
    ];
  }
  return ['Open the alarm (link) and its metric'];
}

/** An alarm on the control plane's own health, firing on ALARM and resolved on OK. */
export function controlPlaneAlarmAlert(event: AlarmStateChange, ctx: AlertContext): Alert | undefined {
  const d = event.detail;
  if (d.state.value === 'INSUFFICIENT_DATA') return undefined;
  const description = d.configuration?.description ?? '';
  // The Alarms construct starts each description with its severity: "[critical] ...".
  const severity: Severity = /^\[critical\]/.test(description) ? 'critical' : 'warning';
  const what = description.replace(/^\[(critical|warning)\]\s*/, '') || d.alarmName;
  const firing = d.state.value === 'ALARM';
  return {
    severity,
    state: firing ? 'firing' : 'resolved',
    kind: 'control-plane-health',
    title: `${firing ? 'Control plane' : 'Resolved, control plane'}: ${what}`,
    summary: `${d.alarmName} is ${d.state.value}: ${d.state.reason}`,
    resources: [...event.resources, ...dimensionValues(d.configuration)],
    whatHappened: `${what}. ${d.state.reason}`,
    whatWeDid: NOTHING_DONE,
    nextSteps: alarmSteps(d.alarmName),
    dedupKey: `alarm:${d.alarmName}`,
    links: consoleLinks(ctx.region, { alarmName: d.alarmName }),
    at: event.time,
  };
}

/** The resources the alarm's metrics name (function, state machine, queue), from its configuration. */
function dimensionValues(configuration: unknown): string[] {
  const metrics = (configuration as { metrics?: unknown } | undefined)?.metrics;
  if (!Array.isArray(metrics)) return [];
  const values = new Set<string>();
  for (const m of metrics) {
    const dimensions = (m as { metricStat?: { metric?: { dimensions?: unknown } } })?.metricStat?.metric
      ?.dimensions;
    if (dimensions && typeof dimensions === 'object') {
      for (const v of Object.values(dimensions)) if (typeof v === 'string') values.add(v);
    }
  }
  return [...values];
}
