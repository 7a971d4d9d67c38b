// Alarm-triggered remediation: every alarm state change (but those the fast scale-out already
// answers) -> EventBridge rule -> queue -> remediation-trigger function -> the remediate-alarm
// workflow, one execution per transition. The runbook registry comes from
// config/remediation/<environment>.json; the construct is composed only where that file exists.

import { ArnFormat, Duration, Stack, Validations } from 'aws-cdk-lib';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { routedAlarmPrefix } from '../../../events/operator-events.ts';
import { alarmRemediationPattern } from '../../../events/remediation-input.ts';
import type { RemediateStepEnvInput, RemediationConfig } from '../../../functions/remediate-step/config.ts';
import type { RemediationTriggerEnvInput } from '../../../functions/remediation-trigger/config.ts';
import type { ManagedCluster } from '../../../functions/shared/managed-clusters.ts';
import type { ManagedService } from '../../../functions/shared/rollouts/config.ts';
import { managedServicesEnv } from '../../../functions/shared/rollouts/config.ts';
import { RemediateAlarmWorkflow } from '../../../workflows/remediate-alarm.ts';
import { ConfigError, resourcePrefix } from '../../config.ts';
import { alarmArnPattern } from '../../shared/alarms.ts';
import { acknowledgeNestedExecutions, acknowledgeWildcardResources } from '../../shared/nag-findings.ts';
import { REMEDIATION_OUTPUTS } from '../../shared/stack-outputs.ts';
import type { AlertTopics } from '../alerting/alert-topics.ts';
import type { Alerting } from '../alerting/alerting.ts';
import { BundledFunction, lambdaEnvironment } from '../shared/bundled-function.ts';
import {
  consumeQueue,
  EVENT_SOURCE_MAX_CONCURRENCY,
  eventQueue,
  routeEventsToQueue,
} from '../shared/event-queue.ts';
import { ecsClusterArn, ecsServiceArn } from '../shared/resource-arns.ts';
import { stableOutput } from '../shared/stable-output.ts';
import { SHARED_TABLE_ACCESS as SHARED, type StateTables } from '../shared/state-tables.ts';

export { loadRemediationConfig, REMEDIATION_CONFIG_DIR } from '../../capability-configs.ts';

export interface RemediationProps {
  readonly config: RemediationConfig;
  readonly managedClusters: readonly ManagedCluster[];
  /** Services rollouts manage (rollback-rollout acts on their rollouts only). */
  readonly rolloutServices: readonly ManagedService[];
  /** The scaling workflow, where services are scaled: scale-out runs it. */
  readonly scaleStateMachine?: sfn.IStateMachine;
  /** Alarms the scale-alarm function answers: left out of the remediation rule. */
  readonly scaleAlarmNames: readonly string[];
  readonly tables: StateTables;
  readonly topics: AlertTopics;
  readonly alerting: Alerting;
  readonly environmentName: string;
  readonly assetRoot?: string;
}

export const REMEDIATION_BATCH = { batchSize: 10, maxConcurrency: EVENT_SOURCE_MAX_CONCURRENCY } as const;
export const REMEDIATION_MAX_RECEIVE_COUNT = 3;
const TRIGGER_TIMEOUT = Duration.seconds(30);

export class Remediation extends Construct {
  readonly stepFunction: BundledFunction;
  readonly triggerFunction: BundledFunction;
  readonly workflow: RemediateAlarmWorkflow;
  readonly queue: sqs.Queue;
  readonly queueDlq: sqs.Queue;
  readonly deliveryDlq: sqs.Queue;
  readonly rule: events.Rule;

  constructor(scope: Construct, id: string, props: RemediationProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const { config } = props;
    const source = `config/remediation/${props.environmentName}.json`;
    for (const [i, r] of config.runbooks.entries()) {
      if (!props.managedClusters.some((c) => c.name === r.cluster)) {
        throw new ConfigError(source, [
          {
            key: `runbooks.${i}.cluster`,
            message: `${r.cluster} is not a managed cluster (${props.managedClusters.map((c) => c.name).join(', ')})`,
          },
        ]);
      }
      if (r.runbook === 'scale-out' && !props.scaleStateMachine) {
        throw new ConfigError(source, [
          { key: `runbooks.${i}.runbook`, message: 'scale-out needs a scaled service (config/scaling)' },
        ]);
      }
    }
    const clusters = [...new Set(config.runbooks.map((r) => r.cluster))];
    const clusterArns = clusters.map((c) => ecsClusterArn(stack, c));
    const inCluster = (resource: string) =>
      clusters.map((c) => stack.formatArn({ service: 'ecs', resource, resourceName: `${c}/*` }));
    const serviceArnOf = (cluster: string, service: string) => ecsServiceArn(stack, cluster, service);
    const runbookServices = config.runbooks.filter((r) => r.service);
    const serviceArns = [
      ...new Set(runbookServices.map((r) => serviceArnOf(r.cluster, r.service as string))),
    ];
    const forcedServiceArns = [
      ...new Set(
        runbookServices
          .filter((r) => r.runbook === 'force-new-deployment')
          .map((r) => serviceArnOf(r.cluster, r.service as string)),
      ),
    ];

    const sharedEnv = {
      ...props.tables.environment(),
      ...props.alerting.producerEnvironment(),
      OPS_ENVIRONMENT: props.environmentName,
    };
    const stepEnv: RemediateStepEnvInput = {
      ...sharedEnv,
      REMEDIATION_CONFIG: JSON.stringify(config),
      MANAGED_SERVICES: managedServicesEnv(props.rolloutServices),
    };
    this.stepFunction = new BundledFunction(this, 'Step', {
      name: 'remediate-step',
      description:
        'Remediate-alarm workflow step: runbook choice, guards, runbooks, verification, escalation',
      memorySize: 512,
      timeout: Duration.seconds(60),
      environment: lambdaEnvironment(stepEnv),
      assetRoot: props.assetRoot,
    });
    this.workflow = new RemediateAlarmWorkflow(this, 'Workflow', {
      stepFunction: this.stepFunction.function,
      ...(props.scaleStateMachine ? { scaleStateMachine: props.scaleStateMachine } : {}),
      serviceArns: forcedServiceArns,
    });
    this.grantStep(props, { clusterArns, serviceArns, inCluster });
    this.grantWorkflow(props.scaleStateMachine);

    // Alarm state changes: rule -> queue -> trigger, as the spot and scale-out events are.
    const alarmEvents = eventQueue(this, {
      key: props.topics.key,
      visibilityTimeout: Duration.seconds(6 * TRIGGER_TIMEOUT.toSeconds()),
      // A transition not acted on within an hour is stale: the next one counts.
      retentionPeriod: Duration.hours(1),
      maxReceiveCount: REMEDIATION_MAX_RECEIVE_COUNT,
      holds: 'alarm events',
    });
    this.queue = alarmEvents.queue;
    this.queueDlq = alarmEvents.queueDlq;
    this.deliveryDlq = alarmEvents.deliveryDlq;
    const [rule] = routeEventsToQueue(this, alarmEvents, [
      {
        id: 'AlarmRule',
        description: `ecs-ops ${props.environmentName}: alarm state changes -> remediation queue`,
        pattern: alarmRemediationPattern(
          props.scaleAlarmNames,
          alarmArnPattern(stack, routedAlarmPrefix(resourcePrefix({ name: props.environmentName }))),
        ) as events.EventPattern,
      },
    ]);
    if (!rule) throw new Error('Remediation: the alarm rule was not created');
    this.rule = rule;

    const { ALERT_QUEUE_URL: _raisesNoAlerts, ...triggerSharedEnv } = sharedEnv;
    const triggerEnv: RemediationTriggerEnvInput = {
      ...triggerSharedEnv,
      REMEDIATION_STATE_MACHINE_ARN: this.workflow.stateMachine.stateMachineArn,
    };
    this.triggerFunction = new BundledFunction(this, 'Trigger', {
      name: 'remediation-trigger',
      description: 'Alarm state changes: starts the remediate-alarm workflow, one execution per transition',
      memorySize: 256,
      timeout: TRIGGER_TIMEOUT,
      environment: lambdaEnvironment(triggerEnv),
      assetRoot: props.assetRoot,
    });
    consumeQueue(this.triggerFunction.function, this.queue, REMEDIATION_BATCH, REMEDIATION_MAX_RECEIVE_COUNT);
    this.workflow.stateMachine.grantStartExecution(this.triggerFunction.function);
    props.tables.grant(this.triggerFunction.function, SHARED.journal, SHARED.namedExecutions);
    Validations.of(this.triggerFunction.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'xray:PutTraceSegments/PutTelemetryRecords support no resource-level permissions.',
    });

    const O = REMEDIATION_OUTPUTS;
    stableOutput(
      this,
      O.remediationStateMachineArn,
      this.workflow.stateMachine.stateMachineArn,
      'Remediate-alarm workflow',
    );
    stableOutput(
      this,
      O.remediationQueueUrl,
      this.queue.queueUrl,
      'Alarm state changes (EventBridge -> remediation-trigger)',
    );
    stableOutput(
      this,
      O.remediationQueueDlqUrl,
      this.queueDlq.queueUrl,
      'Alarm events the remediation-trigger function failed on',
    );
    stableOutput(
      this,
      O.remediationDeliveryDlqUrl,
      this.deliveryDlq.queueUrl,
      'Alarm events EventBridge could not deliver',
    );
  }

  private grantStep(
    props: RemediationProps,
    scope: { clusterArns: string[]; serviceArns: string[]; inCluster: (resource: string) => string[] },
  ): void {
    const fn = this.stepFunction;
    const stack = Stack.of(this);
    const add = (sid: string, actions: string[], resources: string[], conditions?: Record<string, unknown>) =>
      fn.role.addToPrincipalPolicy(
        new iam.PolicyStatement({ sid, actions, resources, ...(conditions ? { conditions } : {}) }),
      );
    const taskArns = scope.inCluster('task');
    const containerInstanceArns = scope.inCluster('container-instance');
    const alarmArns = [alarmArnPattern(stack)];
    if (scope.serviceArns.length > 0)
      add('DescribeRunbookServices', ['ecs:DescribeServices'], scope.serviceArns);
    // ListContainerInstances acts on the cluster; ListTasks on container instances (ecs:cluster).
    add('ListRunbookContainerInstances', ['ecs:ListContainerInstances'], scope.clusterArns);
    add('ListRunbookTasks', ['ecs:ListTasks'], containerInstanceArns, {
      ArnEquals: { 'ecs:cluster': scope.clusterArns },
    });
    add('RunbookTasks', ['ecs:DescribeTasks', 'ecs:StopTask'], taskArns, {
      ArnEquals: { 'ecs:cluster': scope.clusterArns },
    });
    add(
      'RunbookContainerInstances',
      ['ecs:DescribeContainerInstances', 'ecs:UpdateContainerInstancesState'],
      containerInstanceArns,
      { ArnEquals: { 'ecs:cluster': scope.clusterArns } },
    );
    add('AlarmTags', ['cloudwatch:ListTagsForResource'], alarmArns);
    // A rollback-rollout runbook puts traffic back on blue and answers the rollout's waiting task.
    const loadBalancers = [...new Set(props.rolloutServices.map((s) => s.loadBalancerName))];
    const routeArns = (resource: 'listener' | 'listener-rule') =>
      loadBalancers.map((lb) =>
        stack.formatArn({
          service: 'elasticloadbalancing',
          resource,
          resourceName: `app/${lb}/*`,
          arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
        }),
      );
    const listenerArns = [...routeArns('listener'), ...routeArns('listener-rule')];
    // A rollout routes by a listener (ModifyListener) or by a listener rule (ModifyRule).
    if (loadBalancers.length > 0) {
      add('RollBackManagedListeners', ['elasticloadbalancing:ModifyListener'], routeArns('listener'));
      add('RollBackManagedListenerRules', ['elasticloadbalancing:ModifyRule'], routeArns('listener-rule'));
    }
    // SendTaskSuccess takes no resource: AWS authorizes it on "*" only; the task token names the task.
    add('AnswerRolloutGates', ['states:SendTaskSuccess'], ['*']);
    add('DescribeAlarms', ['cloudwatch:DescribeAlarms'], alarmArns);
    // These support no resource-level permissions (service authorization reference).
    add(
      'DescribeUnscopable',
      [
        'elasticloadbalancing:DescribeTargetHealth',
        'elasticloadbalancing:DescribeListeners',
        'elasticloadbalancing:DescribeRules',
      ],
      ['*'],
    );
    // decide.ts (claims, run history), approval-gate.ts and operator.ts (gates) keep their records
    // in the operations table; the rollout operator module run-and-verify.ts reuses
    // (functions/shared/rollouts/) finds a rollout's record by scanning for it.
    props.tables.grant(fn.function, SHARED.journal, SHARED.leases, SHARED.leaseHolders, {
      operations: ['GetItem', 'PutItem', 'UpdateItem', 'Scan'],
    });
    props.alerting.grantRaise(fn.function);
    acknowledgeWildcardResources(
      fn.role,
      [...taskArns, ...containerInstanceArns, ...listenerArns, ...alarmArns],
      'Task, container instance, listener and rule ids are generated; scoped to the runbooks’ clusters (and ecs:cluster) and the managed load balancers by name. Alarms are matched by name pattern or tag at run time.',
    );
    Validations.of(fn.role).acknowledge(
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'states:SendTaskSuccess, elasticloadbalancing:Describe* and X-Ray support no resource-level permissions.',
      },
      {
        id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
        reason:
          'Raising alerts onto the KMS-encrypted alert queue needs the GenerateDataKey family on that one key.',
      },
    );
  }

  private grantWorkflow(scaleStateMachine: sfn.IStateMachine | undefined): void {
    const machine = this.workflow.stateMachine;
    acknowledgeWildcardResources(
      machine.role,
      [`${this.stepFunction.function.functionArn}:*`],
      'Step Functions may invoke the step function by qualified ARN (version/alias); only that function.',
    );
    if (scaleStateMachine) {
      acknowledgeNestedExecutions(
        machine.role,
        scaleStateMachine,
        'Waiting for the nested scale-service execution (DescribeExecution, StopExecution) needs its executions, whose names are only known at run time; scoped to that state machine.',
      );
    }
    Validations.of(machine).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'X-Ray and CloudWatch Logs delivery support no resource-level permissions.',
    });
  }
}
