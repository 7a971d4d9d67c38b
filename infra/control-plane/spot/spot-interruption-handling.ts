// Spot interruption handling: EventBridge rules (one per pattern from events/patterns.ts)
// feed one encrypted queue; the spot-interruption function consumes it in batches so a
// storm of warnings becomes a few invocations; rebalance recommendations in "surge" mode
// start the surge workflow, whose step function drains once replacements registered.
import { Duration, Stack, Validations } from 'aws-cdk-lib';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { spotInterruptionPatterns } from '../../../events/patterns.ts';
import type { ManagedCluster } from '../../../functions/shared/managed-clusters.ts';
import type { SpotInterruptionEnvInput } from '../../../functions/shared/spot/config.ts';
import type { SpotSurgeEnvInput } from '../../../functions/spot-surge-step/config.ts';
import { SpotSurgeWorkflow } from '../../../workflows/spot-surge.ts';
import { acknowledgeWildcardResources } from '../../shared/nag-findings.ts';
import { SPOT_INTERRUPTION_OUTPUTS } from '../../shared/stack-outputs.ts';
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
  ecsTasksArn,
} from '../shared/resource-arns.ts';
import { stableOutput } from '../shared/stable-output.ts';
import { SHARED_TABLE_ACCESS as SHARED, type StateTables } from '../shared/state-tables.ts';

export interface SpotInterruptionHandlingProps {
  readonly managedClusters: readonly ManagedCluster[];
  readonly tables: StateTables;
  /** Its key encrypts the queues (EventBridge must be able to use it). */
  readonly topics: AlertTopics;
  /** Where the functions raise their alerts. */
  readonly alerting: Alerting;
  /** OPS_ENVIRONMENT of the functions (shown in alerts). */
  readonly environmentName: string;
  /** Override of dist/functions for the bundles (tests). */
  readonly assetRoot?: string;
}

/** The SQS event source's shape: a storm of warnings arrives as a few large batches. */
export const SPOT_BATCH = {
  batchSize: 100,
  maxBatchingWindow: Duration.seconds(2),
  maxConcurrency: EVENT_SOURCE_MAX_CONCURRENCY,
} as const;
/** Receives before a message that keeps failing moves to the queue's DLQ. */
export const SPOT_MAX_RECEIVE_COUNT = 3;

const INTERRUPTION_TIMEOUT = Duration.seconds(60);

export class SpotInterruptionHandling extends Construct {
  readonly queue: sqs.Queue;
  /** Messages the function failed on SPOT_MAX_RECEIVE_COUNT times. */
  readonly queueDlq: sqs.Queue;
  /** Events EventBridge could not deliver into the queue. */
  readonly deliveryDlq: sqs.Queue;
  readonly rules: events.Rule[];
  readonly interruptionFunction: BundledFunction;
  readonly surgeStepFunction: BundledFunction;
  readonly surgeWorkflow: SpotSurgeWorkflow;
  /** ECS cluster ARNs of the managed clusters (rule scope and IAM resources). */
  readonly clusterArns: string[];
  private readonly clusterNames: string[];
  private readonly managedClusters: readonly ManagedCluster[];
  /** The managed spot and on-demand groups by name (their launch failures are remembered). */
  readonly autoScalingGroupNames: string[];
  /** container-instance/<cluster>/* for each managed cluster. */
  readonly containerInstanceArns: string[];
  /** The managed spot and on-demand Auto Scaling groups, by name. */
  readonly asgArns: string[];

  constructor(scope: Construct, id: string, props: SpotInterruptionHandlingProps) {
    super(scope, id);
    if (props.managedClusters.length === 0) {
      throw new Error('SpotInterruptionHandling: managedClusters is empty');
    }
    const stack = Stack.of(this);
    const key = props.topics.key;
    this.managedClusters = props.managedClusters;
    this.clusterNames = props.managedClusters.map((c) => c.name);
    this.clusterArns = this.clusterNames.map((name) => ecsClusterArn(stack, name));
    this.containerInstanceArns = props.managedClusters.map((c) => containerInstancesArn(stack, c.name));
    const groupNames = props.managedClusters.flatMap((c) => [c.spotAsg, c.onDemandAsg]);
    this.autoScalingGroupNames = [...new Set(groupNames.filter((n) => n !== undefined))];
    this.asgArns = this.autoScalingGroupNames.map((name) => autoScalingGroupArn(stack, name));

    const interruptionEvents = eventQueue(this, {
      key,
      visibilityTimeout: Duration.seconds(
        6 * INTERRUPTION_TIMEOUT.toSeconds() + SPOT_BATCH.maxBatchingWindow.toSeconds(),
      ),
      // A two-minute warning is worth nothing after a day; the journal has what happened.
      retentionPeriod: Duration.days(1),
      maxReceiveCount: SPOT_MAX_RECEIVE_COUNT,
      holds: 'events',
    });
    this.queue = interruptionEvents.queue;
    this.queueDlq = interruptionEvents.queueDlq;
    this.deliveryDlq = interruptionEvents.deliveryDlq;
    this.rules = routeEventsToQueue(
      this,
      interruptionEvents,
      Object.entries(spotInterruptionPatterns(this.clusterArns, this.autoScalingGroupNames)).map(
        ([ruleId, pattern]) => ({
          id: ruleId,
          description: `ecs-ops ${props.environmentName}: ${ruleId} -> spot-interruption queue`,
          pattern: pattern as events.EventPattern,
        }),
      ),
    );

    const sharedEnv = {
      ...props.tables.environment(),
      ...props.alerting.producerEnvironment(),
      OPS_ENVIRONMENT: props.environmentName,
      MANAGED_CLUSTERS: JSON.stringify(props.managedClusters),
    };

    const surgeEnv: SpotSurgeEnvInput = sharedEnv;
    this.surgeStepFunction = new BundledFunction(this, 'SurgeStep', {
      name: 'spot-surge-step',
      description: 'Surge workflow step: checks replacement capacity, then drains at-risk instances',
      memorySize: 512,
      timeout: Duration.seconds(30),
      environment: lambdaEnvironment(surgeEnv),
      assetRoot: props.assetRoot,
    });

    this.surgeWorkflow = new SpotSurgeWorkflow(this, 'SurgeWorkflow', {
      stepFunction: this.surgeStepFunction.function,
    });

    const interruptionEnv: SpotInterruptionEnvInput = {
      ...sharedEnv,
      SURGE_STATE_MACHINE_ARN: this.surgeWorkflow.stateMachine.stateMachineArn,
      SPOT_QUEUE_URL: this.queue.queueUrl,
    };
    this.interruptionFunction = new BundledFunction(this, 'Interruption', {
      name: 'spot-interruption',
      description: 'Spot interruption warnings, rebalance recommendations and Fargate Spot stops, in batches',
      // Memory buys CPU for cold starts of the bundled SDK clients during a storm.
      memorySize: 1024,
      timeout: INTERRUPTION_TIMEOUT,
      environment: lambdaEnvironment(interruptionEnv),
      assetRoot: props.assetRoot,
    });
    consumeQueue(this.interruptionFunction.function, this.queue, SPOT_BATCH, SPOT_MAX_RECEIVE_COUNT);

    // Permissions: ECS and Auto Scaling statements scoped to the managed clusters and groups.
    const interruption = this.interruptionFunction;
    const surgeStep = this.surgeStepFunction;
    for (const fn of [interruption, surgeStep]) {
      this.grantDrain(fn);
      props.alerting.grantRaise(fn.function);
      acknowledgeWildcardResources(
        fn.role,
        this.containerInstanceArns,
        'Container instance ids are only known at run time; scoped to the managed clusters (and ecs:cluster).',
      );
    }
    // functions/shared/spot/episodes.ts claims and completes each instance's episode in the operations table, and
    // functions/shared/spot/capacity.ts counts interruptions per minute there, under a lease on the Auto Scaling group.
    // Also its follow-ups' records there (protection.ts, prescale-ledger.ts, follow-ups.ts): the
    // pre-scale ledger is put whole, and capacity failures are remembered (capacity-failures.ts).
    props.tables.grant(interruption.function, SHARED.journal, SHARED.leases, {
      operations: ['GetItem', 'BatchGetItem', 'UpdateItem', 'PutItem'],
    });
    // The surge step reads and closes the episode it watches.
    props.tables.grant(surgeStep.function, SHARED.journal, { operations: ['GetItem', 'UpdateItem'] });
    // Only the interruption function replaces capacity; the surge step only watches ECS.
    this.grantDescribeAutoScalingGroups(interruption);
    this.grantSetDesiredCapacity(interruption);
    this.grantProtectServices(interruption);
    // Follow-ups (give-backs, rebalance rechecks) go back onto its own queue, delayed: SendMessage
    // and the queue key's data keys, no more (grantSendMessages would add kms:ReEncrypt*).
    iam.Grant.addToPrincipal({
      grantee: interruption.function,
      actions: ['sqs:SendMessage'],
      resourceArns: [this.queue.queueArn],
    });
    iam.Grant.addToPrincipal({
      grantee: interruption.function,
      actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
      resourceArns: [key.keyArn],
    });
    this.surgeWorkflow.stateMachine.grantStartExecution(interruption.function);
    Validations.of(surgeStep.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'xray:PutTraceSegments/PutTelemetryRecords support no resource-level permissions.',
    });
    acknowledgeWildcardResources(
      interruption.role,
      this.asgArns,
      'Auto Scaling group ARNs contain a generated id; scoped to the managed groups by name.',
    );
    this.acknowledgeWorkflowFindings();

    const O = SPOT_INTERRUPTION_OUTPUTS;
    stableOutput(
      this,
      O.queueUrl,
      this.queue.queueUrl,
      'Spot interruption queue (EventBridge -> spot-interruption)',
    );
    stableOutput(
      this,
      O.queueDlqUrl,
      this.queueDlq.queueUrl,
      'Messages the spot-interruption function failed on',
    );
    stableOutput(
      this,
      O.deliveryDlqUrl,
      this.deliveryDlq.queueUrl,
      'Events EventBridge could not deliver to the queue',
    );
    stableOutput(
      this,
      O.surgeStateMachineArn,
      this.surgeWorkflow.stateMachine.stateMachineArn,
      'Spot surge workflow',
    );
  }

  /** List the managed clusters' container instances, describe and drain them. */
  private grantDrain(fn: BundledFunction): void {
    fn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ListManagedClusterInstances',
        actions: ['ecs:ListContainerInstances'],
        resources: this.clusterArns,
      }),
    );
    // These two act on container-instance ARNs and support the ecs:cluster condition
    // (service authorization reference): both must hold.
    fn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'DescribeAndDrainManagedClusterInstances',
        actions: ['ecs:DescribeContainerInstances', 'ecs:UpdateContainerInstancesState'],
        resources: this.containerInstanceArns,
        conditions: { ArnEquals: { 'ecs:cluster': this.clusterArns } },
      }),
    );
  }

  /**
   * protection.ts: the tasks on the drained instances (listed per instance, then described), their
   * services' deployment configuration, and their desired count, raised before the drain and
   * given back after. Every ECS action here supports the ecs:cluster condition; the resources are
   * the managed clusters' container instances, tasks and services.
   */
  private grantProtectServices(fn: BundledFunction): void {
    const stack = Stack.of(this);
    const tasks = this.clusterNames.map((name) => ecsTasksArn(stack, name));
    const services = this.managedClusters.flatMap((c) =>
      (c.protectServices ?? ['*']).map((service) => ecsServiceArn(stack, c.name, service)),
    );
    if (services.length === 0) return;
    const cluster = { ArnEquals: { 'ecs:cluster': this.clusterArns } };
    fn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ListTasksOnManagedInstances',
        actions: ['ecs:ListTasks'],
        resources: this.containerInstanceArns,
        conditions: cluster,
      }),
    );
    fn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'DescribeManagedClusterTasks',
        actions: ['ecs:DescribeTasks'],
        resources: tasks,
        conditions: cluster,
      }),
    );
    fn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ScaleManagedClusterServices',
        actions: ['ecs:DescribeServices', 'ecs:UpdateService'],
        resources: services,
        conditions: cluster,
      }),
    );
    acknowledgeWildcardResources(
      fn.role,
      [...tasks, ...services],
      'Tasks and services on an interrupted instance are only known at run time; scoped to the managed clusters (and ecs:cluster).',
    );
  }

  private grantDescribeAutoScalingGroups(fn: BundledFunction): void {
    fn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'DescribeAutoScalingGroups',
        // Instances: a rebalance recheck leaves drained an instance Auto Scaling is terminating.
        actions: ['autoscaling:DescribeAutoScalingGroups', 'autoscaling:DescribeAutoScalingInstances'],
        // Describe* actions of Auto Scaling support no resource-level permissions: "*" is required.
        resources: ['*'],
      }),
    );
    // The same finding also covers X-Ray's PutTraceSegments/PutTelemetryRecords on this role.
    Validations.of(fn.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'autoscaling:DescribeAutoScalingGroups and xray:PutTraceSegments/PutTelemetryRecords support no resource-level permissions.',
    });
  }

  private grantSetDesiredCapacity(fn: BundledFunction): void {
    if (this.asgArns.length === 0) return;
    fn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ScaleManagedAutoScalingGroups',
        actions: ['autoscaling:SetDesiredCapacity'],
        resources: this.asgArns,
      }),
    );
  }

  private acknowledgeWorkflowFindings(): void {
    const stateMachine = this.surgeWorkflow.stateMachine;
    acknowledgeWildcardResources(
      stateMachine.role,
      [`${this.surgeStepFunction.function.functionArn}:*`],
      'Step Functions may invoke the step function by qualified ARN (version/alias); only that function.',
    );
    Validations.of(stateMachine).acknowledge(
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'X-Ray and CloudWatch Logs delivery (logs:*LogDelivery*) support no resource-level permissions.',
      },
      {
        id: 'AwsSolutions-SF1',
        reason:
          'The surge workflow logs ERROR without execution data: every decision is in the journal, and polling every 15 s at ALL would cost more than it tells.',
      },
    );
  }
}
