// Aurora MySQL in the isolated subnets: a writer and readers in other AZs (failover
// targets), storage encrypted with the data key, TLS required, audit/error/slow-query logs
// exported with retention. RDS keeps the master password in Secrets Manager and rotates it
// itself (ManageMasterUserPassword), so no rotation function has to be deployed or patched.
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import { Construct } from 'constructs';
import type { EnvironmentConfig } from '../config.ts';
import { MYSQL_PORT } from './network.ts';

/** Logs exported to CloudWatch: audit (see server_audit_events), errors, slow queries. */
const LOG_EXPORTS = ['audit', 'error', 'slowquery'] as const;

export interface DatabaseProps {
  readonly clusterIdentifier: string;
  readonly config: EnvironmentConfig['data']['aurora'];
  readonly vpc: ec2.IVpc;
  readonly subnets: ec2.SubnetSelection;
  readonly securityGroup: ec2.ISecurityGroup;
  readonly encryptionKey: kms.IKey;
  readonly logRetention: logs.RetentionDays;
}

export class Database extends Construct {
  readonly cluster: rds.DatabaseCluster;
  /**
   * The RDS-managed secret with the master credentials (rotated by RDS). The application never
   * holds it: it signs in as its own user with IAM authentication (database-app-user.ts).
   */
  readonly masterSecretArn: string;

  constructor(scope: Construct, id: string, props: DatabaseProps) {
    super(scope, id);
    const { config } = props;
    const engine = rds.DatabaseClusterEngine.auroraMysql({
      version: rds.AuroraMysqlEngineVersion.of(`8.0.mysql_aurora.${config.engineVersion}`, '8.0'),
    });
    const parameterGroup = new rds.ParameterGroup(this, 'Parameters', {
      engine,
      description: 'TLS only; audit connections and schema changes',
      parameters: {
        require_secure_transport: 'ON',
        server_audit_logging: '1',
        server_audit_events: 'CONNECT,QUERY_DCL,QUERY_DDL',
      },
    });

    const serverless = config.instances.kind === 'serverless' ? config.instances : undefined;
    const provisioned = config.instances.kind === 'provisioned' ? config.instances : undefined;
    const instance = (instanceId: string, isReader: boolean): rds.IClusterInstance =>
      provisioned
        ? rds.ClusterInstance.provisioned(instanceId, {
            instanceType: new ec2.InstanceType(provisioned.instanceType),
            publiclyAccessible: false,
            enablePerformanceInsights: true,
            ...(isReader ? { promotionTier: 1 } : {}),
          })
        : rds.ClusterInstance.serverlessV2(instanceId, {
            publiclyAccessible: false,
            // Readers follow the writer's capacity so a failover lands on a warm instance.
            ...(isReader ? { scaleWithWriter: true } : {}),
          });

    this.cluster = new rds.DatabaseCluster(this, 'Cluster', {
      engine,
      clusterIdentifier: props.clusterIdentifier,
      parameterGroup,
      writer: instance('Writer', false),
      readers: Array.from({ length: config.readers }, (_, i) => instance(`Reader${i + 1}`, true)),
      ...(serverless
        ? { serverlessV2MinCapacity: serverless.minAcu, serverlessV2MaxCapacity: serverless.maxAcu }
        : {}),
      ...(serverless && serverless.minAcu === 0 ? { serverlessV2AutoPauseDuration: Duration.hours(1) } : {}),
      vpc: props.vpc,
      vpcSubnets: props.subnets,
      securityGroups: [props.securityGroup],
      port: MYSQL_PORT,
      storageEncrypted: true,
      storageEncryptionKey: props.encryptionKey,
      manageMasterUserPassword: true,
      credentials: rds.Credentials.fromUsername('ops_admin', { encryptionKey: props.encryptionKey }),
      iamAuthentication: true,
      // The deploy-time creation of the application's user runs its SQL through the Data API.
      enableDataApi: true,
      backup: { retention: Duration.days(config.backupRetentionDays), preferredWindow: '02:00-03:00' },
      preferredMaintenanceWindow: 'sun:03:30-sun:04:30',
      cloudwatchLogsExports: [...LOG_EXPORTS],
      deletionProtection: config.deletionProtection,
      removalPolicy: config.deletionProtection ? RemovalPolicy.RETAIN : RemovalPolicy.SNAPSHOT,
      copyTagsToSnapshot: true,
      monitoringInterval: Duration.seconds(60),
    });
    // The export log groups are created here with retention (CDK's cloudwatchLogsRetention would deploy a
    // function to set it); the cluster waits for them so RDS finds them instead of creating its own.
    for (const exported of LOG_EXPORTS) {
      const group = new logs.LogGroup(this, `${exported}Logs`, {
        logGroupName: `/aws/rds/cluster/${props.clusterIdentifier}/${exported}`,
        retention: props.logRetention,
        removalPolicy: RemovalPolicy.DESTROY,
      });
      this.cluster.node.addDependency(group);
    }
    Validations.of(this.cluster).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole]',
      reason:
        'Enhanced monitoring requires this AWS-managed policy on its role (RDS documentation); it only writes to RDSOSMetrics.',
    });
    const cfnCluster = this.cluster.node.defaultChild as rds.CfnDBCluster;
    this.masterSecretArn = cfnCluster.attrMasterUserSecretSecretArn;

    Validations.of(this.cluster).acknowledge(
      {
        id: 'AwsSolutions-RDS11',
        reason:
          'The default port stays: only the container instances’ security group may connect, and a non-default port adds nothing against a client that is allowed in.',
      },
      {
        id: 'AwsSolutions-RDS14',
        reason:
          'Recovery is by point-in-time restore from continuous backups; Backtrack is not available for Aurora Serverless v2 and would differ between environments.',
      },
    );
    if (!config.deletionProtection) {
      Validations.of(this.cluster).acknowledge({
        id: 'AwsSolutions-RDS10',
        reason:
          'Deletion protection is off by configuration in this environment (data.aurora.deletionProtection); a final snapshot is still taken.',
      });
    }
  }
}
