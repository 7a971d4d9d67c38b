// Scaling: the scale-service workflow and its decision step, the scheduled runs from config
// (EventBridge Scheduler, one schedule per entry, in its own time zone), and fast alarm-driven
// scale-out (mapped alarms entering ALARM -> EventBridge rule -> queue -> scale-alarm function ->
// the workflow, with a step computed from the alarm's datapoint). The guardrails come from
// config/scaling/<environment>.json; the construct is composed only where that file exists.
import { Duration, Stack, TimeZone, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { alarmScaleOutPattern } from '../../../events/alarm-scale-out.ts';
import { ScaleInputSchema } from '../../../events/scale-input.ts';
import type { ScaleAlarmEnvInput } from '../../../functions/scale-alarm/config.ts';
import type { ScaleStepEnvInput } from '../../../functions/scale-service-step/config.ts';
import {
  alarmMappingsOf,
  guardrailsOf,
  type ScaledService,
  type ScalingSchedule,
} from '../../../functions/scale-service-step/scaling-config.ts';
import type { FreezeWindow } from '../../../functions/shared/freeze-windows.ts';
import type { ManagedCluster } from '../../../functions/shared/managed-clusters.ts';
import { ScaleServiceWorkflow } from '../../../workflows/scale-service.ts';
import { ConfigError } from '../../config.ts';
import { standaloneDeadLetterQueue } from '../../shared/dead-letter-queue.ts';
import { acknowledgeWildcardResources } from '../../shared/nag-findings.ts';
import { SCALING_OUTPUTS } from '../../shared/stack-outputs.ts';
import type { AlertTopics } from '../alerting/alert-topics.ts';
import type { Alerting } from '../alerting/alerting.ts';
import { BundledFunction, lambdaEnvironment } from '../shared/bundled-function.ts';
import {
  consumeQueue,
  EVENT_SOURCE_MAX_CONCURRENCY,
  eventQueue,
  routeEventsToQueue,
} from '../shared/event-queue.ts';
import {
  autoScalingGroupArn,
  containerInstancesArn,
  ecsClusterArn,
  ecsServiceArn,
} from '../shared/resource-arns.ts';
import { stableOutput } from '../shared/stable-output.ts';
import { SHARED_TABLE_ACCESS as SHARED, type StateTables } from '../shared/state-tables.ts';

export { loadScalingConfig, SCALING_CONFIG_DIR } from '../../capability-configs.ts';

export interface ScalingProps {
  readonly services: readonly ScaledService[];
  /** Scaled services must run in managed clusters: their Auto Scaling groups are the EC2 capacity. */
  readonly managedClusters: readonly ManagedCluster[];
  readonly tables: StateTables;
  /** Its key encrypts the alarm queue (EventBridge must be able to use it). */
  readonly topics: AlertTopics;
  readonly alerting: Alerting;
  readonly environmentName: string;
  /** Scale-in is refused inside these (config/freezes/<env>.json). */
  readonly freezeWindows?: readonly FreezeWindow[];
  readonly assetRoot?: string;
}

/** Alarm events are few and urgent: no batching window. */
export const SCALE_ALARM_BATCH = { batchSize: 10, maxConcurrency: EVENT_SOURCE_MAX_CONCURRENCY } as const;
export const SCALE_ALARM_MAX_RECEIVE_COUNT = 3;
const ALARM_TIMEOUT = Duration.seconds(30);

export class Scaling extends Construct {
  readonly stepFunction: BundledFunction;
  readonly alarmFunction: BundledFunction;
  readonly workflow: ScaleServiceWorkflow;
  readonly alarmQueue: sqs.Queue;
  readonly alarmQueueDlq: sqs.Queue;
  readonly deliveryDlq: sqs.Queue;
  readonly alarmRule?: events.Rule;
  readonly alarms: cloudwatch.Alarm[] = [];
  readonly schedules: scheduler.Schedule[] = [];

  constructor(scope: Construct, id: string, props: ScalingProps) {
    super(scope, id);
    const stack = Stack.of(this);
    for (const [i, s] of props.services.entries()) {
      if (!props.managedClusters.some((c) => c.name === s.cluster)) {
        throw new ConfigError(`config/scaling/${props.environmentName}.json`, [
          {
            key: `services.${i}.cluster`,
            message: `${s.cluster} is not a managed cluster (${props.managedClusters.map((c) => c.name).join(', ')})`,
          },
        ]);
      }
    }
    const clusters = [...new Set(props.services.map((s) => s.cluster))];
    const clusterArns = clusters.map((c) => ecsClusterArn(stack, c));
    const serviceArns = props.services.map((s) => ecsServiceArn(stack, s.cluster, s.service));
    const containerInstanceArns = clusters.map((c) => containerInstancesArn(stack, c));
    const groupArns = capacityGroupNames(props.services, props.managedClusters).map((name) =>
      autoScalingGroupArn(stack, name),
    );

    const sharedEnv = {
      ...props.tables.environment(),
      ...props.alerting.producerEnvironment(),
      OPS_ENVIRONMENT: props.environmentName,
    };
    const stepEnv: ScaleStepEnvInput = {
      ...sharedEnv,
      MANAGED_CLUSTERS: JSON.stringify(props.managedClusters),
      SCALED_SERVICES: JSON.stringify(props.services.map(guardrailsOf)),
      ...(props.freezeWindows && props.freezeWindows.length > 0
        ? { FREEZE_WINDOWS: JSON.stringify(props.freezeWindows) }
        : {}),
    };
    this.stepFunction = new BundledFunction(this, 'Step', {
      name: 'scale-service-step',
      description: 'Scale-service workflow step: guardrails, capacity, verification, journal and alerts',
      memorySize: 512,
      timeout: Duration.seconds(60),
      environment: lambdaEnvironment(stepEnv),
      assetRoot: props.assetRoot,
    });
    this.workflow = new ScaleServiceWorkflow(this, 'Workflow', {
      stepFunction: this.stepFunction.function,
      serviceArns,
    });
    this.grantStep(this.stepFunction, { clusterArns, serviceArns, containerInstanceArns, groupArns, props });
    this.grantWorkflow(serviceArns);

    // Alarm-driven scale-out: rule -> queue -> function, as the spot events are.
    const alarmEvents = eventQueue(this, {
      key: props.topics.key,
      idPrefix: 'Alarm',
      visibilityTimeout: Duration.seconds(6 * ALARM_TIMEOUT.toSeconds()),
      // An alarm that could not scale out within an hour is stale; the next state change counts.
      retentionPeriod: Duration.hours(1),
      maxReceiveCount: SCALE_ALARM_MAX_RECEIVE_COUNT,
      holds: 'alarm events',
    });
    this.alarmQueue = alarmEvents.queue;
    this.alarmQueueDlq = alarmEvents.queueDlq;
    this.deliveryDlq = alarmEvents.deliveryDlq;

    const mappings = alarmMappingsOf(props.services);
    for (const s of props.services) {
      for (const a of s.alarms) {
        if (!a.create) continue;
        this.alarms.push(
          new cloudwatch.Alarm(this, `Alarm-${s.cluster}-${s.service}-${a.alarmName}`, {
            alarmName: a.alarmName,
            alarmDescription: `ecs-ops ${props.environmentName}: scales ${s.cluster}/${s.service} out at once (scale-alarm)`,
            metric: new cloudwatch.Metric({
              namespace: 'AWS/ECS',
              metricName: a.create.metric,
              dimensionsMap: { ClusterName: s.cluster, ServiceName: s.service },
              statistic: 'Average',
              period: Duration.minutes(1),
            }),
            threshold: a.create.threshold,
            // 1 of 1 one-minute datapoints: fast, where target tracking waits several.
            evaluationPeriods: 1,
            datapointsToAlarm: 1,
            comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
          }),
        );
      }
    }
    if (mappings.length > 0) {
      [this.alarmRule] = routeEventsToQueue(this, alarmEvents, [
        {
          id: 'AlarmRule',
          description: `ecs-ops ${props.environmentName}: mapped alarms entering ALARM -> scale-alarm queue`,
          pattern: alarmScaleOutPattern(mappings.map((m) => m.alarmName)) as events.EventPattern,
        },
      ]);
    }

    const { ALERT_QUEUE_URL: _raisesNoAlerts, ...alarmSharedEnv } = sharedEnv;
    const alarmEnv: ScaleAlarmEnvInput = {
      ...alarmSharedEnv,
      SCALE_ALARMS: JSON.stringify(mappings),
      SCALE_STATE_MACHINE_ARN: this.workflow.stateMachine.stateMachineArn,
    };
    this.alarmFunction = new BundledFunction(this, 'Alarm', {
      name: 'scale-alarm',
      description: 'Mapped alarms entering ALARM: starts the scale-service workflow with a computed step',
      memorySize: 256,
      timeout: ALARM_TIMEOUT,
      environment: lambdaEnvironment(alarmEnv),
      assetRoot: props.assetRoot,
    });
    consumeQueue(
      this.alarmFunction.function,
      this.alarmQueue,
      SCALE_ALARM_BATCH,
      SCALE_ALARM_MAX_RECEIVE_COUNT,
    );
    this.workflow.stateMachine.grantStartExecution(this.alarmFunction.function);
    props.tables.grant(this.alarmFunction.function, SHARED.journal, SHARED.namedExecutions);
    Validations.of(this.alarmFunction.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'xray:PutTraceSegments/PutTelemetryRecords support no resource-level permissions.',
    });

    this.addSchedules(props.services);

    const O = SCALING_OUTPUTS;
    stableOutput(
      this,
      O.scaleStateMachineArn,
      this.workflow.stateMachine.stateMachineArn,
      'Scale-service workflow',
    );
    stableOutput(
      this,
      O.scaleAlarmQueueUrl,
      this.alarmQueue.queueUrl,
      'Alarm events that scale out (EventBridge -> scale-alarm)',
    );
    stableOutput(
      this,
      O.scaleAlarmQueueDlqUrl,
      this.alarmQueueDlq.queueUrl,
      'Alarm events the scale-alarm function failed on',
    );
    stableOutput(
      this,
      O.scaleAlarmDeliveryDlqUrl,
      this.deliveryDlq.queueUrl,
      'Alarm events EventBridge could not deliver',
    );
  }

  /** One EventBridge Scheduler schedule per configured entry, starting the workflow with a fixed input. */
  private addSchedules(services: readonly ScaledService[]): void {
    const entries = services.flatMap((s) => s.schedules.map((schedule) => ({ s, schedule })));
    if (entries.length === 0) return;
    const dlq = standaloneDeadLetterQueue(this, 'ScheduleDlq', 'the scaling schedules');
    for (const { s, schedule } of entries) {
      const input = scheduledInput(s, schedule, scheduler.ContextAttribute.scheduledTime);
      this.schedules.push(
        new scheduler.Schedule(this, `Schedule-${s.cluster}-${s.service}-${schedule.name}`, {
          description: `${s.cluster}/${s.service}: ${schedule.reason}`.slice(0, 512),
          schedule: scheduler.ScheduleExpression.expression(
            schedule.expression,
            TimeZone.of(schedule.timezone),
          ),
          target: new schedulerTargets.StepFunctionsStartExecution(this.workflow.stateMachine, {
            input: scheduler.ScheduleTargetInput.fromObject(input),
            deadLetterQueue: dlq,
            retryAttempts: 3,
            maxEventAge: Duration.hours(1),
          }),
        }),
      );
    }
  }

  private grantStep(
    fn: BundledFunction,
    scope: {
      clusterArns: string[];
      serviceArns: string[];
      containerInstanceArns: string[];
      groupArns: string[];
      props: ScalingProps;
    },
  ): void {
    const add = (sid: string, actions: string[], resources: string[], conditions?: Record<string, unknown>) =>
      fn.role.addToPrincipalPolicy(
        new iam.PolicyStatement({ sid, actions, resources, ...(conditions ? { conditions } : {}) }),
      );
    if (scope.serviceArns.length > 0)
      add('DescribeScaledServices', ['ecs:DescribeServices'], scope.serviceArns);
    if (scope.clusterArns.length > 0) {
      add('ListScaledClusterInstances', ['ecs:ListContainerInstances'], scope.clusterArns);
      add('DescribeScaledClusterInstances', ['ecs:DescribeContainerInstances'], scope.containerInstanceArns, {
        ArnEquals: { 'ecs:cluster': scope.clusterArns },
      });
    }
    if (scope.groupArns.length > 0)
      add('RaiseCapacityGroups', ['autoscaling:SetDesiredCapacity'], scope.groupArns);
    // These support no resource-level permissions (service authorization reference).
    add(
      'DescribeUnscopable',
      [
        'ecs:DescribeTaskDefinition',
        'autoscaling:DescribeAutoScalingGroups',
        'application-autoscaling:DescribeScalableTargets',
      ],
      ['*'],
    );
    // history.ts: the service's scaling history and each request's claim.
    scope.props.tables.grant(fn.function, SHARED.journal, SHARED.leases, SHARED.leaseHolders, {
      operations: ['GetItem', 'PutItem'],
    });
    scope.props.alerting.grantRaise(fn.function);
    acknowledgeWildcardResources(
      fn.role,
      scope.containerInstanceArns,
      'Container instance ids are only known at run time; scoped to the scaled clusters (and ecs:cluster).',
    );
    acknowledgeWildcardResources(
      fn.role,
      scope.groupArns,
      'Auto Scaling group ARNs contain a generated id; scoped to the capacity groups by name.',
    );
    Validations.of(fn.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'ecs:DescribeTaskDefinition, autoscaling:DescribeAutoScalingGroups, application-autoscaling:DescribeScalableTargets and X-Ray support no resource-level permissions.',
    });
  }

  private grantWorkflow(serviceArns: string[]): void {
    const machine = this.workflow.stateMachine;
    const stack = Stack.of(this);
    // RegisterScalableTarget reads the service and, the first time in an account, creates
    // Application Auto Scaling's service-linked role for ECS.
    if (serviceArns.length > 0) {
      machine.addToRolePolicy(
        new iam.PolicyStatement({
          sid: 'ReadScaledServices',
          actions: ['ecs:DescribeServices'],
          resources: serviceArns,
        }),
      );
    }
    machine.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'CreateAutoScalingServiceLinkedRole',
        actions: ['iam:CreateServiceLinkedRole'],
        resources: [
          stack.formatArn({
            service: 'iam',
            region: '',
            resource: 'role',
            resourceName:
              'aws-service-role/ecs.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_ECSService',
          }),
        ],
        conditions: { StringLike: { 'iam:AWSServiceName': 'ecs.application-autoscaling.amazonaws.com' } },
      }),
    );
    acknowledgeWildcardResources(
      machine.role,
      this.workflow.scalableTargetArns,
      'Scalable target ARNs carry a generated id, not a name: granted on this account’s and region’s targets, and denied for anything but an ECS service’s desired count.',
    );
    acknowledgeWildcardResources(
      machine.role,
      [`${this.stepFunction.function.functionArn}:*`],
      'Step Functions may invoke the step function by qualified ARN (version/alias); only that function.',
    );
    Validations.of(machine).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'X-Ray and CloudWatch Logs delivery support no resource-level permissions; the denies on RegisterScalableTarget hold for any resource.',
    });
  }
}

/** The fixed input a schedule starts the workflow with; `scheduledTime` makes each run's request id unique. */
export function scheduledInput(service: ScaledService, schedule: ScalingSchedule, scheduledTime: string) {
  const input = {
    cluster: service.cluster,
    service: service.service,
    ...schedule.set,
    reason: `schedule ${schedule.name}: ${schedule.reason}`,
    requestId: `schedule-${schedule.name}-${scheduledTime}`,
    trigger: { kind: 'schedule', id: schedule.name, at: scheduledTime },
  };
  // Checked at synth with a sample time: a schedule must never start a run that fails validation.
  ScaleInputSchema.parse({
    ...input,
    requestId: `schedule-${schedule.name}-2030-01-01T00:00:00Z`,
    trigger: { ...input.trigger, at: '2030-01-01T00:00:00Z' },
  });
  return input;
}

function capacityGroupNames(
  services: readonly ScaledService[],
  clusters: readonly ManagedCluster[],
): string[] {
  const names = new Set<string>();
  for (const s of services) {
    const cluster = clusters.find((c) => c.name === s.cluster);
    const groups = s.capacityGroups ?? [cluster?.spotAsg, cluster?.onDemandAsg];
    for (const g of groups) if (g) names.add(g);
  }
  return [...names];
}
