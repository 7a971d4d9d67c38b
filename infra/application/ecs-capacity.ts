// The ECS cluster and its capacity: Fargate and Fargate Spot (short-lived tasks), a spot
// Auto Scaling group over several instance types (capacity-optimized) and an on-demand
// group. Each group sits behind a capacity provider with managed scaling, managed
// termination protection and managed draining; the spot instances also drain on the
// two-minute warning (ECS agent), and the control plane acts on the same warning.
import { Duration, Stack, Validations } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import type { EnvironmentConfig, ServiceConfig } from '../config.ts';

export interface EcsCapacityProps {
  readonly config: EnvironmentConfig['compute'];
  readonly vpc: ec2.IVpc;
  readonly subnets: ec2.SubnetSelection;
  readonly securityGroup: ec2.ISecurityGroup;
  /** Container stop timeout the agent allows (the web service's stopTimeout wins per container). */
  readonly containerStopTimeout: Duration;
}

export class EcsCapacity extends Construct {
  readonly cluster: ecs.Cluster;
  readonly spotGroup: autoscaling.AutoScalingGroup;
  readonly onDemandGroup: autoscaling.AutoScalingGroup;
  readonly spotProvider: ecs.AsgCapacityProvider;
  readonly onDemandProvider: ecs.AsgCapacityProvider;
  readonly instanceRole: iam.Role;

  constructor(scope: Construct, id: string, props: EcsCapacityProps) {
    super(scope, id);
    const { config } = props;
    this.cluster = new ecs.Cluster(this, 'Cluster', {
      clusterName: config.clusterName,
      vpc: props.vpc,
      containerInsightsV2:
        config.containerInsights === 'enhanced'
          ? ecs.ContainerInsights.ENHANCED
          : ecs.ContainerInsights.ENABLED,
      enableFargateCapacityProviders: true,
    });

    this.instanceRole = new iam.Role(this, 'InstanceRole', {
      assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
      description: `ECS container instances of ${config.clusterName}`,
    });
    const machineImage = ecs.EcsOptimizedImage.amazonLinux2023(
      config.architecture === 'arm64' ? ecs.AmiHardwareType.ARM : ecs.AmiHardwareType.STANDARD,
    );

    const group = (groupId: string, group: EnvironmentConfig['compute']['spot'], spot: boolean) => {
      const userData = ec2.UserData.forLinux();
      // The cluster line is added by addAsgCapacityProvider; these are ours.
      userData.addCommands(
        `echo ECS_CONTAINER_STOP_TIMEOUT=${props.containerStopTimeout.toSeconds()}s >> /etc/ecs/ecs.config`,
        ...(spot ? ['echo ECS_ENABLE_SPOT_INSTANCE_DRAINING=true >> /etc/ecs/ecs.config'] : []),
      );
      const launchTemplate = new ec2.LaunchTemplate(this, `${groupId}Template`, {
        machineImage,
        role: this.instanceRole,
        securityGroup: props.securityGroup,
        userData,
        requireImdsv2: true,
        // Hop limit 1: containers cannot reach the instance's credentials through IMDS.
        httpPutResponseHopLimit: 1,
        detailedMonitoring: true,
        blockDevices: [
          {
            deviceName: '/dev/xvda',
            volume: ec2.BlockDeviceVolume.ebs(30, {
              encrypted: true,
              volumeType: ec2.EbsDeviceVolumeType.GP3,
            }),
          },
        ],
      });
      const asg = new autoscaling.AutoScalingGroup(this, groupId, {
        autoScalingGroupName: group.asgName,
        vpc: props.vpc,
        vpcSubnets: props.subnets,
        minCapacity: group.minCapacity,
        maxCapacity: group.maxCapacity,
        mixedInstancesPolicy: {
          launchTemplate,
          launchTemplateOverrides: group.instanceTypes.map((type) => ({
            instanceType: new ec2.InstanceType(type),
          })),
          instancesDistribution: spot
            ? {
                onDemandBaseCapacity: 0,
                onDemandPercentageAboveBaseCapacity: 0,
                spotAllocationStrategy: autoscaling.SpotAllocationStrategy.CAPACITY_OPTIMIZED,
              }
            : {
                onDemandPercentageAboveBaseCapacity: 100,
                onDemandAllocationStrategy: autoscaling.OnDemandAllocationStrategy.PRIORITIZED,
              },
        },
        // Replace spot instances on a rebalance recommendation, before the interruption itself.
        capacityRebalance: spot,
        groupMetrics: [autoscaling.GroupMetrics.all()],
        defaultInstanceWarmup: Duration.seconds(60),
      });
      Validations.of(asg).acknowledge(
        {
          id: 'AwsSolutions-EC26',
          reason:
            'The launch template above encrypts the root volume (encrypted gp3); the rule cannot follow a mixed-instances launch template reference.',
        },
        {
          id: 'AwsSolutions-AS3',
          reason:
            'Scaling events reach the control plane through EventBridge (Auto Scaling and ECS events), which journals and alerts; SNS notifications would duplicate them.',
        },
      );
      return asg;
    };
    this.spotGroup = group('SpotGroup', config.spot, true);
    this.onDemandGroup = group('OnDemandGroup', config.onDemand, false);

    const provider = (providerId: string, asg: autoscaling.AutoScalingGroup, name: string) => {
      const created = new ecs.AsgCapacityProvider(this, providerId, {
        autoScalingGroup: asg,
        // Names starting with "ecs", "aws" or "fargate" are reserved.
        capacityProviderName: `cp-${name}`,
        enableManagedScaling: true,
        targetCapacityPercent: config.targetCapacityPercent,
        enableManagedTerminationProtection: true,
        enableManagedDraining: true,
      });
      this.cluster.addAsgCapacityProvider(created);
      return created;
    };
    this.spotProvider = provider('SpotProvider', this.spotGroup, config.spot.asgName);
    this.onDemandProvider = provider('OnDemandProvider', this.onDemandGroup, config.onDemand.asgName);

    // What addAsgCapacityProvider grants the agent includes actions without resource-level permissions.
    Validations.of(this.instanceRole).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'ECS agent: ecs:DiscoverPollEndpoint, ecr:GetAuthorizationToken and the log calls support no resource scope; ecs:Poll and StartTelemetrySession are limited by the ecs:cluster condition.',
    });
    const stack = Stack.of(this);
    Validations.of(this.instanceRole).acknowledge({
      id: `AwsSolutions-IAM5[Action::ecs:Submit*]`,
      reason: `The ECS agent reports container and task state with the ecs:Submit* family, on this cluster only (${stack.resolve(config.clusterName)}).`,
    });
  }

  /** The default strategy of task sets that name none: a base on on-demand, the rest split by weight. */
  defaultStrategy(
    service: Pick<ServiceConfig, 'onDemandBaseTasks' | 'spotPercent'>,
  ): ecs.CapacityProviderStrategy[] {
    return [
      {
        capacityProvider: this.onDemandProvider.capacityProviderName,
        base: service.onDemandBaseTasks,
        weight: 100 - service.spotPercent,
      },
      { capacityProvider: this.spotProvider.capacityProviderName, weight: service.spotPercent },
    ];
  }
}
