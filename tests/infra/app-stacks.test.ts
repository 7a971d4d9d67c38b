// Template assertions on the deployed application stack, for both example configs (dev and
// prod), synthesized once the way `npm run synth` does: the assembly, network, data, compute,
// the control plane's place in it, dead-letter queues, permissions and cdk-nag. How the app is
// served and watched (ingress, edge, observability) is app-serving.test.ts. Each test states one
// property the deployed stack must have; cfn-lint and checkov run on every template in
// tests/infra/scanners.test.ts.
import type { Stack } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { lastResortAlarmPrefix, routedAlarmPrefix } from '../../events/operator-events.ts';
import { SILENCES_ID } from '../../functions/alert-router/silences.ts';
import { APP_USER_STATEMENTS } from '../../infra/application/database-app-user.ts';
import { loadConfig } from '../../infra/config.ts';
import { EVENT_SOURCE_MAX_CONCURRENCY } from '../../infra/control-plane/shared/event-queue.ts';
import { appStackName, CLOUDFRONT_REGION } from '../../infra/stacks/application-stacks.ts';
import { authorize, type Principal, ResolvedApp } from '../../local/iam.ts';
import { resolveTokens } from '../../local/template.ts';
import {
  asArray,
  type CfnResource,
  ENVIRONMENTS,
  logicalId,
  ofType,
  onlyOfType,
  PARTS,
  type Statement,
  sdkCall,
  statementsOf,
  type Template,
  text,
  useAppSynth,
} from './app-synth.ts';
import { sdkClientOf } from './synth-support.ts';

const app = useAppSynth();
const { template, allTemplates, environment, httpApi } = app;

/** The logical id of the table whose id contains `fragment`, in a control-plane template. */
const tableIdNamed = (
  template: { Resources: Record<string, { Type: string }> },
  fragment: string,
): string => {
  const id = Object.keys(template.Resources).find(
    (k) => k.includes(fragment) && template.Resources[k]?.Type === 'AWS::DynamoDB::Table',
  );
  if (!id) throw new Error(`no ${fragment} table in the template`);
  return id;
};
/** The operations table's logical id. */
/** The alarm-name prefixes the template's rules match on (the event-alerts rule's). */
const alarmRulePrefixes = (template: {
  Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
}): string[] =>
  Object.values(template.Resources)
    .filter((r) => r.Type === 'AWS::Events::Rule')
    .flatMap((r) =>
      (
        (r.Properties?.EventPattern as { detail?: { alarmName?: { prefix?: string }[] } })?.detail
          ?.alarmName ?? []
      )
        .map((m) => m.prefix)
        .filter((p): p is string => typeof p === 'string'),
    );

const claimsTableId = (template: { Resources: Record<string, { Type: string }> }): string =>
  tableIdNamed(template, 'Idempotency');

describe('synthesis', () => {
  it('writes every stack of both environments into one assembly, named by environment', () => {
    const names = app.synth.assembly.stacks.map((s) => s.stackName).sort();
    expect(names).toEqual(ENVIRONMENTS.flatMap((env) => PARTS.map((p) => appStackName(env, p))).sort());
  });

  it('puts each environment in its configured account and region, and the CloudFront parts in us-east-1', () => {
    for (const env of ENVIRONMENTS) {
      const config = loadConfig(env);
      for (const part of PARTS) {
        const artifact = app.synth.assembly.getStackByName(appStackName(env, part));
        const region = part === 'EdgeGlobal' ? CLOUDFRONT_REGION : config.region;
        expect(artifact.environment, `${env} ${part}`).toMatchObject({ account: config.account, region });
      }
    }
  });
});

describe('network', () => {
  // Which NAT gateway each private subnet's default route goes through, by the subnets' AZs.
  const egress = (env: string) => {
    const t = template(env, 'Network');
    const ref = (value: unknown) => (value as { Ref: string } | undefined)?.Ref ?? '';
    const az = (subnetRef: unknown) => t.Resources[ref(subnetRef)]?.Properties?.AvailabilityZone as string;
    const natAz = new Map(
      ofType(t, 'AWS::EC2::NatGateway').map(([id, n]) => [id, az(n.Properties?.SubnetId)]),
    );
    const tableAz = new Map(
      ofType(t, 'AWS::EC2::SubnetRouteTableAssociation').map(([, a]) => [
        ref(a.Properties?.RouteTableId),
        az(a.Properties?.SubnetId),
      ]),
    );
    const routes = ofType(t, 'AWS::EC2::Route')
      .filter(([, r]) => r.Properties?.NatGatewayId !== undefined)
      .map(([, r]) => ({
        subnetAz: tableAz.get(ref(r.Properties?.RouteTableId)),
        natAz: natAz.get(ref(r.Properties?.NatGatewayId)),
      }));
    return { natAzs: [...natAz.values()].sort(), routes };
  };

  it('gives dev exactly one NAT gateway, which every private subnet uses', () => {
    const config = loadConfig('dev');
    expect(config.network.natGateways).toBe(1);
    const { natAzs, routes } = egress('dev');
    expect(natAzs).toHaveLength(1);
    expect(routes).toHaveLength(config.network.availabilityZones.length);
    for (const r of routes) expect(r.natAz).toBe(natAzs[0]);
  });

  it('gives prod one NAT gateway per AZ, each private subnet leaving through its own AZ', () => {
    const config = loadConfig('prod');
    const { natAzs, routes } = egress('prod');
    expect(natAzs).toEqual([...config.network.availabilityZones].sort());
    expect(config.network.natGateways).toBe(config.network.availabilityZones.length);
    expect(routes.map((r) => r.subnetAz).sort()).toEqual(natAzs);
    for (const r of routes) expect(r.natAz, `private subnet in ${r.subnetAz}`).toBe(r.subnetAz);
  });
});

describe('data', () => {
  it('keeps Aurora backups in every environment as configured, at least a week in prod', () => {
    for (const env of ENVIRONMENTS) {
      const [, cluster] = onlyOfType(template(env, 'Data'), 'AWS::RDS::DBCluster');
      const retention = cluster.Properties?.BackupRetentionPeriod;
      expect(retention, env).toBe(loadConfig(env).data.aurora.backupRetentionDays);
      expect(retention as number, env).toBeGreaterThan(0);
    }
    const [, prod] = onlyOfType(template('prod', 'Data'), 'AWS::RDS::DBCluster');
    expect(prod.Properties?.BackupRetentionPeriod as number).toBeGreaterThanOrEqual(7);
  });

  it('runs Aurora MySQL across AZs in isolated subnets, not publicly accessible, encrypted, RDS-managed rotating secret', () => {
    const t = template('prod', 'Data');
    const [, cluster] = onlyOfType(t, 'AWS::RDS::DBCluster');
    expect(cluster.Properties).toMatchObject({
      Engine: 'aurora-mysql',
      StorageEncrypted: true,
      ManageMasterUserPassword: true,
      DeletionProtection: true,
      EnableIAMDatabaseAuthentication: true,
    });
    expect(cluster.Properties).not.toHaveProperty('MasterUserPassword');
    const instances = ofType(t, 'AWS::RDS::DBInstance');
    expect(instances.length).toBeGreaterThanOrEqual(2); // a writer and a failover target in another AZ
    for (const [, instance] of instances) expect(instance.Properties?.PubliclyAccessible).toBe(false);
    const [, subnets] = onlyOfType(t, 'AWS::RDS::DBSubnetGroup');
    const subnetIds = subnets.Properties?.SubnetIds as unknown[];
    expect(subnetIds).toHaveLength(loadConfig('prod').network.availabilityZones.length);
    for (const id of subnetIds) expect(text(id)).toMatch(/isolatedSubnet/);
  });

  it('keeps dev on Aurora Serverless v2 with a reader, pausing when idle', () => {
    const t = template('dev', 'Data');
    const [, cluster] = onlyOfType(t, 'AWS::RDS::DBCluster');
    expect(cluster.Properties?.ServerlessV2ScalingConfiguration).toMatchObject({
      MinCapacity: 0,
      MaxCapacity: 2,
    });
    expect(ofType(t, 'AWS::RDS::DBInstance')).toHaveLength(2);
  });

  it('encrypts Redis in transit (required) and at rest, with AUTH and multi-AZ failover', () => {
    for (const env of ENVIRONMENTS) {
      const [, group] = onlyOfType(template(env, 'Data'), 'AWS::ElastiCache::ReplicationGroup');
      expect(group.Properties, env).toMatchObject({
        TransitEncryptionEnabled: true,
        TransitEncryptionMode: 'required',
        AtRestEncryptionEnabled: true,
        KmsKeyId: expect.anything(),
        MultiAZEnabled: true,
        AutomaticFailoverEnabled: true,
      });
      expect(group.Properties?.NumCacheClusters as number).toBeGreaterThanOrEqual(2);
      expect(text(group.Properties?.AuthToken)).toContain('{{resolve:secretsmanager:');
    }
  });

  it('backs up Aurora and the application table daily and monthly into a kept vault under the data key', () => {
    for (const env of ENVIRONMENTS) {
      const t = template(env, 'Data');
      const [vaultId, vault] = onlyOfType(t, 'AWS::Backup::BackupVault');
      expect(vault, env).toMatchObject({ DeletionPolicy: 'Retain' });
      const [keyId] = onlyOfType(t, 'AWS::KMS::Key');
      expect(text(vault.Properties?.EncryptionKeyArn), env).toContain(keyId);
      const [, plan] = onlyOfType(t, 'AWS::Backup::BackupPlan');
      const rules =
        (plan.Properties?.BackupPlan as { BackupPlanRule?: Record<string, unknown>[] } | undefined)
          ?.BackupPlanRule ?? [];
      expect(
        rules.map((r) => [r.RuleName, (r.Lifecycle as { DeleteAfterDays: number }).DeleteAfterDays]),
        env,
      ).toEqual([
        ['daily', 35],
        ['monthly', 365],
      ]);
      for (const r of rules) expect(text(r.TargetBackupVault), env).toContain(vaultId);
      const [, selection] = onlyOfType(t, 'AWS::Backup::BackupSelection');
      const resources = text(
        (selection.Properties?.BackupSelection as { Resources?: unknown } | undefined)?.Resources,
      );
      const [clusterId] = onlyOfType(t, 'AWS::RDS::DBCluster');
      const [tableId] = onlyOfType(t, 'AWS::DynamoDB::Table');
      expect(resources, env).toContain(clusterId);
      expect(resources, env).toContain(tableId);
    }
  });

  it('creates the app’s database user through the Data API, in order, after the cluster, with IAM auth and rows only', () => {
    const t = template('prod', 'Data');
    const [, cluster] = onlyOfType(t, 'AWS::RDS::DBCluster');
    expect(cluster.Properties?.EnableIAMDatabaseAuthentication).toBe(true);
    expect(cluster.Properties?.EnableHttpEndpoint).toBe(true);
    const statements = ofType(t, 'Custom::DatabaseAppUser').map(([id, r]) => ({
      id,
      r,
      call: sdkCall(r.Properties?.Create),
    }));
    expect(statements.map((s) => [s.call.service, s.call.action, s.call.parameters?.sql])).toEqual(
      APP_USER_STATEMENTS.map((sql) => ['@aws-sdk/client-rds-data', 'ExecuteStatement', sql]),
    );
    // Each runs again on update (idempotent), after the previous one, the first after the writer.
    for (const [i, { r }] of statements.entries()) {
      expect(text(r.Properties?.Update)).toBe(text(r.Properties?.Create));
      const after = asArray(r.DependsOn as string | string[] | undefined);
      const previous = i === 0 ? 'DatabaseClusterWriter' : statements[i - 1]?.id;
      expect(after, `statement ${i + 1}`).toEqual(
        expect.arrayContaining([expect.stringMatching(`^${previous}`)]),
      );
    }
    expect(APP_USER_STATEMENTS.join(';')).not.toMatch(/GRANT ALL|ON \*\.\*|WITH GRANT OPTION/);
  });

  it('names an AWS SDK v3 client that exists in every deploy-time SDK call', () => {
    const calls = allTemplates().flatMap(({ name, template: t }) =>
      Object.values(t.Resources)
        .filter((r) => r.Properties?.Create !== undefined)
        .map((r) => ({ name, service: sdkCall(r.Properties?.Create).service })),
    );
    expect(calls.map((c) => c.service)).toEqual(expect.arrayContaining(['@aws-sdk/client-rds-data', 'ECS']));
    for (const { name, service } of calls) expect(sdkClientOf(service), `${name}: ${service}`).toBeDefined();
  });

  it('keeps a final Redis snapshot when the cache is removed or replaced', () => {
    for (const env of ENVIRONMENTS) {
      const [, group] = onlyOfType(template(env, 'Data'), 'AWS::ElastiCache::ReplicationGroup');
      expect(loadConfig(env).data.redis.snapshotRetentionDays, env).toBeGreaterThan(0);
      expect(group, env).toMatchObject({ DeletionPolicy: 'Snapshot', UpdateReplacePolicy: 'Snapshot' });
    }
  });

  it('gives the application table point-in-time recovery and a customer-managed key', () => {
    const [, table] = onlyOfType(template('prod', 'Data'), 'AWS::DynamoDB::Table');
    expect(table.Properties).toMatchObject({
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS' },
      DeletionProtectionEnabled: true,
    });
  });

  it('makes every bucket of every stack encrypted, TLS-only, public-access-blocked, with a lifecycle', () => {
    let buckets = 0;
    for (const { name, template: t } of allTemplates()) {
      for (const [id, bucket] of ofType(t, 'AWS::S3::Bucket')) {
        buckets += 1;
        expect(bucket.Properties, `${name}/${id}`).toMatchObject({
          BucketEncryption: { ServerSideEncryptionConfiguration: [expect.anything()] },
          PublicAccessBlockConfiguration: {
            BlockPublicAcls: true,
            BlockPublicPolicy: true,
            IgnorePublicAcls: true,
            RestrictPublicBuckets: true,
          },
          LifecycleConfiguration: { Rules: expect.arrayContaining([expect.anything()]) },
        });
        const policies = ofType(t, 'AWS::S3::BucketPolicy').filter(
          ([, p]) => text(p.Properties?.Bucket) === text({ Ref: id }),
        );
        expect(policies, `${name}/${id} policy`).toHaveLength(1);
        const denyInsecure = statementsOf((policies[0] as [string, CfnResource])[1]).find(
          (s) => s.Effect === 'Deny' && text(s.Condition).includes('"aws:SecureTransport":"false"'),
        );
        expect(denyInsecure, `${name}/${id} denies plain HTTP`).toBeDefined();
      }
    }
    expect(buckets).toBeGreaterThanOrEqual(ENVIRONMENTS.length * 3); // logs, static, trail
  });

  it('versions the buckets whose objects matter (static assets, trail)', () => {
    const versioned = (env: string, part: string) =>
      ofType(template(env, part), 'AWS::S3::Bucket').filter(
        ([, b]) =>
          (b.Properties?.VersioningConfiguration as { Status?: string } | undefined)?.Status === 'Enabled',
      ).length;
    expect(versioned('prod', 'Edge')).toBe(1);
    expect(versioned('prod', 'Observability')).toBe(1);
  });
});

describe('compute', () => {
  it('runs a spot group over at least three instance types, capacity-optimized, and an on-demand group', () => {
    for (const env of ENVIRONMENTS) {
      const config = loadConfig(env);
      const groups = ofType(template(env, 'Compute'), 'AWS::AutoScaling::AutoScalingGroup').map(([, g]) => g);
      const spot = groups.find((g) => g.Properties?.AutoScalingGroupName === config.compute.spot.asgName);
      const onDemand = groups.find(
        (g) => g.Properties?.AutoScalingGroupName === config.compute.onDemand.asgName,
      );
      const spotPolicy = spot?.Properties?.MixedInstancesPolicy as {
        InstancesDistribution: Record<string, unknown>;
        LaunchTemplate: { Overrides: { InstanceType: string }[] };
      };
      expect(spotPolicy.LaunchTemplate.Overrides.length, env).toBeGreaterThanOrEqual(3);
      expect(spotPolicy.InstancesDistribution).toMatchObject({
        OnDemandPercentageAboveBaseCapacity: 0,
        SpotAllocationStrategy: 'capacity-optimized',
      });
      expect(spot?.Properties?.CapacityRebalance).toBe(true);
      expect(
        (
          onDemand?.Properties?.MixedInstancesPolicy as
            | { InstancesDistribution?: Record<string, unknown> }
            | undefined
        )?.InstancesDistribution,
      ).toMatchObject({ OnDemandPercentageAboveBaseCapacity: 100 });
    }
  });

  it('puts each group behind a capacity provider with managed scaling, termination protection and draining', () => {
    const t = template('prod', 'Compute');
    const providers = ofType(t, 'AWS::ECS::CapacityProvider');
    expect(providers).toHaveLength(2);
    for (const [, p] of providers) {
      expect(p.Properties?.AutoScalingGroupProvider).toMatchObject({
        ManagedDraining: 'ENABLED',
        ManagedTerminationProtection: 'ENABLED',
        ManagedScaling: { Status: 'ENABLED', TargetCapacity: 90 },
      });
    }
    const [, association] = onlyOfType(t, 'AWS::ECS::ClusterCapacityProviderAssociations');
    expect(association.Properties?.CapacityProviders).toEqual(
      expect.arrayContaining(['FARGATE', 'FARGATE_SPOT', ...providers.map(([id]) => ({ Ref: id }))]),
    );
    expect(text(association.Properties?.DefaultCapacityProviderStrategy)).toContain('"Base":2');
  });

  it('drains spot instances on the two-minute warning and blocks containers from instance credentials', () => {
    for (const [, lt] of ofType(template('prod', 'Compute'), 'AWS::EC2::LaunchTemplate')) {
      const data = lt.Properties?.LaunchTemplateData as Record<string, unknown>;
      expect(data.MetadataOptions).toMatchObject({ HttpTokens: 'required', HttpPutResponseHopLimit: 1 });
      expect(text(data.BlockDeviceMappings)).toContain('"Encrypted":true');
      expect(text(data.UserData)).toContain('ECS_CONTAINER_STOP_TIMEOUT=30s');
    }
    const spotTemplate = ofType(template('prod', 'Compute'), 'AWS::EC2::LaunchTemplate').filter(([, lt]) =>
      text(lt.Properties).includes('ECS_ENABLE_SPOT_INSTANCE_DRAINING=true'),
    );
    expect(spotTemplate).toHaveLength(1);
  });

  it('turns on Container Insights', () => {
    const [, cluster] = onlyOfType(template('prod', 'Compute'), 'AWS::ECS::Cluster');
    expect(cluster.Properties?.ClusterSettings).toEqual([{ Name: 'containerInsights', Value: 'enhanced' }]);
  });

  it('creates the web service with the EXTERNAL controller and leaves task sets, image and count to the control plane', () => {
    const t = template('prod', 'Compute');
    const web = ofType(t, 'AWS::ECS::Service').filter(([, r]) => r.Properties?.ServiceName !== 'worker');
    expect(web).toHaveLength(1);
    const [serviceId, service] = web[0] as (typeof web)[number];
    expect(service.Properties).toMatchObject({
      DeploymentController: { Type: 'EXTERNAL' },
      DeploymentConfiguration: { MinimumHealthyPercent: 50, MaximumPercent: 200 },
    });
    for (const owned of [
      'TaskDefinition',
      'LoadBalancers',
      'DesiredCount',
      'LaunchType',
      'NetworkConfiguration',
    ])
      expect(service.Properties, owned).not.toHaveProperty(owned);
    for (const type of [
      'AWS::ECS::TaskSet',
      'AWS::ECS::PrimaryTaskSet',
      'AWS::ElasticLoadBalancingV2::ListenerRule',
    ])
      expect(ofType(t, type), type).toEqual([]);
    // Service auto scaling on the desired count, tracking CPU.
    const [, target] = onlyOfType(t, 'AWS::ApplicationAutoScaling::ScalableTarget');
    expect(target.Properties).toMatchObject({
      ScalableDimension: 'ecs:service:DesiredCount',
      MinCapacity: 6,
      MaxCapacity: 30,
    });
    expect(asArray(target.DependsOn)).toContain(serviceId);
    const [, policy] = onlyOfType(t, 'AWS::ApplicationAutoScaling::ScalingPolicy');
    expect(text(policy.Properties)).toContain('ECSServiceAverageCPUUtilization');
  });

  it('runs the Fargate worker on FARGATE_SPOT and FARGATE by the config, and hands the control plane its fallback', () => {
    const config = loadConfig('prod');
    const worker = config.fargate?.services[0];
    const [, service] = ofType(template('prod', 'Compute'), 'AWS::ECS::Service').find(
      ([, r]) => r.Properties?.ServiceName === 'worker',
    ) as [string, { Properties?: Record<string, unknown> }];
    expect(service.Properties).toMatchObject({
      DesiredCount: worker?.desiredCount,
      CapacityProviderStrategy: [
        {
          CapacityProvider: 'FARGATE',
          Base: worker?.fargateBaseTasks,
          Weight: 100 - (worker?.fargateSpotPercent ?? 0),
        },
        { CapacityProvider: 'FARGATE_SPOT', Weight: worker?.fargateSpotPercent },
      ],
      DeploymentConfiguration: { DeploymentCircuitBreaker: { Enable: true, Rollback: true } },
      NetworkConfiguration: { AwsvpcConfiguration: { AssignPublicIp: 'DISABLED' } },
    });
    expect(service.Properties).not.toHaveProperty('LaunchType');
    const [, definition] = ofType(template('prod', 'Compute'), 'AWS::ECS::TaskDefinition').find(
      ([, r]) => r.Properties?.Family === 'ecs-ops-prod-worker',
    ) as [string, { Properties?: Record<string, unknown> }];
    expect(definition.Properties).toMatchObject({
      RequiresCompatibilities: ['FARGATE'],
      NetworkMode: 'awsvpc',
      RuntimePlatform: { CpuArchitecture: 'ARM64', OperatingSystemFamily: 'LINUX' },
    });
    // The spot function moves it to FARGATE and back: its cluster carries the fallback settings.
    const spot = ofType(template('prod', 'ControlPlane'), 'AWS::Lambda::Function').find(([, r]) =>
      text(r.Properties).includes('SURGE_STATE_MACHINE_ARN'),
    ) as [string, { Properties?: { Environment?: { Variables?: Record<string, string> } } }];
    const clusters = JSON.parse(spot[1].Properties?.Environment?.Variables?.MANAGED_CLUSTERS ?? '[]');
    expect(clusters[0]).toMatchObject({
      fargateFallback: { services: ['worker'], ...config.fargate?.spotFallback },
    });
    expect(clusters[0].protectServices).toContain('worker');
  });

  it('creates the first task set once, behind blue, with no update call', () => {
    const t = template('prod', 'Compute');
    const [, initial] = onlyOfType(t, 'Custom::InitialTaskSet');
    expect(initial.Properties).not.toHaveProperty('Update');
    expect(initial.Properties).not.toHaveProperty('Delete');
    const create = text(initial.Properties?.Create);
    expect(create).toContain('CreateTaskSet');
    expect(create).toContain('LoadBalancerBlue');
    expect(create).not.toContain('LoadBalancerGreen');
    const [, primary] = onlyOfType(t, 'Custom::InitialPrimaryTaskSet');
    expect(primary.Properties).not.toHaveProperty('Update');
  });

  it('publishes the service topology the rollout workflow reads', () => {
    const [, parameter] = onlyOfType(template('prod', 'Compute'), 'AWS::SSM::Parameter');
    expect(parameter.Properties?.Name).toBe('/ecs-ops/prod/services/web');
    const value = text(parameter.Properties?.Value);
    for (const key of [
      'blueTargetGroupArn',
      'greenTargetGroupArn',
      'productionRuleArn',
      'testRuleArn',
      'capacityProviderStrategy',
    ])
      expect(value).toContain(key);
  });
});

describe('dead-letter queues', () => {
  /** Logical ids of the queues a template names as dead-letter queues, with who names them. */
  const deadLetterQueues = (t: Template): Map<string, string> => {
    const found = new Map<string, string>();
    const add = (arn: unknown, by: string) => {
      const getAtt = (arn as { 'Fn::GetAtt'?: [string, string] } | undefined)?.['Fn::GetAtt'];
      if (getAtt?.[1] === 'Arn') found.set(getAtt[0], by);
    };
    for (const [id, r] of Object.entries(t.Resources)) {
      const p = (r.Properties ?? {}) as {
        RedrivePolicy?: { deadLetterTargetArn?: unknown };
        DeadLetterConfig?: { TargetArn?: unknown };
        Targets?: { DeadLetterConfig?: { Arn?: unknown } }[];
        Target?: { DeadLetterConfig?: { Arn?: unknown } };
      };
      if (r.Type === 'AWS::SQS::Queue' || r.Type === 'AWS::SNS::Subscription')
        add(p.RedrivePolicy?.deadLetterTargetArn, id);
      if (r.Type === 'AWS::Lambda::Function') add(p.DeadLetterConfig?.TargetArn, id);
      if (r.Type === 'AWS::Events::Rule')
        for (const target of asArray(p.Targets)) add(target.DeadLetterConfig?.Arn, id);
      if (r.Type === 'AWS::Scheduler::Schedule') add(p.Target?.DeadLetterConfig?.Arn, id);
    }
    return found;
  };

  it('alarms on the depth of every dead-letter queue of every stack, notifying a topic or the router', () => {
    let prodQueues = 0;
    for (const { name, template: t } of allTemplates()) {
      const alarms = ofType(t, 'AWS::CloudWatch::Alarm').map(([, a]) => a.Properties ?? {});
      for (const [queue, by] of deadLetterQueues(t)) {
        if (name.startsWith('EcsOps-prod-')) prodQueues += 1;
        const depth = alarms.filter(
          (a) =>
            a.Namespace === 'AWS/SQS' &&
            a.MetricName === 'ApproximateNumberOfMessagesVisible' &&
            text(a.Dimensions) ===
              text([{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queue, 'QueueName'] } }]),
        );
        expect(depth, `${name}/${queue} (dead-letter queue of ${by}) has a depth alarm`).toHaveLength(1);
        // The control plane's alarms reach people through the alert router (the event-alerts rule
        // matches their names); those on the alert path, and every other stack's, notify a topic.
        const routed = String(depth[0]?.AlarmName).startsWith(
          routedAlarmPrefix(`ecs-ops-${name.split('-')[1]}`),
        );
        expect(asArray(depth[0]?.AlarmActions as unknown[]), `${name}/${queue} alarm notifies`).toHaveLength(
          routed ? 0 : 1,
        );
        if (routed)
          expect(alarmRulePrefixes(t), `${name}/${queue} alarm is routed`).toContain(
            routedAlarmPrefix(`ecs-ops-${name.split('-')[1]}`),
          );
      }
    }
    // prod: the control plane's 11 functions' async DLQs, the queue and delivery DLQs of spot,
    // event-alerts, scaling and remediation, the alert queue's, the scaling schedules', the alert
    // router tick's and the e-mail subscriptions'. The API's authorizer has none: API Gateway only
    // invokes it synchronously.
    expect(prodQueues).toBe(23);
  });
});

describe('control plane', () => {
  it('routes its own alarms through the alert router, and pages directly for the alert path itself', () => {
    const t = template('prod', 'ControlPlane');
    const alarms = ofType(t, 'AWS::CloudWatch::Alarm').map(([, a]) => a.Properties ?? {});
    const named = (prefix: string) => alarms.filter((a) => String(a.AlarmName).startsWith(prefix));
    const routed = named(routedAlarmPrefix('ecs-ops-prod'));
    const lastResort = named(lastResortAlarmPrefix('ecs-ops-prod'));
    expect(routed.length).toBeGreaterThan(30);
    expect(alarmRulePrefixes(t)).toEqual([routedAlarmPrefix('ecs-ops-prod')]);
    for (const a of routed) expect(a.AlarmActions, String(a.AlarmName)).toBeUndefined();
    // Every function, workflow and table of the control plane is watched, failures and throttles both.
    for (const kind of ['rollouts-step-errors', 'rollouts-step-throttles', 'rollouts-workflow-failed'])
      expect(routed.map((a) => a.AlarmName)).toContain(`${routedAlarmPrefix('ecs-ops-prod')}${kind}`);
    expect(
      lastResort.map((a) => String(a.AlarmName).slice(lastResortAlarmPrefix('ecs-ops-prod').length)).sort(),
    ).toEqual([
      'alert-publish-failures',
      'alert-queue-stalled',
      'alerting-router-async-dlq-not-empty',
      'alerting-router-errors',
      'alerting-router-throttles',
      'alerting-state-throttles',
      'alerting-tick-dlq-not-empty',
      'event-alerts-async-dlq-not-empty',
      'event-alerts-delivery-dlq-not-empty',
      'event-alerts-errors',
      'event-alerts-queue-dlq-not-empty',
      'event-alerts-queue-stalled',
      'event-alerts-throttles',
    ]);
    const critical = ofType(t, 'AWS::SNS::Topic').find(([id]) => id.startsWith('AlertsCritical'))?.[0];
    for (const a of lastResort) {
      expect(a.AlarmActions, String(a.AlarmName)).toEqual([{ Ref: critical }]);
      expect(a.OKActions, String(a.AlarmName)).toEqual([{ Ref: critical }]);
      expect(String(a.AlarmDescription)).toMatch(/^\[critical\]/);
    }
  });

  it('gives every EventBridge rule target of every stack a dead-letter queue and a retry policy', () => {
    let targets = 0;
    for (const { name, template: t } of allTemplates()) {
      for (const [id, rule] of ofType(t, 'AWS::Events::Rule')) {
        for (const target of asArray(rule.Properties?.Targets as Record<string, unknown>[])) {
          targets += 1;
          expect(target, `${name}/${id}`).toMatchObject({
            DeadLetterConfig: { Arn: expect.anything() },
            RetryPolicy: expect.anything(),
          });
        }
      }
    }
    expect(targets).toBeGreaterThan(0);
  });

  it('bounds every queue-driven function by a maximum concurrency of its event source', () => {
    let mappings = 0;
    for (const { name, template: t } of allTemplates())
      for (const [id, mapping] of ofType(t, 'AWS::Lambda::EventSourceMapping')) {
        mappings += 1;
        expect(mapping.Properties?.ScalingConfig, `${name}/${id}`).toEqual({
          MaximumConcurrency: EVENT_SOURCE_MAX_CONCURRENCY,
        });
      }
    expect(mappings).toBe(2 * 5); // spot, alerting, event-alerts, scaling and remediation queues per environment
  });

  it('manages the cluster and groups the compute stack creates, by their configured names', () => {
    const config = loadConfig('prod');
    const text = JSON.stringify(template('prod', 'ControlPlane'));
    expect(text).toContain(`:cluster/${config.compute.clusterName}`);
    expect(text).toContain(`autoScalingGroupName/${config.compute.spot.asgName}`);
    expect(text).toContain(`autoScalingGroupName/${config.compute.onDemand.asgName}`);
    // The rollout workflow knows the web service by cluster, service and the ALB's (configured) name.
    const [, alb] = onlyOfType(template('prod', 'Ingress'), 'AWS::ElasticLoadBalancingV2::LoadBalancer');
    expect(alb.Properties?.Name).toBe('ecs-ops-prod-alb');
    expect(text).toContain('ecs-ops-prod-alb');
  });
});

describe('permissions', () => {
  it('grants no "*" or "service:*" action in any identity policy of any stack', () => {
    for (const { name, template: t } of allTemplates()) {
      const policies = [...ofType(t, 'AWS::IAM::Policy'), ...ofType(t, 'AWS::IAM::ManagedPolicy')];
      for (const [id, p] of policies) {
        const broad = statementsOf(p).filter((s) =>
          asArray(s.Action).some((a) => a === '*' || a.endsWith(':*')),
        );
        expect(broad, `${name}/${id}`).toEqual([]);
      }
    }
  });

  it('gives operators and viewers managed policies scoped to the environment’s workflows, tables and topics', async () => {
    const t = template('prod', 'ControlPlane');
    const policies = Object.fromEntries(
      ofType(t, 'AWS::IAM::ManagedPolicy').map(([, p]) => [p.Properties?.ManagedPolicyName as string, p]),
    );
    expect(Object.keys(policies).sort()).toEqual(['ecs-ops-prod-operator', 'ecs-ops-prod-viewer']);
    const actions = (name: string) =>
      statementsOf(policies[name] as CfnResource).flatMap((s) => asArray(s.Action).map((a) => ({ a, s })));
    const viewer = actions('ecs-ops-prod-viewer').map(({ a }) => a);
    expect(viewer).not.toContain('states:StartExecution');
    expect(viewer.filter((a) => /:(Put|Update|Delete|Start|Stop|Send)/.test(a))).toEqual([]);
    const operator = actions('ecs-ops-prod-operator');
    const start = operator.find(({ a }) => a === 'states:StartExecution');
    expect(text(start?.s.Resource)).toMatch(/SpotInterruptionSurgeWorkflow/);
    const stop = operator.find(({ a }) => a === 'states:StopExecution');
    expect(text(stop?.s.Resource)).toContain(':execution:');
    const silences = operator.find(
      ({ a, s }) => a === 'dynamodb:UpdateItem' && text(s.Resource).includes('AlertingState'),
    )?.s;
    expect(silences?.Condition).toEqual({
      'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': [SILENCES_ID] },
    });
    expect(text(silences?.Resource)).toMatch(/AlertingState/);
    // Answers to gates, aborts and rollbacks are claimed on these records only; traffic goes back to
    // blue on the managed load balancers' listeners and rules only.
    const claims = operator.find(
      ({ a, s }) => a === 'dynamodb:UpdateItem' && text(s.Resource).includes('Idempotency'),
    )?.s;
    expect(claims?.Condition).toEqual({
      'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['rollout/*/*', 'remediation-gate/*', 'train/*'] },
    });
    const reweigh = operator.find(({ a }) => a === 'elasticloadbalancing:ModifyRule')?.s;
    expect(text(reweigh?.Resource)).toContain('listener-rule/app/ecs-ops-prod-alb/*');
    // The evaluator agrees: a rollout record and a remediation gate may be claimed, nothing else
    // of the table (the workflows' idempotency records, leases' neighbours).
    const artifact = app.synth.assembly.getStackByName(appStackName('prod', 'ControlPlane'));
    const resolved = new ResolvedApp([
      {
        stackName: artifact.stackName,
        template: artifact.template,
        region: artifact.environment.region,
        accountId: artifact.environment.account,
      },
    ]);
    const ctx = resolved.context(artifact.stackName);
    const operatorRole = {
      arn: `arn:aws:iam::${artifact.environment.account}:role/on-call`,
      accountId: artifact.environment.account,
      policies: [
        {
          name: 'ecs-ops-prod-operator',
          policy: resolveTokens(
            (policies['ecs-ops-prod-operator'] as CfnResource).Properties?.PolicyDocument,
            ctx,
          ),
        },
      ],
    } as Principal;
    const operationsTable = String(
      resolveTokens({ 'Fn::GetAtt': [claimsTableId(artifact.template), 'Arn'] }, ctx),
    );
    const claim = (key: string) =>
      authorize(operatorRole, {
        action: 'dynamodb:UpdateItem',
        resource: operationsTable,
        context: { 'dynamodb:LeadingKeys': [key] },
      });
    expect(await claim('rollout/web/api')).toBe('Allowed');
    expect(await claim('remediation-gate/remediate-api-1')).toBe('Allowed');
    expect(await claim('spot-episode/web/i-0abc')).toBe('ImplicitlyDenied');
    // ops abort and ops rollback journal what the operator did (writeJournal: BatchWriteItem), on the
    // journal only.
    const journalTable = String(
      resolveTokens({ 'Fn::GetAtt': [tableIdNamed(artifact.template, 'Journal'), 'Arn'] }, ctx),
    );
    const batchWrite = (resource: string) =>
      authorize(operatorRole, { action: 'dynamodb:BatchWriteItem', resource, context: {} });
    expect(await batchWrite(journalTable)).toBe('Allowed');
    expect(await batchWrite(operationsTable)).toBe('ImplicitlyDenied');
    for (const { a, s } of operator.filter(({ s }) => s.Resource === '*'))
      expect(
        [
          'states:ListStateMachines',
          'cloudwatch:GetMetricData',
          'cloudwatch:ListMetrics',
          'states:SendTaskSuccess',
          'states:SendTaskFailure',
          'elasticloadbalancing:DescribeListeners',
          'elasticloadbalancing:DescribeRules',
        ],
        text(s),
      ).toContain(a);
  });

  it('lets the web task read only its own secrets and table', () => {
    const t = template('prod', 'Compute');
    const statements = ofType(t, 'AWS::IAM::Policy').flatMap(([, p]) => statementsOf(p));
    const secretReads = statements.filter((s) => asArray(s.Action).includes('secretsmanager:GetSecretValue'));
    expect(secretReads.length).toBeGreaterThan(0);
    for (const s of secretReads) expect(text(s.Resource)).not.toContain('"*"');
    const kms = statements.filter((s) => asArray(s.Action).includes('kms:Decrypt'));
    for (const s of kms) expect(text(s.Condition)).toContain('kms:ViaService');
  });
});

describe('API authorizer permissions', () => {
  it('lets the authorizer read its origin-verify secret and nothing else', async () => {
    const api = httpApi('prod');
    const artifact = app.synth.assembly.getStackByName(appStackName('prod', 'Ingress'));
    const stackName = artifact.stackName;
    const resolved = new ResolvedApp([
      {
        stackName,
        template: artifact.template,
        region: artifact.environment.region,
        accountId: artifact.environment.account,
      },
    ]);
    const role = resolved.principal(stackName, logicalId(api.authorizerFunction.function));
    const secret = resolved.arnOf(stackName, logicalId(api.originVerifySecret));
    expect(secret).toMatch(/^arn:aws:secretsmanager:eu-west-1:\d{12}:secret:/);
    expect(await authorize(role, { action: 'secretsmanager:GetSecretValue', resource: secret })).toBe(
      'Allowed',
    );
    const [, , , region, account] = secret.split(':');
    const elsewhere = [
      `arn:aws:secretsmanager:${region}:${account}:secret:ecs-ops-prod-redis-AbCdEf`,
      `arn:aws:secretsmanager:${region}:${account}:secret:rds!cluster-0a1b2c3d-AbCdEf`,
      secret.replace(`:${region}:`, ':us-east-1:'),
    ];
    for (const other of elsewhere)
      expect(await authorize(role, { action: 'secretsmanager:GetSecretValue', resource: other }), other).toBe(
        'ImplicitlyDenied',
      );
    for (const action of ['secretsmanager:DescribeSecret', 'secretsmanager:PutSecretValue'])
      expect(await authorize(role, { action, resource: secret }), action).toBe('ImplicitlyDenied');
    expect(await authorize(role, { action: 'secretsmanager:ListSecrets', resource: '*' })).toBe(
      'ImplicitlyDenied',
    );
    // Beyond what every bundled function has (its log group, X-Ray), that one read is all.
    const actions = role.policies
      .flatMap((p) => asArray((p.policy as { Statement?: Statement | Statement[] }).Statement))
      .flatMap((st) => asArray(st.Action));
    expect(actions.filter((a) => !/^(logs|xray):/.test(a))).toEqual(['secretsmanager:GetSecretValue']);
  });
});

describe('checks', () => {
  it('leaves no unacknowledged cdk-nag finding (AwsSolutions, Serverless) in any stack', () => {
    const stacks = app.synth.environments.flatMap((e) => [
      e.controlPlane,
      ...Object.values(e.stacks ?? {}).filter((s): s is Stack => 'templateOptions' in (s as object)),
    ]);
    expect(stacks).toHaveLength(ENVIRONMENTS.length * PARTS.length);
    const findings = stacks.flatMap((stack) =>
      [new AwsSolutionsChecks(), new ServerlessChecks()].flatMap((pack) =>
        pack
          .validateScope(stack)
          .violations.flatMap((v) =>
            v.violatingResources.map(
              (r) => `${v.severity} ${v.ruleName} at ${r.constructPath}: ${v.description}`,
            ),
          ),
      ),
    );
    expect(findings).toEqual([]);
    // Anything else that annotates constructs (CDK deprecations and warnings), as written to the assembly
    // (Annotations.fromStack would synthesize the app a second time).
    const messages = app.synth.assembly.stacks.flatMap((artifact) =>
      artifact.messages
        .filter((m) => m.level === 'error' || m.level === 'warning')
        .map((m) => `${m.level} at ${m.id}: ${String(m.entry.data)}`),
    );
    expect(messages).toEqual([]);
  });

  it('built the environments from their config files', () => {
    for (const env of ENVIRONMENTS) expect(environment(env).config).toEqual(loadConfig(env));
  });
});
