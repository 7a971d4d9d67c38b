// One of the environment's services. By default an ECS service with the EXTERNAL deployment
// controller, so that the rollout workflow creates, weighs and deletes its task sets:
// CloudFormation owns the service shell (deployment limits, placement) and the task definition
// it was born with; it creates the first task set once (behind blue, as primary) and never
// touches task sets again. With `deployment.controller: ecs` the service uses the ECS deployment
// controller instead (a BLUE_GREEN, CANARY or LINEAR strategy over the same two target groups
// and listener rules), and the control plane's lifecycle hook judges each deployment. The
// desired count is left out of the template: service auto scaling and the scaling workflow own
// it. See docs/ownership.md.
import { Duration, Stack, Validations } from 'aws-cdk-lib';
import * as appscaling from 'aws-cdk-lib/aws-applicationautoscaling';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import type * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { ANALYSED_HOOK_STAGES } from '../../events/ecs-lifecycle-hook.ts';
import {
  type DeploymentConfig,
  type EnvironmentConfig,
  resourcePrefix,
  type ServiceConfig,
  taskRolePathFor,
} from '../config.ts';
import { alarmNameOf, targetGroupAlarm, targetGroupLabel } from '../shared/alarms.ts';
import { acknowledgeWildcardResources } from '../shared/nag-findings.ts';
import type { EcsCapacity } from './ecs-capacity.ts';
import { assertSpotDrainBudget, replacementSecondsOf, type SpotDrainBudget } from './spot-drain-budget.ts';

export const APP_CONTAINER_NAME = 'app';
/** ExternalId of the task set CloudFormation creates; the rollout's task sets carry their execution id. */
export const INITIAL_TASK_SET_EXTERNAL_ID = 'cloudformation-initial';

/**
 * What the rollout workflow needs to know about a rolled-out service, published as JSON in
 * SSM at /ecs-ops/<env>/services/<service>.
 */
export interface ServiceTopology {
  cluster: string;
  service: string;
  taskDefinitionFamily: string;
  containerName: string;
  containerPort: number;
  blueTargetGroupArn: string;
  greenTargetGroupArn: string;
  productionListenerArn: string;
  testListenerArn: string;
  productionRuleArn: string;
  testRuleArn: string;
  capacityProviderStrategy: { capacityProvider: string; base?: number; weight: number }[];
}

/** The task definition family of an environment's service: rollouts register revisions only there. */
export const taskDefinitionFamilyFor = (environmentName: string, service: string) =>
  `ecs-ops-${environmentName}-${service}`;

export const topologyParameterName = (environmentName: string, service: string) =>
  `/ecs-ops/${environmentName}/services/${service}`;

/** The control plane's lifecycle hook of ECS deployments (infra/control-plane/rollouts/deployment-hook.ts). */
export interface DeploymentHookTarget {
  readonly functionArn: string;
  /** The role ECS assumes to invoke it. */
  readonly invokeRoleArn: string;
}

/** A service's ECS deployment configuration: its strategy, bake, and the control plane's hook. */
function ecsDeploymentConfiguration(
  svc: ServiceConfig,
  deployment: Extract<DeploymentConfig, { controller: 'ecs' }>,
  hook: DeploymentHookTarget,
  alarmNames: readonly string[],
): ecs.CfnService.DeploymentConfigurationProperty {
  const { strategy } = deployment;
  return {
    minimumHealthyPercent: svc.minimumHealthyPercent,
    maximumPercent: svc.maximumPercent,
    strategy:
      strategy.type === 'blue-green' ? 'BLUE_GREEN' : strategy.type === 'canary' ? 'CANARY' : 'LINEAR',
    ...(strategy.type === 'canary'
      ? {
          canaryConfiguration: {
            canaryPercent: strategy.percent,
            canaryBakeTimeInMinutes: strategy.bakeMinutes,
          },
        }
      : {}),
    ...(strategy.type === 'linear'
      ? {
          linearConfiguration: {
            stepPercent: strategy.stepPercent,
            stepBakeTimeInMinutes: strategy.bakeMinutes,
          },
        }
      : {}),
    bakeTimeInMinutes: deployment.bakeTimeMinutes,
    // ECS rolls back by itself when the service's target groups answer 5xx or lose their targets,
    // during the deployment and its bake (the alarms are the observability stack's, by name).
    alarms: { alarmNames: [...alarmNames], enable: true, rollback: true },
    lifecycleHooks: [
      {
        hookTargetArn: hook.functionArn,
        roleArn: hook.invokeRoleArn,
        lifecycleStages: [...ANALYSED_HOOK_STAGES],
        hookDetails: {
          bakeSeconds: deployment.analysisBakeSeconds,
          testBakeSeconds: deployment.testBakeSeconds,
          // ECS's own bake between steps: the hook's lease on the service outlasts it.
          stepBakeSeconds: strategy.type === 'blue-green' ? 0 : strategy.bakeMinutes * 60,
        },
        // A stage the hook keeps IN_PROGRESS for 24 hours ends in a rollback (the hook's gates close before).
        timeoutConfiguration: { timeoutInMinutes: 1440, action: 'ROLLBACK' },
      },
    ],
  };
}

export interface WebServiceProps {
  readonly config: EnvironmentConfig;
  /** Which of the config's services this is. */
  readonly service: ServiceConfig;
  readonly capacity: EcsCapacity;
  readonly targetGroups: {
    readonly blue: elbv2.IApplicationTargetGroup;
    readonly green: elbv2.IApplicationTargetGroup;
    /** What the target groups actually use: the drain budget is checked against it. */
    readonly deregistrationDelay: Duration;
  };
  readonly listeners: {
    readonly productionListenerArn: string;
    readonly testListenerArn: string;
    readonly productionRuleArn: string;
    readonly testRuleArn: string;
  };
  /** Plain settings the application reads (endpoints, table names); never secrets. */
  readonly environment: Readonly<Record<string, string>>;
  readonly secrets: Readonly<Record<string, { secret: secretsmanager.ISecret; field?: string }>>;
  readonly deployTimeCallLogs: logs.ILogGroup;
  /** Needed by a service ECS deploys (`deployment.controller: ecs`). */
  readonly deploymentHook?: DeploymentHookTarget;
}

export class WebService extends Construct {
  readonly taskDefinition: ecs.Ec2TaskDefinition;
  readonly container: ecs.ContainerDefinition;
  readonly service: ecs.CfnService;
  readonly scalableTarget: appscaling.ScalableTarget;
  readonly logGroup: logs.LogGroup;
  /** The task-set controller's first task set (absent where ECS deploys the service). */
  readonly initialTaskSet?: cr.AwsCustomResource;
  readonly topology: ssm.StringParameter;
  readonly serviceName: string;
  readonly serviceArn: string;
  readonly drainBudget: SpotDrainBudget | undefined;

  constructor(scope: Construct, id: string, props: WebServiceProps) {
    super(scope, id);
    const { config, capacity } = props;
    const svc = props.service;
    const stack = Stack.of(this);
    const clusterName = config.compute.clusterName;
    this.serviceName = svc.name;
    this.serviceArn = stack.formatArn({
      service: 'ecs',
      resource: 'service',
      resourceName: `${clusterName}/${svc.name}`,
    });

    // Synth fails here when a spot-backed service cannot be out of the load balancer and stopped in time.
    this.drainBudget =
      svc.spotPercent > 0
        ? assertSpotDrainBudget({
            service: svc.name,
            configKey: `services.${config.services.indexOf(svc)}`,
            deregistrationDelaySeconds: props.targetGroups.deregistrationDelay.toSeconds(),
            stopTimeoutSeconds: svc.stopTimeoutSeconds,
            minimumHealthyPercent: svc.minimumHealthyPercent,
            maximumPercent: svc.maximumPercent,
            minTasks: svc.minTasks,
            marginSeconds: config.spotDrain.marginSeconds,
            replacementSeconds: replacementSecondsOf(config.spotDrain.taskStartSeconds, svc.healthCheck),
          })
        : undefined;

    this.logGroup = new logs.LogGroup(this, 'Logs', { retention: config.logRetentionDays });
    const taskRole = (id: string) =>
      new iam.Role(this, id, {
        assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com'),
        path: taskRolePathFor(config.name),
      });
    this.taskDefinition = new ecs.Ec2TaskDefinition(this, 'Task', {
      family: taskDefinitionFamilyFor(config.name, svc.name),
      networkMode: ecs.NetworkMode.BRIDGE,
      taskRole: taskRole('TaskRole'),
      executionRole: taskRole('ExecutionRole'),
    });
    this.container = this.taskDefinition.addContainer(APP_CONTAINER_NAME, {
      image: ecs.ContainerImage.fromRegistry(svc.image),
      cpu: svc.cpu,
      memoryLimitMiB: svc.memoryMiB,
      essential: true,
      portMappings: [{ containerPort: svc.containerPort, hostPort: 0, protocol: ecs.Protocol.TCP }],
      stopTimeout: Duration.seconds(svc.stopTimeoutSeconds),
      logging: ecs.LogDrivers.awsLogs({ logGroup: this.logGroup, streamPrefix: svc.name }),
      environment: { ...props.environment },
      secrets: Object.fromEntries(
        Object.entries(props.secrets).map(([name, s]) => [
          name,
          ecs.Secret.fromSecretsManager(s.secret, s.field),
        ]),
      ),
      readonlyRootFilesystem: false,
    });
    Validations.of(this.taskDefinition).acknowledge({
      id: 'AwsSolutions-ECS2',
      reason:
        'The environment holds endpoints and table names only; credentials come from Secrets Manager through the secrets field.',
    });

    const deployment = svc.deployment?.controller === 'ecs' ? svc.deployment : undefined;
    if (deployment && !props.deploymentHook)
      throw new Error(`WebService ${svc.name}: ECS deploys it, but the control plane has no deployment hook`);
    const strategy = capacity.defaultStrategy(svc).map((s) => ({
      capacityProvider: s.capacityProvider,
      weight: s.weight ?? 0,
      ...(s.base !== undefined ? { base: s.base } : {}),
    }));
    this.service = new ecs.CfnService(this, 'Service', {
      cluster: clusterName,
      serviceName: svc.name,
      ...(deployment && props.deploymentHook
        ? {
            // ECS deploys: it shifts the listener rules' weights between the two target groups,
            // and calls the control plane's hook at each stage.
            deploymentController: { type: 'ECS' },
            deploymentConfiguration: ecsDeploymentConfiguration(
              svc,
              deployment,
              props.deploymentHook,
              (['blue', 'green'] as const).flatMap((color) =>
                (['5xx', 'unhealthy-hosts'] as const).map((kind) =>
                  alarmNameOf(
                    resourcePrefix(config),
                    targetGroupAlarm(targetGroupLabel(svc.name, color), kind),
                  ),
                ),
              ),
            ),
            taskDefinition: this.taskDefinition.taskDefinitionArn,
            capacityProviderStrategy: strategy,
            loadBalancers: [
              {
                targetGroupArn: props.targetGroups.blue.targetGroupArn,
                containerName: APP_CONTAINER_NAME,
                containerPort: svc.containerPort,
                advancedConfiguration: {
                  alternateTargetGroupArn: props.targetGroups.green.targetGroupArn,
                  productionListenerRule: props.listeners.productionRuleArn,
                  testListenerRule: props.listeners.testRuleArn,
                  roleArn: this.loadBalancerRole().roleArn,
                },
              },
            ],
          }
        : {
            // Task sets, their task definition, capacity and load balancer belong to the rollout workflow.
            deploymentController: { type: 'EXTERNAL' },
            deploymentConfiguration: {
              minimumHealthyPercent: svc.minimumHealthyPercent,
              maximumPercent: svc.maximumPercent,
            },
          }),
      schedulingStrategy: 'REPLICA',
      // Spread over AZs, then instances: one reclaimed spot instance takes few tasks with it.
      placementStrategies: [
        { type: 'spread', field: 'attribute:ecs.availability-zone' },
        { type: 'spread', field: 'instanceId' },
      ],
      propagateTags: 'SERVICE',
      enableEcsManagedTags: true,
    });
    this.service.node.addDependency(capacity.cluster);

    this.scalableTarget = new appscaling.ScalableTarget(this, 'TaskCount', {
      serviceNamespace: appscaling.ServiceNamespace.ECS,
      resourceId: `service/${clusterName}/${svc.name}`,
      scalableDimension: 'ecs:service:DesiredCount',
      minCapacity: svc.minTasks,
      maxCapacity: svc.maxTasks,
      role: iam.Role.fromRoleArn(
        this,
        'ScalingRole',
        stack.formatArn({
          region: '',
          service: 'iam',
          resource: 'role/aws-service-role/ecs.application-autoscaling.amazonaws.com',
          resourceName: 'AWSServiceRoleForApplicationAutoScaling_ECSService',
        }),
      ),
    });
    this.scalableTarget.node.addDependency(this.service);
    this.scalableTarget.scaleToTrackMetric('Cpu', {
      predefinedMetric: appscaling.PredefinedMetric.ECS_SERVICE_AVERAGE_CPU_UTILIZATION,
      targetValue: svc.targetCpuPercent,
      scaleOutCooldown: Duration.seconds(60),
      scaleInCooldown: Duration.minutes(5),
    });

    // The task-set controller's service starts with one task set behind blue, made primary.
    if (!deployment) {
      const taskSetArns = stack.formatArn({
        service: 'ecs',
        resource: 'task-set',
        resourceName: `${clusterName}/${svc.name}/*`,
      });
      const initialTaskSet = new cr.AwsCustomResource(this, 'InitialTaskSet', {
        resourceType: 'Custom::InitialTaskSet',
        onCreate: {
          service: 'ECS',
          action: 'CreateTaskSet',
          parameters: {
            cluster: clusterName,
            service: svc.name,
            taskDefinition: this.taskDefinition.taskDefinitionArn,
            externalId: INITIAL_TASK_SET_EXTERNAL_ID,
            loadBalancers: [
              {
                targetGroupArn: props.targetGroups.blue.targetGroupArn,
                containerName: APP_CONTAINER_NAME,
                containerPort: svc.containerPort,
              },
            ],
            capacityProviderStrategy: strategy,
            scale: { unit: 'PERCENT', value: 100 },
          },
          physicalResourceId: cr.PhysicalResourceId.fromResponse('taskSet.taskSetArn'),
          outputPaths: ['taskSet.taskSetArn'],
        },
        // No onUpdate and no onDelete: the rollout replaces and deletes task sets; deleting the service removes the rest.
        policy: cr.AwsCustomResourcePolicy.fromStatements([
          // CreateTaskSet is authorized on the task set it creates (of this service only).
          new iam.PolicyStatement({
            actions: ['ecs:CreateTaskSet'],
            resources: [taskSetArns],
            conditions: { ArnEquals: { 'ecs:service': this.serviceArn } },
          }),
          new iam.PolicyStatement({
            actions: ['iam:PassRole'],
            resources: [
              this.taskDefinition.taskRole.roleArn,
              ...(this.taskDefinition.executionRole ? [this.taskDefinition.executionRole.roleArn] : []),
            ],
            conditions: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } },
          }),
        ]),
        installLatestAwsSdk: false,
        logGroup: props.deployTimeCallLogs,
      });
      acknowledgeWildcardResources(
        initialTaskSet,
        [taskSetArns],
        'CreateTaskSet is authorized on the task set it creates, whose id is generated: this service’s task sets only (and ecs:service).',
      );
      // The capacity providers must be associated with the cluster before a task set can name them.
      initialTaskSet.node.addDependency(capacity.cluster, this.service, this.scalableTarget);

      const primary = new cr.AwsCustomResource(this, 'InitialPrimaryTaskSet', {
        resourceType: 'Custom::InitialPrimaryTaskSet',
        onCreate: {
          service: 'ECS',
          action: 'UpdateServicePrimaryTaskSet',
          parameters: {
            cluster: clusterName,
            service: svc.name,
            primaryTaskSet: initialTaskSet.getResponseField('taskSet.taskSetArn'),
          },
          physicalResourceId: cr.PhysicalResourceId.fromResponse('taskSet.taskSetArn'),
          outputPaths: ['taskSet.taskSetArn'],
        },
        policy: cr.AwsCustomResourcePolicy.fromStatements([
          new iam.PolicyStatement({
            actions: ['ecs:UpdateServicePrimaryTaskSet'],
            resources: [this.serviceArn],
          }),
        ]),
        installLatestAwsSdk: false,
        logGroup: props.deployTimeCallLogs,
      });
      primary.node.addDependency(initialTaskSet);
      this.initialTaskSet = initialTaskSet;
    }

    const topology: ServiceTopology = {
      cluster: clusterName,
      service: svc.name,
      taskDefinitionFamily: this.taskDefinition.family,
      containerName: APP_CONTAINER_NAME,
      containerPort: svc.containerPort,
      blueTargetGroupArn: props.targetGroups.blue.targetGroupArn,
      greenTargetGroupArn: props.targetGroups.green.targetGroupArn,
      ...props.listeners,
      capacityProviderStrategy: strategy,
    };
    this.topology = new ssm.StringParameter(this, 'Topology', {
      parameterName: topologyParameterName(config.name, svc.name),
      description: `ecs-ops ${config.name}: what the rollout workflow needs to know about ${svc.name}`,
      stringValue: stack.toJsonString(topology),
    });
  }

  /**
   * The infrastructure role ECS moves the listener rules' weights with (an ECS deployment),
   * with AWS's managed policy for exactly that.
   */
  private loadBalancerRole(): iam.Role {
    const role = new iam.Role(this, 'LoadBalancerInfrastructureRole', {
      assumedBy: new iam.ServicePrincipal('ecs.amazonaws.com'),
      description: 'ECS shifts traffic between the target groups of the service with this role',
      managedPolicies: [
        iam.ManagedPolicy.fromAwsManagedPolicyName('AmazonECSInfrastructureRolePolicyForLoadBalancers'),
      ],
    });
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonECSInfrastructureRolePolicyForLoadBalancers]',
      reason:
        'AmazonECSInfrastructureRolePolicyForLoadBalancers is the policy AWS maintains for ECS deployments that shift listener rules; it changes with the actions ECS needs.',
    });
    return role;
  }
}
