// Release trains: the release-train state machine and its train-step function. The trains run the
// rollouts workflow for each service; the function reads the managed services' desired counts,
// keeps the train's records, and, when the line stops with onStop=rollback, aborts the train's
// running rollouts as `ops abort` would (listener weights of the managed load balancers only).
import { CfnOutput, Duration, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import type { FreezeWindow } from '../../../functions/shared/freeze-windows.ts';
import type { SloConfig } from '../../../functions/shared/slo/objectives.ts';
import { ReleaseTrainWorkflow } from '../../../workflows/release-train.ts';
import { acknowledgeNestedExecutions, acknowledgeWildcardResources } from '../../shared/nag-findings.ts';
import { TRAIN_OUTPUTS } from '../../shared/stack-outputs.ts';
import type { Alerting } from '../alerting/alerting.ts';
import type { Rollouts } from '../rollouts/rollouts.ts';
import { BundledFunction, lambdaEnvironment } from '../shared/bundled-function.ts';
import { SHARED_TABLE_ACCESS as SHARED, type StateTables } from '../shared/state-tables.ts';

export interface ReleaseTrainsProps {
  readonly rollouts: Rollouts;
  /** The rollout functions' MANAGED_SERVICES: a train rolls out these services only. */
  readonly managedServices: string;
  readonly tables: StateTables;
  readonly alerting: Alerting;
  readonly environmentName: string;
  /** Trains are refused inside these (config/freezes/<env>.json). */
  readonly freezeWindows?: readonly FreezeWindow[];
  /** A train needs its services' error budgets unspent (config/slos/<env>.json). */
  readonly slos?: SloConfig;
  readonly assetRoot?: string;
}

export class ReleaseTrains extends Construct {
  readonly stepFunction: BundledFunction;
  readonly workflow: ReleaseTrainWorkflow;

  constructor(scope: Construct, id: string, props: ReleaseTrainsProps) {
    super(scope, id);
    const rollouts = props.rollouts;
    this.stepFunction = new BundledFunction(this, 'Step', {
      name: 'train-step',
      description:
        'Release train steps: validate the train, admit services under the budget, record results, stop the line',
      memorySize: 512,
      timeout: Duration.seconds(60),
      environment: lambdaEnvironment({
        ...props.tables.environment(),
        ...props.alerting.producerEnvironment(),
        OPS_ENVIRONMENT: props.environmentName,
        MANAGED_SERVICES: props.managedServices,
        ...(props.freezeWindows && props.freezeWindows.length > 0
          ? { FREEZE_WINDOWS: JSON.stringify(props.freezeWindows) }
          : {}),
        ...(props.slos && props.slos.services.length > 0 ? { SERVICE_SLOS: JSON.stringify(props.slos) } : {}),
      }),
      assetRoot: props.assetRoot,
    });
    const step = this.stepFunction;
    const allow = (sid: string, actions: string[], resources: string[]) =>
      step.role.addToPrincipalPolicy(new iam.PolicyStatement({ sid, actions, resources }));
    // The budget's base and the check that every service of the train exists.
    allow('DescribeManagedServices', ['ecs:DescribeServices'], rollouts.serviceArns);
    // Aborting a running rollout (onStop=rollback) puts its traffic back on blue and reads it back.
    allow(
      'ReadLoadBalancing',
      ['elasticloadbalancing:DescribeListeners', 'elasticloadbalancing:DescribeRules'],
      ['*'],
    );
    allow(
      'ReweighManagedRoutes',
      ['elasticloadbalancing:ModifyListener', 'elasticloadbalancing:ModifyRule'],
      rollouts.routeArns,
    );
    // The error budgets of services with an SLO: their target groups' load balancer, and metrics.
    if (props.slos && props.slos.services.length > 0) {
      allow('FindServiceLoadBalancers', ['elasticloadbalancing:DescribeTargetGroups'], ['*']);
      allow('ReadServiceMetrics', ['cloudwatch:GetMetricData'], ['*']);
    }
    // ...and answers the gate it waits at. SendTaskSuccess has no resource-level permissions.
    allow('AnswerAbortedRolloutGates', ['states:SendTaskSuccess'], ['*']);
    props.alerting.grantRaise(step.function);
    // functions/shared/trains/record.ts: the train's and its services' items (transactions of
    // Put and Update), read one by one and in batches; the rollouts' records, read and claimed.
    props.tables.grant(step.function, SHARED.journal, {
      operations: ['GetItem', 'BatchGetItem', 'PutItem', 'UpdateItem'],
    });
    acknowledgeWildcardResources(
      step.role,
      rollouts.routeArns,
      'Listener and rule ids are generated; scoped to the managed load balancers by name.',
    );
    Validations.of(step.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'elasticloadbalancing:Describe*, cloudwatch:GetMetricData, states:SendTaskSuccess and X-Ray support no resource-level permissions.',
    });
    Validations.of(step.role).acknowledge({
      id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
      reason:
        'Raising alerts onto the KMS-encrypted alert queue needs the GenerateDataKey family on that one key.',
    });

    this.workflow = new ReleaseTrainWorkflow(this, 'Workflow', {
      stepFunction: step.function,
      rolloutStateMachine: rollouts.workflow.stateMachine,
    });
    const stateMachine = this.workflow.stateMachine;
    acknowledgeWildcardResources(
      stateMachine.role,
      [`${step.function.functionArn}:*`],
      'Step Functions may invoke the train-step function by qualified ARN.',
    );
    acknowledgeNestedExecutions(
      stateMachine.role,
      rollouts.workflow.stateMachine,
      'Waiting for each nested rollout (DescribeExecution, StopExecution) needs its executions, whose names are only known at run time; scoped to the rollout state machine.',
    );
    Validations.of(stateMachine).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'X-Ray and CloudWatch Logs delivery (logs:*LogDelivery*) support no resource-level permissions.',
    });

    new CfnOutput(this, TRAIN_OUTPUTS.trainStateMachineArn, {
      value: stateMachine.stateMachineArn,
      description: 'Release train workflow',
    }).overrideLogicalId(TRAIN_OUTPUTS.trainStateMachineArn);
  }
}
