// Blue/green rollouts: the blue-green-rollout state machine and its two functions (rollout-step
// for decisions, rollout-analysis for verdicts). Permissions are scoped to the managed services:
// their task sets, the listeners and rules of their load balancer, their clusters' instances.
import { join, relative } from 'node:path';
import { ArnFormat, CfnOutput, Duration, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { PRE_TRAFFIC_HOOK_PREFIX } from '../../../events/rollout-input.ts';
import * as z from '../../../events/zod.ts';
import { InvalidInputError } from '../../../functions/shared/errors.ts';
import type { FreezeWindow } from '../../../functions/shared/freeze-windows.ts';
import {
  type ManagedService,
  managedServicesEnv,
  type RolloutEnvInput,
} from '../../../functions/shared/rollouts/config.ts';
import { resolveRolloutInput } from '../../../functions/shared/rollouts/defaults.ts';
import type { SloConfig } from '../../../functions/shared/slo/objectives.ts';
import { BlueGreenRolloutWorkflow } from '../../../workflows/blue-green-rollout.ts';
import { ROLLOUT_CONFIG_DIR, RolloutConfigSchema } from '../../capability-configs.ts';
import { ConfigError, loadConfigFile, taskRolePathFor } from '../../config.ts';
import { alarmArnPattern } from '../../shared/alarms.ts';
import { acknowledgeWildcardResources } from '../../shared/nag-findings.ts';
import { ROLLOUT_OUTPUTS } from '../../shared/stack-outputs.ts';
import type { Alerting } from '../alerting/alerting.ts';
import { BundledFunction, lambdaEnvironment } from '../shared/bundled-function.ts';
import { containerInstancesArn, ecsClusterArn, ecsServiceArn } from '../shared/resource-arns.ts';
import { SHARED_TABLE_ACCESS as SHARED, type StateTables } from '../shared/state-tables.ts';
import { DeploymentHook } from './deployment-hook.ts';

/**
 * An environment without a config file (the local one): the seeded services behind `web-alb`,
 * `web/api` rolled out by task sets and `web/shop` deployed by ECS, which the hook judges.
 */
export const DEFAULT_ROLLOUT_SERVICES: readonly ManagedService[] = [
  { cluster: 'web', service: 'api', loadBalancerName: 'web-alb' },
  { cluster: 'web', service: 'shop', loadBalancerName: 'web-alb', controller: 'ecs' },
];

export { ROLLOUT_CONFIG_DIR, type RolloutConfig, RolloutConfigSchema } from '../../capability-configs.ts';

/**
 * The environment's rolled-out services with their defaults attached. Unknown keys, bad values
 * and services the environment does not roll out fail synth, naming the key. (The defaults are
 * kept as written: the first state applies the built-in ones to what they leave out.)
 */
export function withRolloutDefaults(
  environmentName: string,
  services: readonly ManagedService[],
  dir = ROLLOUT_CONFIG_DIR,
): ManagedService[] {
  const file = join(dir, `${environmentName}.json`);
  const config = loadConfigFile(file, RolloutConfigSchema);
  if (!config) return [...services];
  const raw = (loadConfigFile(file, z.unknown()) as { services: { defaults: unknown }[] }).services;
  config.services.forEach((entry, i) => {
    if (!services.some((s) => s.cluster === entry.cluster && s.service === entry.service)) {
      throw new ConfigError(relative(process.cwd(), file) || file, [
        {
          key: `services.${i}.service`,
          message: `${entry.cluster}/${entry.service} is not a service this environment rolls out (${services.map((s) => `${s.cluster}/${s.service}`).join(', ')})`,
        },
      ]);
    }
  });
  const withDefaults = services.map((s) => {
    const i = config.services.findIndex((e) => e.cluster === s.cluster && e.service === s.service);
    return i < 0 ? { ...s } : { ...s, defaults: raw[i]?.defaults as ManagedService['defaults'] };
  });
  // The rules across fields (a bake the analysis can judge, a plan that fits in 7 days) are the
  // first state's: a rollout naming only service and image must pass them with these defaults.
  config.services.forEach((entry, i) => {
    const probe = { cluster: entry.cluster, service: entry.service, image: 'synth-check' };
    try {
      resolveRolloutInput(withDefaults, probe);
    } catch (error) {
      if (!(error instanceof InvalidInputError)) throw error;
      throw new ConfigError(relative(process.cwd(), file) || file, [
        { key: `services.${i}.defaults${error.field.replace(/^input/, '')}`, message: error.problem },
      ]);
    }
  });
  return withDefaults;
}

export interface RolloutsProps {
  readonly managedServices: readonly ManagedService[];
  /**
   * The roles (`path/name`) a new revision may pass to ECS tasks; default: any role under this
   * environment's role path (the roles a full environment creates there).
   */
  readonly passableRoles?: readonly string[];
  readonly tables: StateTables;
  readonly alerting: Alerting;
  /** OPS_ENVIRONMENT of the functions (shown in alerts). */
  readonly environmentName: string;
  /** Rollouts are refused inside these (config/freezes/<env>.json). */
  readonly freezeWindows?: readonly FreezeWindow[];
  /** The services' SLOs, whose error budgets the analysis judges (config/slos/<env>.json). */
  readonly slos?: SloConfig;
  /** Override of dist/functions for the bundles (tests). */
  readonly assetRoot?: string;
}

export class Rollouts extends Construct {
  readonly stepFunction: BundledFunction;
  readonly analysisFunction: BundledFunction;
  readonly workflow: BlueGreenRolloutWorkflow;
  readonly serviceArns: string[];
  /** The managed load balancers' listeners and listener rules, whose weights rollouts change. */
  readonly routeArns: string[];
  readonly taskSetArns: string[];
  /** Pre-traffic hooks: this account's and region's functions named rollout-hook-*, any qualifier. */
  readonly preTrafficHookArns: string[];
  /** The lifecycle hook of ECS-controlled deployments, where a managed service is deployed by ECS. */
  readonly deploymentHook?: DeploymentHook;

  constructor(scope: Construct, id: string, props: RolloutsProps) {
    super(scope, id);
    if (props.managedServices.length === 0) throw new Error('Rollouts: managedServices is empty');
    const stack = Stack.of(this);
    const services = props.managedServices;
    const clusters = [...new Set(services.map((s) => s.cluster))];
    const loadBalancers = [...new Set(services.map((s) => s.loadBalancerName))];
    this.serviceArns = services.map((s) => ecsServiceArn(stack, s.cluster, s.service));
    this.taskSetArns = services.map((s) =>
      stack.formatArn({ service: 'ecs', resource: 'task-set', resourceName: `${s.cluster}/${s.service}/*` }),
    );
    const clusterArns = clusters.map((c) => ecsClusterArn(stack, c));
    const containerInstanceArns = clusters.map((c) => containerInstancesArn(stack, c));
    const elbArn = (resource: string, name: string) =>
      stack.formatArn({
        service: 'elasticloadbalancing',
        resource,
        resourceName: `app/${name}/*`,
        arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
      });
    const hookArn = stack.formatArn({
      service: 'lambda',
      resource: 'function',
      resourceName: `${PRE_TRAFFIC_HOOK_PREFIX}*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    this.preTrafficHookArns = [hookArn, `${hookArn}:*`];
    // A route is a listener (ModifyListener) or a listener rule (ModifyRule).
    const routeArns = (resource: 'listener' | 'listener-rule') =>
      loadBalancers.map((lb) => elbArn(resource, lb));
    const listenerArns = [...routeArns('listener'), ...routeArns('listener-rule')];
    this.routeArns = listenerArns;

    const env: RolloutEnvInput = {
      ...props.tables.environment(),
      ...props.alerting.producerEnvironment(),
      OPS_ENVIRONMENT: props.environmentName,
      MANAGED_SERVICES: managedServicesEnv(services),
      ...(props.freezeWindows && props.freezeWindows.length > 0
        ? { FREEZE_WINDOWS: JSON.stringify(props.freezeWindows) }
        : {}),
      ...(props.slos && props.slos.services.length > 0 ? { SERVICE_SLOS: JSON.stringify(props.slos) } : {}),
    };
    this.stepFunction = new BundledFunction(this, 'Step', {
      name: 'rollout-step',
      description:
        'Blue/green rollout steps: validate, lock, green, traffic weights (read back), gates, rollback',
      memorySize: 512,
      timeout: Duration.seconds(60),
      environment: lambdaEnvironment(env),
      assetRoot: props.assetRoot,
    });
    this.analysisFunction = new BundledFunction(this, 'Analysis', {
      name: 'rollout-analysis',
      description: 'Blue/green rollout analysis: alarms, green thresholds, Mann-Whitney comparison with blue',
      memorySize: 512,
      timeout: Duration.seconds(30),
      environment: lambdaEnvironment(env),
      assetRoot: props.assetRoot,
    });

    const ecsDeployed = services.filter((s) => s.controller === 'ecs');
    if (ecsDeployed.length > 0)
      this.deploymentHook = new DeploymentHook(this, 'DeploymentHook', {
        services: ecsDeployed,
        environment: env,
        tables: props.tables,
        alerting: props.alerting,
        assetRoot: props.assetRoot,
      });

    this.workflow = new BlueGreenRolloutWorkflow(this, 'Workflow', {
      stepFunction: this.stepFunction.function,
      analysisFunction: this.analysisFunction.function,
      serviceArns: this.serviceArns,
      taskSetArns: this.taskSetArns,
      preTrafficHookArns: this.preTrafficHookArns,
    });

    // ---- rollout-step ---------------------------------------------------------------------
    const step = this.stepFunction;
    const allow = (
      fn: BundledFunction,
      sid: string,
      actions: string[],
      resources: string[],
      conditions?: iam.Conditions,
    ) =>
      fn.role.addToPrincipalPolicy(
        new iam.PolicyStatement({ sid, actions, resources, ...(conditions ? { conditions } : {}) }),
      );
    // The service authorization reference: these two act on the service, the other three on its task sets.
    allow(
      step,
      'ManagedServices',
      ['ecs:DescribeServices', 'ecs:UpdateServicePrimaryTaskSet'],
      this.serviceArns,
    );
    allow(
      step,
      'ManagedTaskSets',
      ['ecs:DescribeTaskSets', 'ecs:CreateTaskSet', 'ecs:DeleteTaskSet'],
      this.taskSetArns,
    );
    // DescribeTaskDefinition takes no resource; revisions are registered in the managed families only.
    allow(step, 'ReadTaskDefinitions', ['ecs:DescribeTaskDefinition'], ['*']);
    const familyArns = services.map((s) =>
      stack.formatArn({
        service: 'ecs',
        resource: 'task-definition',
        resourceName: `${s.taskDefinitionFamily ?? `${s.cluster}-${s.service}`}:*`,
      }),
    );
    allow(step, 'RegisterManagedFamilies', ['ecs:RegisterTaskDefinition'], familyArns);
    allow(step, 'TagWhatTheRolloutCreates', ['ecs:TagResource'], [...this.taskSetArns, ...familyArns], {
      StringEquals: { 'ecs:CreateAction': ['CreateTaskSet', 'RegisterTaskDefinition'] },
    });
    // A new revision keeps blue's task and execution roles: only this environment's (their path),
    // or exactly the roles a control-plane-only environment names.
    const roleArn = (pathAndName: string) =>
      stack.formatArn({ service: 'iam', region: '', resource: 'role', resourceName: pathAndName });
    const passableRoleArns = props.passableRoles
      ? props.passableRoles.map(roleArn)
      : [roleArn(`${taskRolePathFor(props.environmentName).slice(1)}*`)];
    if (passableRoleArns.length > 0)
      allow(step, 'PassTaskRolesToEcsTasks', ['iam:PassRole'], passableRoleArns, {
        StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' },
      });
    allow(step, 'ListManagedClusterInstances', ['ecs:ListContainerInstances'], clusterArns);
    allow(
      step,
      'DescribeManagedClusterInstances',
      ['ecs:DescribeContainerInstances'],
      containerInstanceArns,
      {
        ArnEquals: { 'ecs:cluster': clusterArns },
      },
    );
    allow(
      step,
      'DescribeLoadBalancing',
      [
        'elasticloadbalancing:DescribeListeners',
        'elasticloadbalancing:DescribeLoadBalancers',
        'elasticloadbalancing:DescribeRules',
        'elasticloadbalancing:DescribeTargetGroups',
        'elasticloadbalancing:DescribeTargetHealth',
      ],
      ['*'],
    );
    allow(step, 'ReweighManagedListeners', ['elasticloadbalancing:ModifyListener'], routeArns('listener'));
    allow(
      step,
      'ReweighManagedListenerRules',
      ['elasticloadbalancing:ModifyRule'],
      routeArns('listener-rule'),
    );
    // The input names any alarm of this account and region; DescribeAlarms is authorized per alarm.
    const alarmArns = [alarmArnPattern(stack)];
    allow(step, 'CheckAlarmsExist', ['cloudwatch:DescribeAlarms'], alarmArns);
    props.alerting.grantRaise(step.function);

    // ---- rollout-analysis -------------------------------------------------------------------
    allow(this.analysisFunction, 'ReadMetrics', ['cloudwatch:GetMetricData'], ['*']);
    allow(this.analysisFunction, 'ReadAlarms', ['cloudwatch:DescribeAlarms'], alarmArns);
    // A spot storm's pause raises (and resolves) its own alert from the analysis.
    props.alerting.grantRaise(this.analysisFunction.function);
    acknowledgeWildcardResources(
      this.analysisFunction.role,
      alarmArns,
      'A rollout input names any alarm of this account and region to watch; DescribeAlarms is granted on those alarms only.',
    );
    acknowledgeWildcardResources(
      step.role,
      [...familyArns, ...passableRoleArns.filter((arn) => arn.includes('*')), ...alarmArns],
      'Revisions are registered in the managed services’ families only (any revision number); only this environment’s task roles (their IAM path) may be passed, and only to ECS tasks; the input names any alarm of this account and region.',
    );

    // functions/shared/rollouts/record.ts keeps each service's rollout record in the operations table; the analysis also reads
    // the spot storm's per-minute interruption counts there (one BatchGetItem).
    props.tables.grant(step.function, SHARED.journal, SHARED.leases, {
      operations: ['GetItem', 'PutItem', 'UpdateItem'],
    });
    props.tables.grant(this.analysisFunction.function, SHARED.journal, {
      operations: ['GetItem', 'BatchGetItem', 'UpdateItem'],
    });
    for (const fn of [step, this.analysisFunction]) {
      Validations.of(fn.role).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'ecs:DescribeTaskDefinition, elasticloadbalancing:Describe*, cloudwatch:GetMetricData and X-Ray support no resource-level permissions. Task sets, task-definition revisions, alarms and task roles are scoped to the managed services, their families, this account and region, and this environment’s role path.',
      });
    }
    Validations.of(step.role).acknowledge({
      id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
      reason:
        'Raising alerts onto the KMS-encrypted alert queue needs the GenerateDataKey family on that one key.',
    });
    acknowledgeWildcardResources(
      step.role,
      [...this.taskSetArns, ...containerInstanceArns, ...listenerArns],
      'Task set, container instance, listener and rule ids are generated; scoped to the managed services, their clusters and their load balancers by name.',
    );

    // ---- the state machine --------------------------------------------------------------------
    const stateMachine = this.workflow.stateMachine;
    acknowledgeWildcardResources(
      stateMachine.role,
      [
        `${step.function.functionArn}:*`,
        `${this.analysisFunction.function.functionArn}:*`,
        ...this.taskSetArns,
        ...this.preTrafficHookArns,
      ],
      `Step Functions may invoke the rollout functions by qualified ARN, pre-traffic hooks named ${PRE_TRAFFIC_HOOK_PREFIX}* of this account and region (the input names one), and scale and delete task sets of the managed services only.`,
    );
    Validations.of(stateMachine).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'X-Ray and CloudWatch Logs delivery (logs:*LogDelivery*) support no resource-level permissions.',
    });

    new CfnOutput(this, ROLLOUT_OUTPUTS.rolloutStateMachineArn, {
      value: stateMachine.stateMachineArn,
      description: 'Blue/green rollout workflow',
    }).overrideLogicalId(ROLLOUT_OUTPUTS.rolloutStateMachineArn);
  }
}
