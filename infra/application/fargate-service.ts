// A service on Fargate capacity: a worker in the private subnets, with no load balancer, split
// between FARGATE_SPOT and FARGATE by its capacity provider strategy (a base on FARGATE, the rest
// by weight). The control plane moves it to FARGATE when Fargate Spot reclaims it too often and
// back after a quiet period (a change CloudFormation does not see: it sets the strategy again only
// when the template's changes).
import { Duration, Validations } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { type EnvironmentConfig, type FargateServiceConfig, taskRolePathFor } from '../config.ts';
import { taskDefinitionFamilyFor } from './web-service.ts';

export interface FargateServiceProps {
  readonly config: EnvironmentConfig;
  readonly service: FargateServiceConfig;
  readonly cluster: ecs.ICluster;
  readonly subnets: ec2.SubnetSelection;
  readonly securityGroup: ec2.ISecurityGroup;
  /** Endpoints and names only: credentials come as secrets. */
  readonly environment: Record<string, string>;
}

/** FARGATE for the base and its share, FARGATE_SPOT for the rest. */
export function fargateStrategy(
  service: Pick<FargateServiceConfig, 'fargateBaseTasks' | 'fargateSpotPercent'>,
): { capacityProvider: string; base?: number; weight: number }[] {
  const spot = service.fargateSpotPercent;
  return [
    { capacityProvider: 'FARGATE', base: service.fargateBaseTasks, weight: 100 - spot },
    ...(spot > 0 ? [{ capacityProvider: 'FARGATE_SPOT', weight: spot }] : []),
  ];
}

export class FargateService extends Construct {
  readonly service: ecs.CfnService;
  readonly taskDefinition: ecs.FargateTaskDefinition;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: FargateServiceProps) {
    super(scope, id);
    const { config, service: svc } = props;
    this.logGroup = new logs.LogGroup(this, 'Logs', { retention: config.logRetentionDays });
    const taskRole = (roleId: string) =>
      new iam.Role(this, roleId, {
        assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com'),
        path: taskRolePathFor(config.name),
      });
    this.taskDefinition = new ecs.FargateTaskDefinition(this, 'Task', {
      family: taskDefinitionFamilyFor(config.name, svc.name),
      cpu: svc.cpu,
      memoryLimitMiB: svc.memoryMiB,
      runtimePlatform: {
        operatingSystemFamily: ecs.OperatingSystemFamily.LINUX,
        cpuArchitecture:
          config.compute.architecture === 'arm64' ? ecs.CpuArchitecture.ARM64 : ecs.CpuArchitecture.X86_64,
      },
      taskRole: taskRole('TaskRole'),
      executionRole: taskRole('ExecutionRole'),
    });
    this.taskDefinition.addContainer('app', {
      image: ecs.ContainerImage.fromRegistry(svc.image),
      essential: true,
      logging: ecs.LogDrivers.awsLogs({ logGroup: this.logGroup, streamPrefix: svc.name }),
      environment: { ...props.environment },
      readonlyRootFilesystem: true,
      ...(svc.command ? { command: svc.command } : {}),
      // Fargate Spot's notice is two minutes: all of it for the task to finish its work.
      stopTimeout: Duration.seconds(120),
    });
    Validations.of(this.taskDefinition).acknowledge({
      id: 'AwsSolutions-ECS2',
      reason: 'The environment holds endpoints and table names only; no credentials.',
    });

    this.service = new ecs.CfnService(this, 'Service', {
      cluster: props.cluster.clusterName,
      serviceName: svc.name,
      taskDefinition: this.taskDefinition.taskDefinitionArn,
      desiredCount: svc.desiredCount,
      capacityProviderStrategy: fargateStrategy(svc),
      platformVersion: 'LATEST',
      deploymentController: { type: 'ECS' },
      deploymentConfiguration: {
        minimumHealthyPercent: 100,
        maximumPercent: 200,
        deploymentCircuitBreaker: { enable: true, rollback: true },
      },
      networkConfiguration: {
        awsvpcConfiguration: {
          assignPublicIp: 'DISABLED',
          subnets: props.cluster.vpc.selectSubnets(props.subnets).subnetIds,
          securityGroups: [props.securityGroup.securityGroupId],
        },
      },
      propagateTags: 'SERVICE',
      enableEcsManagedTags: true,
    });
    this.service.node.addDependency(props.cluster);
  }
}
