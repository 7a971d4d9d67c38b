// ElastiCache for Redis OSS: a replication group with a primary and replicas spread over
// the AZs, automatic failover, encryption in transit (required) and at rest (data key),
// an AUTH token from Secrets Manager, and the slow log in CloudWatch Logs.
import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elasticache from 'aws-cdk-lib/aws-elasticache';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { EnvironmentConfig } from '../config.ts';
import { REDIS_PORT } from './network.ts';

export interface CacheProps {
  /** Also the prefix of the node ids (<id>-001, -002, ...) that the alarms watch. */
  readonly replicationGroupId: string;
  readonly config: EnvironmentConfig['data']['redis'];
  readonly vpc: ec2.IVpc;
  readonly subnets: ec2.SubnetSelection;
  readonly availabilityZones: readonly string[];
  readonly securityGroup: ec2.ISecurityGroup;
  readonly encryptionKey: kms.IKey;
  readonly logRetention: logs.RetentionDays;
}

export class Cache extends Construct {
  readonly replicationGroup: elasticache.CfnReplicationGroup;
  readonly authToken: secretsmanager.Secret;
  /** Member cluster ids: ElastiCache names them after the group with a 3-digit suffix. */
  readonly nodeIds: string[];

  constructor(scope: Construct, id: string, props: CacheProps) {
    super(scope, id);
    const { config } = props;
    const subnetGroup = new elasticache.CfnSubnetGroup(this, 'Subnets', {
      description: `${props.replicationGroupId}: isolated subnets`,
      subnetIds: props.vpc.selectSubnets(props.subnets).subnetIds,
    });
    this.authToken = new secretsmanager.Secret(this, 'AuthToken', {
      description: `${props.replicationGroupId}: Redis AUTH token`,
      encryptionKey: props.encryptionKey,
      // Redis AUTH tokens allow printable ASCII except a few symbols; letters and digits are always safe.
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
    });
    Validations.of(this.authToken).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'ElastiCache has no managed rotation for AUTH tokens: rotating needs ModifyReplicationGroup with AuthTokenUpdateStrategy ROTATE then SET, a runbook step, not a Secrets Manager rotation function.',
    });
    const slowLog = new logs.LogGroup(this, 'SlowLog', {
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    const nodeCount = 1 + config.replicas;
    this.nodeIds = Array.from(
      { length: nodeCount },
      (_, i) => `${props.replicationGroupId}-${String(i + 1).padStart(3, '0')}`,
    );
    this.replicationGroup = new elasticache.CfnReplicationGroup(this, 'ReplicationGroup', {
      replicationGroupId: props.replicationGroupId,
      replicationGroupDescription: `${props.replicationGroupId}: application cache`,
      engine: 'redis',
      engineVersion: config.engineVersion,
      cacheNodeType: config.nodeType,
      numCacheClusters: nodeCount,
      preferredCacheClusterAZs: this.nodeIds.map(
        (_, i) => props.availabilityZones[i % props.availabilityZones.length] as string,
      ),
      automaticFailoverEnabled: true,
      multiAzEnabled: true,
      transitEncryptionEnabled: true,
      transitEncryptionMode: 'required',
      atRestEncryptionEnabled: true,
      kmsKeyId: props.encryptionKey.keyArn,
      authToken: this.authToken.secretValue.unsafeUnwrap(), // a dynamic reference, resolved by CloudFormation
      cacheSubnetGroupName: subnetGroup.ref,
      securityGroupIds: [props.securityGroup.securityGroupId],
      port: REDIS_PORT,
      snapshotRetentionLimit: config.snapshotRetentionDays,
      snapshotWindow: '02:00-03:00',
      preferredMaintenanceWindow: 'sun:04:30-sun:05:30',
      autoMinorVersionUpgrade: true,
      logDeliveryConfigurations: [
        {
          destinationType: 'cloudwatch-logs',
          destinationDetails: { cloudWatchLogsDetails: { logGroup: slowLog.logGroupName } },
          logFormat: 'json',
          logType: 'slow-log',
        },
      ],
    });
    // Removing the cache (a stack deletion, a replacement) keeps a final snapshot where the
    // environment keeps snapshots at all (prod); dev's cache holds nothing worth one.
    this.replicationGroup.applyRemovalPolicy(
      config.snapshotRetentionDays > 0 ? RemovalPolicy.SNAPSHOT : RemovalPolicy.DESTROY,
    );
    Validations.of(this.replicationGroup).acknowledge({
      id: 'AwsSolutions-AEC5',
      reason:
        'The default port stays: only the container instances’ security group may connect, and AUTH plus TLS protect the endpoint.',
    });
  }
}
