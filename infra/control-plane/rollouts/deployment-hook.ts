// The lifecycle hook of ECS-controlled deployments (functions/deployment-hook): the function, and
// the role ECS assumes to invoke it (a service's LifecycleHooks name both). The function reads
// what it judges and nothing else: the ECS-deployed services' load balancer configuration, their
// listener rules and target groups, CloudWatch metrics and alarms; it writes the rollout record,
// the journal, the service lease and alerts. It never changes a weight: ECS moves the traffic.
import { CfnOutput, Duration, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import type { ManagedService, RolloutEnvInput } from '../../../functions/shared/rollouts/config.ts';
import { alarmArnPattern } from '../../shared/alarms.ts';
import { acknowledgeWildcardResources } from '../../shared/nag-findings.ts';
import { DEPLOYMENT_HOOK_OUTPUTS } from '../../shared/stack-outputs.ts';
import type { Alerting } from '../alerting/alerting.ts';
import { BundledFunction, lambdaEnvironment } from '../shared/bundled-function.ts';
import { ecsServiceArn } from '../shared/resource-arns.ts';
import { SHARED_TABLE_ACCESS as SHARED, type StateTables } from '../shared/state-tables.ts';

export interface DeploymentHookProps {
  /** The managed services ECS deploys (controller `ecs`). */
  readonly services: readonly ManagedService[];
  readonly environment: RolloutEnvInput;
  readonly tables: StateTables;
  readonly alerting: Alerting;
  readonly assetRoot?: string | undefined;
}

export class DeploymentHook extends Construct {
  readonly hook: BundledFunction;
  /** Assumed by ECS (ecs.amazonaws.com) to invoke the hook, as a lifecycle hook's RoleArn. */
  readonly invokeRole: iam.Role;

  constructor(scope: Construct, id: string, props: DeploymentHookProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.hook = new BundledFunction(this, 'Function', {
      name: 'deployment-hook',
      description:
        'Lifecycle hook of ECS deployments: bakes, analyses green against blue, gates; answers ECS',
      memorySize: 512,
      timeout: Duration.seconds(30),
      environment: lambdaEnvironment(props.environment),
      assetRoot: props.assetRoot,
      synchronousOnly: {
        reason:
          'ECS invokes the lifecycle hook synchronously and reads its answer (hookStatus); an unanswered call is a failed hook, and ECS rolls back.',
      },
    });
    const role = this.hook.role;
    const allow = (sid: string, actions: string[], resources: string[]) =>
      role.addToPrincipalPolicy(new iam.PolicyStatement({ sid, actions, resources }));
    allow(
      'DescribeEcsDeployedServices',
      ['ecs:DescribeServices'],
      props.services.map((s) => ecsServiceArn(stack, s.cluster, s.service)),
    );
    allow(
      'ReadListenerRulesAndTargetHealth',
      ['elasticloadbalancing:DescribeRules', 'elasticloadbalancing:DescribeTargetHealth'],
      ['*'],
    );
    allow('ReadMetrics', ['cloudwatch:GetMetricData'], ['*']);
    const alarmArns = [alarmArnPattern(stack)];
    allow('ReadAlarms', ['cloudwatch:DescribeAlarms'], alarmArns);
    props.alerting.grantRaise(this.hook.function);
    props.tables.grant(this.hook.function, SHARED.journal, SHARED.leases, {
      operations: ['GetItem', 'PutItem', 'UpdateItem'],
    });
    acknowledgeWildcardResources(
      role,
      alarmArns,
      'A service’s rollout defaults name any alarm of this account and region to watch; DescribeAlarms is granted on those alarms only.',
    );
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'elasticloadbalancing:DescribeRules, DescribeTargetHealth and cloudwatch:GetMetricData support no resource-level permissions.',
    });

    this.invokeRole = new iam.Role(this, 'InvokeRole', {
      assumedBy: new iam.ServicePrincipal('ecs.amazonaws.com'),
      description: 'ECS invokes the deployment lifecycle hook with this role',
    });
    this.invokeRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'InvokeTheHook',
        actions: ['lambda:InvokeFunction'],
        resources: [this.hook.function.functionArn],
      }),
    );

    new CfnOutput(this, DEPLOYMENT_HOOK_OUTPUTS.functionArn, {
      value: this.hook.function.functionArn,
      description: 'Lifecycle hook of ECS deployments (LifecycleHooks[].HookTargetArn)',
    }).overrideLogicalId(DEPLOYMENT_HOOK_OUTPUTS.functionArn);
    new CfnOutput(this, DEPLOYMENT_HOOK_OUTPUTS.services, {
      value: props.services.map((s) => `${s.cluster}/${s.service}`).join(','),
      description: 'The services ECS deploys and the hook judges (cluster/service)',
    }).overrideLogicalId(DEPLOYMENT_HOOK_OUTPUTS.services);
    new CfnOutput(this, DEPLOYMENT_HOOK_OUTPUTS.invokeRoleArn, {
      value: this.invokeRole.roleArn,
      description: 'The role ECS invokes the hook with (LifecycleHooks[].RoleArn)',
    }).overrideLogicalId(DEPLOYMENT_HOOK_OUTPUTS.invokeRoleArn);
  }
}
