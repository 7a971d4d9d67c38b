// The deployed application stack of one environment, as CloudFormation stacks that only
// compose constructs: Network -> Data -> Ingress -> Compute -> Edge(+EdgeGlobal in us-east-1)
// -> Observability. The control-plane stack stays separate (deployable alone; it finds the
// cluster and Auto Scaling groups by the names in the config) and gets its own alarms and
// the operator/viewer policies composed into it here.
import { CfnOutput, CrossStackReferences, Duration, ReferenceStrength, type Stack } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as route53Targets from 'aws-cdk-lib/aws-route53-targets';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct, IConstruct } from 'constructs';
import { lastResortAlarmPrefix, routedAlarmPrefix } from '../../events/operator-events.ts';
import { SILENCES_ID } from '../../functions/alert-router/silences.ts';
import { gateRecordId } from '../../functions/remediate-step/remediate-deps.ts';
import type { ManagedCluster } from '../../functions/shared/managed-clusters.ts';
import type { ManagedService } from '../../functions/shared/rollouts/config.ts';
import { rolloutRecordId } from '../../functions/shared/rollouts/record.ts';
import { trainRecordId } from '../../functions/shared/trains/record.ts';
import { AppTable } from '../application/app-table.ts';
import { AuditTrail } from '../application/audit-trail.ts';
import { Cache } from '../application/cache.ts';
import { Cdn } from '../application/cdn.ts';
import { OpsDashboard } from '../application/dashboard.ts';
import { DataBackups } from '../application/data-backups.ts';
import { Database } from '../application/database.ts';
import { APP_DATABASE, APP_DATABASE_USER, DatabaseAppUser } from '../application/database-app-user.ts';
import { deadLetterQueuesOf } from '../application/dead-letter-queues.ts';
import { EcsCapacity } from '../application/ecs-capacity.ts';
import { EdgeProtection } from '../application/edge-protection.ts';
import { FargateService } from '../application/fargate-service.ts';
import { HttpApi } from '../application/http-api.ts';
import { LoadBalancer, listenerPorts, servicePartId } from '../application/load-balancer.ts';
import { Network } from '../application/network.ts';
import { replacementSecondsOf } from '../application/spot-drain-budget.ts';
import { SpotGameDay } from '../application/spot-game-day.ts';
import {
  type DeploymentHookTarget,
  taskDefinitionFamilyFor,
  WebService,
} from '../application/web-service.ts';
import { type EnvironmentConfig, resourcePrefix, type ServiceConfig } from '../config.ts';
import { subscribeAlertEmails } from '../control-plane/alerting/alert-emails.ts';
import { outcomeMetric } from '../control-plane/observability/outcome-dashboard.ts';
import { OperatorPolicies } from '../control-plane/operator-policies.ts';
import { Alarms, targetGroupLabel } from '../shared/alarms.ts';
import { acknowledgeCdkProvidedFunctions, deployTimeCallLogGroup } from '../shared/cdk-internals.ts';
import { secureBucket } from '../shared/secure-bucket.ts';
import type { ControlPlaneStack } from './control-plane-stack.ts';
import { EnvironmentStack } from './environment-stack.ts';

/** CloudFront takes its certificate and web ACL from this region only. */
export const CLOUDFRONT_REGION = 'us-east-1';

export const appStackName = (environmentName: string, part: string) => `EcsOps-${environmentName}-${part}`;

/** The control plane manages exactly the cluster and groups the compute stack names from the same config. */
export function managedClustersFor(config: EnvironmentConfig): ManagedCluster[] {
  return [
    {
      name: config.compute.clusterName,
      rebalance: config.compute.rebalance,
      spotAsg: config.compute.spot.asgName,
      onDemandAsg: config.compute.onDemand.asgName,
      protectServices: [...config.services, ...(config.fargate?.services ?? [])].map((s) => s.name),
      ...(config.fargate
        ? {
            fargateFallback: {
              services: config.fargate.services.map((s) => s.name),
              ...config.fargate.spotFallback,
            },
          }
        : {}),
      // The slowest service's replacement: its task start and its health checks to healthy.
      drainBudget: {
        marginSeconds: config.spotDrain.marginSeconds,
        replacementSeconds: Math.max(
          ...config.services.map((s) =>
            replacementSecondsOf(config.spotDrain.taskStartSeconds, s.healthCheck),
          ),
        ),
      },
    },
  ];
}

/** The services' ALB, named so the control plane can find it without a lookup. */
export const loadBalancerNameFor = (config: EnvironmentConfig): string => `${resourcePrefix(config)}-alb`;

/** The rolled-out services as the rollout workflow knows them (cluster, service, load balancer). */
export function rolloutServicesFor(config: EnvironmentConfig): ManagedService[] {
  return config.services.map((service) => ({
    cluster: config.compute.clusterName,
    service: service.name,
    loadBalancerName: loadBalancerNameFor(config),
    taskDefinitionFamily: taskDefinitionFamilyFor(config.name, service.name),
    ...(service.deployment?.controller === 'ecs' ? { controller: 'ecs' as const } : {}),
  }));
}

interface Props {
  readonly config: EnvironmentConfig;
}

export class NetworkStack extends EnvironmentStack {
  readonly network: Network;

  constructor(scope: Construct, id: string, props: Props) {
    super(scope, id, {
      config: props.config,
      description: `ecs-ops ${props.config.name}: VPC and security groups`,
    });
    const ports = listenerPorts(props.config.domain !== null);
    this.network = new Network(this, 'Network', {
      cidr: props.config.network.cidr,
      availabilityZones: props.config.network.availabilityZones,
      natGateways: props.config.network.natGateways,
      listenerPorts: [ports.production, ports.test],
      logRetention: props.config.logRetentionDays,
    });
    acknowledgeCdkProvidedFunctions(this);
  }
}

export class DataStack extends EnvironmentStack {
  readonly key: kms.Key;
  readonly database: Database;
  readonly cache: Cache;
  readonly appTable: AppTable;
  /** S3 server access logs, ALB access logs, CloudFront standard logs. */
  readonly accessLogs: s3.Bucket;
  readonly backups: DataBackups;

  constructor(scope: Construct, id: string, props: Props & { readonly network: Network }) {
    super(scope, id, {
      config: props.config,
      description: `ecs-ops ${props.config.name}: Aurora MySQL, Redis, DynamoDB, S3`,
    });
    const { config, network } = props;
    const prefix = resourcePrefix(config);
    this.key = new kms.Key(this, 'DataKey', {
      description: `${prefix}: application data at rest (Aurora, Redis, DynamoDB, backups, secrets)`,
      enableKeyRotation: true,
    });

    this.accessLogs = secureBucket(this, 'AccessLogs', {
      versioned: false,
      // CloudFront standard logs are still delivered with an ACL grant.
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
      lifecycleRules: [{ id: 'expire-logs', expiration: Duration.days(config.logRetentionDays) }],
    });
    this.database = new Database(this, 'Database', {
      clusterIdentifier: `${prefix}-aurora`,
      config: config.data.aurora,
      vpc: network.vpc,
      subnets: network.isolatedSubnets,
      securityGroup: network.databaseSecurityGroup,
      encryptionKey: this.key,
      logRetention: config.logRetentionDays,
    });
    this.cache = new Cache(this, 'Cache', {
      replicationGroupId: `${prefix}-redis`,
      config: config.data.redis,
      vpc: network.vpc,
      subnets: network.isolatedSubnets,
      availabilityZones: config.network.availabilityZones,
      securityGroup: network.cacheSecurityGroup,
      encryptionKey: this.key,
      logRetention: config.logRetentionDays,
    });
    this.appTable = new AppTable(this, 'AppTable', {
      tableName: `${prefix}-app`,
      encryptionKey: this.key,
      deletionProtection: config.data.appTableDeletionProtection,
    });

    new DatabaseAppUser(this, 'DatabaseAppUser', {
      cluster: this.database.cluster,
      masterSecretArn: this.database.masterSecretArn,
      encryptionKey: this.key,
      logGroup: deployTimeCallLogGroup(this, config.logRetentionDays),
    });

    this.backups = new DataBackups(this, 'Backups', {
      namePrefix: prefix,
      encryptionKey: this.key,
      database: this.database.cluster,
      table: this.appTable.table,
    });

    output(
      this,
      'DatabaseEndpoint',
      this.database.cluster.clusterEndpoint.hostname,
      'Aurora writer endpoint',
    );
    output(
      this,
      'DatabaseSecretArn',
      this.database.masterSecretArn,
      'Aurora master credentials (RDS-managed)',
    );
    output(
      this,
      'RedisEndpoint',
      this.cache.replicationGroup.attrPrimaryEndPointAddress,
      'Redis primary endpoint',
    );
    output(this, 'AppTableName', this.appTable.table.tableName, 'Application DynamoDB table');
    output(this, 'BackupVaultName', this.backups.vault.backupVaultName, 'AWS Backup vault of the data');
    acknowledgeCdkProvidedFunctions(this);
  }
}

export class IngressStack extends EnvironmentStack {
  readonly loadBalancer: LoadBalancer;
  readonly api?: HttpApi;
  /** With a domain: the name CloudFront and API Gateway use to reach (and verify) the ALB. */
  readonly originDomainName?: string;

  constructor(
    scope: Construct,
    id: string,
    props: Props & {
      readonly network: Network;
      readonly data: DataStack;
      /** Override of dist/functions for the API authorizer's bundle. */
      readonly assetRoot?: string;
    },
  ) {
    super(scope, id, {
      config: props.config,
      description: `ecs-ops ${props.config.name}: internal ALB (blue/green) and API Gateway`,
    });
    const { config, network } = props;
    const prefix = resourcePrefix(config);
    let certificate: acm.ICertificate | undefined;
    let zone: route53.IHostedZone | undefined;
    if (config.domain) {
      zone = route53.HostedZone.fromHostedZoneAttributes(this, 'Zone', {
        hostedZoneId: config.domain.hostedZoneId,
        zoneName: config.domain.zoneName,
      });
      this.originDomainName = `origin.${config.domain.appRecord}.${config.domain.zoneName}`;
      certificate = new acm.Certificate(this, 'OriginCertificate', {
        domainName: this.originDomainName,
        validation: acm.CertificateValidation.fromDns(zone),
      });
    }
    const deployTimeCallLogs = deployTimeCallLogGroup(this, config.logRetentionDays);
    this.loadBalancer = new LoadBalancer(this, 'LoadBalancer', {
      loadBalancerName: loadBalancerNameFor(config),
      vpc: network.vpc,
      subnets: network.privateSubnets,
      securityGroup: network.loadBalancerSecurityGroup,
      services: config.services,
      ...(certificate ? { certificate } : {}),
      accessLogs: { bucket: props.data.accessLogs, prefix: 'alb' },
      deployTimeCallLogs,
    });
    if (zone && this.originDomainName) {
      // Resolves to the ALB's private addresses: only useful inside the VPC, which is the point.
      new route53.ARecord(this, 'OriginRecord', {
        zone,
        recordName: this.originDomainName,
        target: route53.RecordTarget.fromAlias(new route53Targets.LoadBalancerTarget(this.loadBalancer.alb)),
      });
    }
    if (config.features.apiGateway) {
      this.api = new HttpApi(this, 'Api', {
        apiName: `${prefix}-api`,
        vpc: network.vpc,
        subnets: network.privateSubnets,
        securityGroup: network.vpcLinkSecurityGroup,
        listener: this.loadBalancer.productionListener,
        ...(this.originDomainName ? { serverName: this.originDomainName } : {}),
        logRetention: config.logRetentionDays,
        assetRoot: props.assetRoot,
      });
      output(
        this,
        'ApiUrl',
        this.api.api.apiEndpoint,
        'API Gateway endpoint: answers only requests through CloudFront (/api/*)',
      );
    }
    const lb = this.loadBalancer;
    output(this, 'ProductionListenerArn', lb.productionListener.listenerArn, 'Production listener');
    output(this, 'TestListenerArn', lb.testListener.listenerArn, 'Test listener');
    config.services.forEach((service, index) => {
      const route = lb.routeOf(service.name);
      // The first service keeps the output names it had alone.
      const id = (part: string) => servicePartId(config.services, index, part);
      const of = index === 0 && config.services.length === 1 ? '' : ` of ${service.name}`;
      output(
        this,
        id('ProductionRuleArn'),
        route.productionRule.ruleArn,
        `Production traffic rule${of} (owned by the rollout)`,
      );
      output(
        this,
        id('TestRuleArn'),
        route.testRule.ruleArn,
        `Test traffic rule${of} (owned by the rollout)`,
      );
      output(this, id('BlueTargetGroupArn'), route.blue.targetGroupArn, `Blue target group${of}`);
      output(this, id('GreenTargetGroupArn'), route.green.targetGroupArn, `Green target group${of}`);
    });
    acknowledgeCdkProvidedFunctions(this);
  }
}

export class ComputeStack extends EnvironmentStack {
  readonly capacity: EcsCapacity;
  /** One per configured service, in the config's order. */
  readonly services: WebService[];
  /** The first service (an environment with one service has only it). */
  readonly web: WebService;
  /** The environment's Fargate services (config `fargate.services`). */
  readonly fargateServices: FargateService[];

  constructor(
    scope: Construct,
    id: string,
    props: Props & {
      readonly network: Network;
      readonly data: DataStack;
      readonly ingress: IngressStack;
      /** The control plane's lifecycle hook, for the services ECS deploys. */
      readonly deploymentHook?: DeploymentHookTarget;
    },
  ) {
    super(scope, id, {
      config: props.config,
      description: `ecs-ops ${props.config.name}: ECS cluster, capacity and the services`,
    });
    const { config, network, data, ingress } = props;
    this.capacity = new EcsCapacity(this, 'Capacity', {
      config: config.compute,
      vpc: network.vpc,
      subnets: network.privateSubnets,
      securityGroup: network.instanceSecurityGroup,
      // The agent's ceiling: long enough for the service that needs the longest.
      containerStopTimeout: Duration.seconds(Math.max(...config.services.map((s) => s.stopTimeoutSeconds))),
    });
    // Task sets that name no strategy (and one-off tasks) get the first service's on-demand base and spot share.
    this.capacity.cluster.addDefaultCapacityProviderStrategy(
      this.capacity.defaultStrategy(config.services[0] as ServiceConfig),
    );
    const lb = ingress.loadBalancer;
    // Imported by ARN: granting on the data stack's own objects would write these roles into its key policy.
    const redisToken = secretsmanager.Secret.fromSecretCompleteArn(
      this,
      'RedisToken',
      data.cache.authToken.secretArn,
    );
    const deployTimeCallLogs = deployTimeCallLogGroup(this, config.logRetentionDays);
    this.services = config.services.map((service, index) => {
      const route = lb.routeOf(service.name);
      const web = new WebService(this, servicePartId(config.services, index, 'Web'), {
        config,
        service,
        ...(props.deploymentHook ? { deploymentHook: props.deploymentHook } : {}),
        capacity: this.capacity,
        targetGroups: {
          blue: route.blue,
          green: route.green,
          deregistrationDelay: route.deregistrationDelay,
        },
        listeners: {
          productionListenerArn: lb.productionListener.listenerArn,
          testListenerArn: lb.testListener.listenerArn,
          productionRuleArn: route.productionRule.ruleArn,
          testRuleArn: route.testRule.ruleArn,
        },
        environment: {
          DB_HOST: data.database.cluster.clusterEndpoint.hostname,
          DB_READER_HOST: data.database.cluster.clusterReadEndpoint.hostname,
          DB_PORT: String(data.database.cluster.clusterEndpoint.port),
          REDIS_HOST: data.cache.replicationGroup.attrPrimaryEndPointAddress,
          REDIS_PORT: data.cache.replicationGroup.attrPrimaryEndPointPort,
          APP_TABLE: data.appTable.table.tableName,
          // IAM database authentication: the app signs a token with its task role for each new
          // connection (TLS required); no password to hold, so a rotation breaks nothing.
          DB_NAME: APP_DATABASE,
          DB_USER: APP_DATABASE_USER,
          DB_AUTH: 'iam',
        },
        secrets: {
          REDIS_AUTH_TOKEN: { secret: redisToken },
        },
        deployTimeCallLogs,
      });
      // Identity-side grants only: a grant through the data key's policy would make the data stack
      // reference these roles, and the compute stack already references the data stack.
      web.taskDefinition.obtainExecutionRole().addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'DecryptSecretsWithTheDataKey',
          actions: ['kms:Decrypt'],
          resources: [data.key.keyArn],
          conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${this.region}.amazonaws.com` } },
        }),
      );
      const taskRole = web.taskDefinition.taskRole;
      // rds-db:connect as the application's user only (never as the administrator).
      data.database.cluster.grantConnect(taskRole, APP_DATABASE_USER);
      taskRole.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'ReadWriteTheAppTable',
          actions: [
            'dynamodb:GetItem',
            'dynamodb:BatchGetItem',
            'dynamodb:Query',
            'dynamodb:PutItem',
            'dynamodb:UpdateItem',
            'dynamodb:DeleteItem',
            'dynamodb:BatchWriteItem',
            'dynamodb:ConditionCheckItem',
          ],
          resources: [data.appTable.table.tableArn],
        }),
      );
      taskRole.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'UseTheDataKeyThroughDynamoDB',
          actions: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey'],
          resources: [data.key.keyArn],
          conditions: { StringEquals: { 'kms:ViaService': `dynamodb.${this.region}.amazonaws.com` } },
        }),
      );
      return web;
    });
    this.web = this.services[0] as WebService;
    // Workers on Fargate and Fargate Spot, beside the instances' tasks (same security group).
    this.fargateServices = (config.fargate?.services ?? []).map(
      (service) =>
        new FargateService(this, `Fargate${pascal(service.name)}`, {
          config,
          service,
          cluster: this.capacity.cluster,
          subnets: network.privateSubnets,
          securityGroup: network.instanceSecurityGroup,
          environment: { APP_TABLE: data.appTable.table.tableName },
        }),
    );

    output(this, 'ClusterName', this.capacity.cluster.clusterName, 'ECS cluster');
    this.services.forEach((web, index) => {
      const id = (part: string) => servicePartId(config.services, index, part);
      output(this, id('ServiceName'), web.serviceName, 'Service (EXTERNAL deployment controller)');
      output(
        this,
        id('ServiceTopologyParameter'),
        web.topology.parameterName,
        'What the rollout needs to know',
      );
    });
    acknowledgeCdkProvidedFunctions(this);
  }
}

/** us-east-1: what CloudFront can only take from there. */
export class EdgeGlobalStack extends EnvironmentStack {
  readonly protection: EdgeProtection;

  constructor(scope: Construct, id: string, props: Props) {
    super(scope, id, {
      config: props.config,
      region: CLOUDFRONT_REGION,
      description: `ecs-ops ${props.config.name}: CloudFront WAF web ACL and certificate (us-east-1)`,
    });
    this.protection = new EdgeProtection(this, 'Protection', {
      namePrefix: resourcePrefix(props.config),
      rateLimit: props.config.features.wafRateLimit,
      domain: props.config.domain,
    });
    acknowledgeCdkProvidedFunctions(this);
  }
}

export class EdgeStack extends EnvironmentStack {
  readonly cdn: Cdn;

  constructor(
    scope: Construct,
    id: string,
    props: Props & {
      readonly global: EdgeGlobalStack;
      readonly ingress: IngressStack;
      readonly data: DataStack;
    },
  ) {
    super(scope, id, {
      config: props.config,
      description: `ecs-ops ${props.config.name}: CloudFront, static assets, DNS records`,
    });
    // The us-east-1 values arrive through Fn::GetStackOutput: no export locks, no SSM relay functions.
    CrossStackReferences.of(this).consume(ReferenceStrength.WEAK);
    const { config, ingress } = props;
    const ports = listenerPorts(config.domain !== null);
    this.cdn = new Cdn(this, 'Cdn', {
      namePrefix: resourcePrefix(config),
      loadBalancer: ingress.loadBalancer.alb,
      origin: {
        port: ports.production,
        tls: config.domain !== null,
        ...(ingress.originDomainName ? { domainName: ingress.originDomainName } : {}),
      },
      ...(ingress.api
        ? { api: { domainName: ingress.api.domainName, originVerifySecret: ingress.api.originVerifySecret } }
        : {}),
      webAclArn: props.global.protection.webAcl.attrArn,
      domain: config.domain,
      ...(props.global.protection.certificate ? { certificate: props.global.protection.certificate } : {}),
      accessLogs: props.data.accessLogs,
    });
    output(this, 'DistributionDomainName', this.cdn.distribution.distributionDomainName, 'CloudFront domain');
    output(
      this,
      'StaticAssetsBucketName',
      this.cdn.staticAssets.bucketName,
      'Static assets (served under /static/)',
    );
    if (this.cdn.appDomainName)
      output(this, 'AppUrl', `https://${this.cdn.appDomainName}`, 'Application URL');
    acknowledgeCdkProvidedFunctions(this);
  }
}

export class ObservabilityStack extends EnvironmentStack {
  readonly alarms: Alarms;
  readonly dashboard: OpsDashboard;
  readonly trail?: AuditTrail;
  readonly gameDay?: SpotGameDay;

  constructor(
    scope: Construct,
    id: string,
    props: Props & {
      readonly data: DataStack;
      readonly ingress: IngressStack;
      readonly compute: ComputeStack;
      readonly controlPlane: ControlPlaneStack;
      readonly controlPlaneAlarms: ControlPlaneAlarms;
    },
  ) {
    super(scope, id, {
      config: props.config,
      description: `ecs-ops ${props.config.name}: alarms, dashboard, CloudTrail`,
    });
    const { config, data, ingress, compute, controlPlane } = props;
    const prefix = resourcePrefix(config);
    const topics = controlPlane.topics;
    this.alarms = new Alarms(this, 'Alarms', {
      namePrefix: prefix,
      topics: { critical: topics.critical, warning: topics.warning },
    });
    // Per service: its target groups' alarms and its own (an environment with one service labels
    // its groups plain blue and green on the dashboard, as before).
    const single = config.services.length === 1;
    const targetGroups: { label: string; group: elbv2.IApplicationTargetGroup }[] = config.services.flatMap(
      (service) => {
        const route = ingress.loadBalancer.routeOf(service.name);
        return [
          { color: 'blue' as const, group: route.blue },
          { color: 'green' as const, group: route.green },
        ].map(({ color, group }) => {
          const label = targetGroupLabel(service.name, color);
          this.alarms.addTargetGroup(label, group);
          return { label: single ? color : label, group };
        });
      },
    );
    for (const web of compute.services)
      this.alarms.addEcsService(config.compute.clusterName, web.serviceName);
    this.alarms.addDatabase(data.database.cluster, config.data.aurora.readers > 0);
    this.alarms.addCache(data.cache.nodeIds);
    this.alarms.addTable('app-table', data.appTable.table);
    // A failing authorizer refuses every API request (API Gateway answers 500).
    if (ingress.api) this.alarms.addFunction('api-origin-verify', ingress.api.authorizerFunction.function);

    const undelivered = subscribeAlertEmails(this, { topics, ...config.alerts });
    if (undelivered) this.alarms.addDeadLetterQueue('undelivered-alert-emails', undelivered);
    if (config.features.cloudTrail) {
      this.trail = new AuditTrail(this, 'AuditTrail', {
        trailName: `${prefix}-trail`,
        accessLogs: data.accessLogs,
        logRetention: config.logRetentionDays,
        retainDays: Math.max(365, config.logRetentionDays),
      });
    }
    if (config.gameDays) {
      this.gameDay = new SpotGameDay(this, 'SpotGameDay', {
        namePrefix: prefix,
        spotGroupName: config.compute.spot.asgName,
        fraction: config.gameDays.spotFraction,
        stopAlarms: this.alarms.userFacing,
      });
      output(this, 'SpotGameDayTemplateId', this.gameDay.template.attrId, 'ops gameday spot --aws starts it');
    }
    const alarms: cloudwatch.IAlarm[] = [...this.alarms.alarms, ...props.controlPlaneAlarms.alarms];
    this.dashboard = new OpsDashboard(this, 'Dashboard', {
      dashboardName: prefix,
      alarms,
      targetGroups,
      services: compute.services.map((web) => ({
        clusterName: config.compute.clusterName,
        serviceName: web.serviceName,
      })),
      database: data.database.cluster,
      cacheNodeIds: data.cache.nodeIds,
    });
    acknowledgeCdkProvidedFunctions(this);
  }
}

/** The alarms on the control plane: routed through the alert router, or on the alert path itself. */
export interface ControlPlaneAlarms {
  readonly routed: Alarms;
  readonly lastResort: Alarms;
  /** Both sets. */
  readonly alarms: readonly cloudwatch.Alarm[];
}

/** What the control plane gets in a configured environment: alarms on itself and who may operate it. */
export function extendControlPlane(
  controlPlane: ControlPlaneStack,
  config: Pick<EnvironmentConfig, 'name'>,
): { alarms: ControlPlaneAlarms; operatorPolicies: OperatorPolicies } {
  const prefix = resourcePrefix(config);
  const found = <T>(
    type: abstract new (...args: never[]) => T,
  ): { construct: T & IConstruct; label: string }[] =>
    controlPlane.node
      .findAll()
      .filter((c): c is T & IConstruct => c instanceof type)
      .map((construct) => ({ construct, label: labelOf(controlPlane, construct) }));

  const functions = found(lambda.Function);
  const stateMachines = found(sfn.StateMachine);
  const tables = found(dynamodb.Table);
  const topics = found(sns.Topic);

  // What other stacks read from the control plane arrives as plain outputs (Fn::GetStackOutput):
  // exports would lock the control plane's topics and alarms against replacement.
  for (const { construct } of topics) CrossStackReferences.of(construct).produce(ReferenceStrength.WEAK);
  // The control plane's alarms reach people through the alert router (silenced, deduplicated and
  // grouped like every alert): the event-alerts rule matches their names. The alarms on that path
  // itself (the router, event-alerts, their queues and state) page the critical topic directly,
  // under names the rule does not match: when the path fails, nothing routed through it arrives.
  const routed = new Alarms(controlPlane, 'OpsAlarms', {
    namePrefix: routedAlarmPrefix(prefix).slice(0, -1),
  });
  const lastResort = new Alarms(controlPlane, 'AlertPathAlarms', {
    namePrefix: lastResortAlarmPrefix(prefix).slice(0, -1),
    topics: { critical: controlPlane.topics.critical, warning: controlPlane.topics.critical },
    severity: 'critical',
  });
  const alertPath = [controlPlane.alerting, controlPlane.eventAlerts];
  const alarmsOf = (construct: IConstruct): Alarms =>
    alertPath.some((part) => construct.node.path.startsWith(`${part.node.path}/`)) ? lastResort : routed;
  for (const { construct, label } of functions) alarmsOf(construct).addFunction(label, construct);
  for (const { construct, label } of stateMachines) alarmsOf(construct).addStateMachine(label, construct);
  for (const { construct, label } of tables) alarmsOf(construct).addTable(label, construct);
  // The alert DLQ has its own alarm, which pages without the router (infra/control-plane/alerting/alerting.ts).
  for (const queue of deadLetterQueuesOf(controlPlane).filter((q) => q !== controlPlane.alerting.queueDlq))
    alarmsOf(queue).addDeadLetterQueue(labelOf(controlPlane, queue), queue);
  // A router that stopped taking alerts off its queue (its event source disabled, its role broken)
  // fails no invocation: the queue's oldest message says so. Group windows delay for at most 15 minutes.
  lastResort.addQueueAge('alert-queue', controlPlane.alerting.queue, Duration.minutes(30));
  // A publish that failed is retried by SQS; the first failure already pages, before the DLQ fills.
  lastResort.addAnyCount(
    'alert-publish-failures',
    outcomeMetric('AlertPublishFailures', config.name),
    'The alert router could not publish alerts to SNS (they are retried, then kept in the alert DLQ)',
    'critical',
  );
  lastResort.addQueueAge('event-alerts-queue', controlPlane.eventAlerts.queue, Duration.minutes(30));
  const alarms: ControlPlaneAlarms = { routed, lastResort, alarms: [...routed.alarms, ...lastResort.alarms] };
  for (const alarm of alarms.alarms) CrossStackReferences.of(alarm).produce(ReferenceStrength.WEAK);

  const operatorPolicies = new OperatorPolicies(controlPlane, 'OperatorAccess', {
    namePrefix: prefix,
    stateMachines: stateMachines.map((s) => s.construct),
    tables: tables.map((t) => t.construct),
    silences: { table: controlPlane.alerting.table, itemKeys: [SILENCES_ID] },
    topics: topics.map((t) => t.construct),
    answers: {
      table: controlPlane.tables.operations,
      keyPatterns: [rolloutRecordId('*', '*'), gateRecordId('*'), trainRecordId('*')],
    },
    routeArns: controlPlane.rollouts.routeArns,
    journal: controlPlane.tables.journal,
  });
  return { alarms, operatorPolicies };
}

/** "SpotInterruption/SurgeWorkflow/StateMachine" -> "spot-interruption-surge-workflow". */
function labelOf(stack: Stack, construct: IConstruct): string {
  const parts = construct.node.scopes.slice(stack.node.scopes.length).map((s) => s.node.id);
  const meaningful = parts.filter(
    (p) => !['Resource', 'Function', 'StateMachine', 'Table'].includes(p) || parts.length === 1,
  );
  return meaningful
    .join('-')
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .toLowerCase();
}

function output(scope: Stack, id: string, value: string, description: string): void {
  new CfnOutput(scope, id, { value, description });
}

export interface EnvironmentStacks {
  network: NetworkStack;
  data: DataStack;
  ingress: IngressStack;
  compute: ComputeStack;
  edgeGlobal: EdgeGlobalStack;
  edge: EdgeStack;
  observability: ObservabilityStack;
  controlPlaneAlarms: ControlPlaneAlarms;
  operatorPolicies: OperatorPolicies;
}

/** Every application stack of one environment, next to its (already built) control plane. */
export function buildEnvironmentStacks(
  scope: Construct,
  config: EnvironmentConfig,
  controlPlane: ControlPlaneStack,
  options: { readonly assetRoot?: string } = {},
): EnvironmentStacks {
  const name = (part: string) => appStackName(config.name, part);
  const network = new NetworkStack(scope, name('Network'), { config });
  const data = new DataStack(scope, name('Data'), { config, network: network.network });
  const ingress = new IngressStack(scope, name('Ingress'), {
    config,
    network: network.network,
    data,
    assetRoot: options.assetRoot,
  });
  const hook = controlPlane.rollouts.deploymentHook;
  // Read as plain outputs (Fn::GetStackOutput), as every other control-plane value: exports would
  // lock the hook against replacement.
  if (hook)
    for (const construct of [hook.hook.function, hook.invokeRole])
      CrossStackReferences.of(construct).produce(ReferenceStrength.WEAK);
  const compute = new ComputeStack(scope, name('Compute'), {
    config,
    network: network.network,
    data,
    ingress,
    ...(hook
      ? {
          deploymentHook: {
            functionArn: hook.hook.function.functionArn,
            invokeRoleArn: hook.invokeRole.roleArn,
          },
        }
      : {}),
  });
  const edgeGlobal = new EdgeGlobalStack(scope, name('EdgeGlobal'), { config });
  const edge = new EdgeStack(scope, name('Edge'), { config, global: edgeGlobal, ingress, data });
  const { alarms: controlPlaneAlarms, operatorPolicies } = extendControlPlane(controlPlane, config);
  const observability = new ObservabilityStack(scope, name('Observability'), {
    config,
    data,
    ingress,
    compute,
    controlPlane,
    controlPlaneAlarms,
  });
  return {
    network,
    data,
    ingress,
    compute,
    edgeGlobal,
    edge,
    observability,
    controlPlaneAlarms,
    operatorPolicies,
  };
}

/** `api-worker` -> `ApiWorker`: a construct id from a configured name. */
const pascal = (name: string): string =>
  name
    .split('-')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
