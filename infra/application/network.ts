// The VPC and the security groups that encode "ALB -> tasks -> data": public subnets for
// the NAT gateways, private subnets for the load balancer, container instances and VPC link,
// isolated subnets for the databases. Flow logs go to a log group with the configured retention.
import { RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/** Bridge networking maps container ports to the instance's ephemeral range (ECS-optimized AMI). */
export const EPHEMERAL_PORTS = ec2.Port.tcpRange(32768, 65535);
export const MYSQL_PORT = 3306;
export const REDIS_PORT = 6379;

export interface NetworkProps {
  readonly cidr: string;
  readonly availabilityZones: readonly string[];
  readonly natGateways: number;
  /** Ports the load balancer listens on (production and test listeners). */
  readonly listenerPorts: readonly number[];
  readonly logRetention: logs.RetentionDays;
}

export class Network extends Construct {
  readonly vpc: ec2.Vpc;
  readonly loadBalancerSecurityGroup: ec2.SecurityGroup;
  /** ECS container instances; with bridge networking the tasks share it. */
  readonly instanceSecurityGroup: ec2.SecurityGroup;
  readonly databaseSecurityGroup: ec2.SecurityGroup;
  readonly cacheSecurityGroup: ec2.SecurityGroup;
  /** API Gateway's VPC link ENIs. */
  readonly vpcLinkSecurityGroup: ec2.SecurityGroup;
  readonly flowLogGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: NetworkProps) {
    super(scope, id);
    this.flowLogGroup = new logs.LogGroup(this, 'FlowLogs', {
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr(props.cidr),
      availabilityZones: [...props.availabilityZones],
      natGateways: props.natGateways,
      subnetConfiguration: [
        { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
        { name: 'private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 20 },
        { name: 'isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 },
      ],
      restrictDefaultSecurityGroup: true,
      flowLogs: {
        all: {
          destination: ec2.FlowLogDestination.toCloudWatchLogs(this.flowLogGroup),
          trafficType: ec2.FlowLogTrafficType.ALL,
        },
      },
      // Image layers and DynamoDB calls stay off the NAT gateways (and their per-GB charge).
      gatewayEndpoints: {
        S3: { service: ec2.GatewayVpcEndpointAwsService.S3 },
        DynamoDB: { service: ec2.GatewayVpcEndpointAwsService.DYNAMODB },
      },
    });

    const group = (groupId: string, description: string, allowAllOutbound: boolean) =>
      new ec2.SecurityGroup(this, groupId, { vpc: this.vpc, description, allowAllOutbound });
    this.loadBalancerSecurityGroup = group(
      'LoadBalancer',
      'Internal ALB: CloudFront VPC origin, VPC link',
      false,
    );
    this.instanceSecurityGroup = group(
      'Instances',
      'ECS container instances and their bridge-mode tasks',
      true,
    );
    this.databaseSecurityGroup = group('Database', 'Aurora MySQL: from the tasks only', false);
    this.cacheSecurityGroup = group('Cache', 'ElastiCache Redis: from the tasks only', false);
    this.vpcLinkSecurityGroup = group('VpcLink', 'API Gateway VPC link: to the ALB only', false);

    // The ALB is internal: CloudFront's VPC origin and the VPC link both reach it from inside the VPC.
    for (const port of props.listenerPorts) {
      this.loadBalancerSecurityGroup.addIngressRule(
        ec2.Peer.ipv4(props.cidr),
        ec2.Port.tcp(port),
        `Listener ${port} from inside the VPC (CloudFront VPC origin, VPC link)`,
      );
      this.vpcLinkSecurityGroup.addEgressRule(
        this.loadBalancerSecurityGroup,
        ec2.Port.tcp(port),
        `To listener ${port}`,
      );
    }
    this.loadBalancerSecurityGroup.connections.allowTo(
      this.instanceSecurityGroup,
      EPHEMERAL_PORTS,
      'ALB to tasks',
    );
    // Ingress only: the instances' outbound is open (image pulls, AWS APIs through the NAT gateways).
    this.databaseSecurityGroup.addIngressRule(
      this.instanceSecurityGroup,
      ec2.Port.tcp(MYSQL_PORT),
      'Tasks to Aurora',
    );
    this.cacheSecurityGroup.addIngressRule(
      this.instanceSecurityGroup,
      ec2.Port.tcp(REDIS_PORT),
      'Tasks to Redis',
    );
  }

  /** Subnets of the databases: no route to or from the internet. */
  get isolatedSubnets(): ec2.SubnetSelection {
    return { subnetType: ec2.SubnetType.PRIVATE_ISOLATED };
  }

  get privateSubnets(): ec2.SubnetSelection {
    return { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS };
  }
}
