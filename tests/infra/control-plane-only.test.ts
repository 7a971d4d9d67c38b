// A control-plane-only environment (config/adopted.json): the control plane alone over clusters,
// services, load balancers and Auto Scaling groups it does not own. Its synth creates nothing the
// user owns, passes cdk-nag (synthesis fails on an unacknowledged finding), and every grant on the
// user's resources is scoped to exactly those the config references. Bad references fail, named.
// (cfn-lint and checkov run over this template in scanners.test.ts.)
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONFIG_DIR } from '../../infra/config.ts';
import { loadRemediationConfig } from '../../infra/control-plane/remediation/remediation.ts';
import {
  type ControlPlaneOnlyConfig,
  loadEnvironmentConfig,
  managedClustersOf,
  managedServicesOf,
  referencedServicesOf,
} from '../../infra/control-plane-only-config.ts';
import { resolveReference } from '../../infra/resource-references.ts';
import { asArray, type Statement, type Template } from './app-synth.ts';
import { configError, type Synthesized, synthesize, useAppBuilder } from './synth-support.ts';

const ENV = 'adopted';
const raw = () =>
  JSON.parse(readFileSync(join(CONFIG_DIR, `${ENV}.json`), 'utf8')) as Record<string, unknown>;
const adopted = (): ControlPlaneOnlyConfig => {
  const loaded = loadEnvironmentConfig(ENV);
  if (!loaded.controlPlaneOnly) throw new Error(`config/${ENV}.json is not control-plane-only`);
  return loaded.controlPlaneOnly;
};

let synth: Synthesized;
let template: Template;
const buildApp = useAppBuilder();
beforeAll(async () => {
  synth = await synthesize({ environmentName: ENV });
  const stack = synth.assembly.stacks[0];
  template = stack?.template as Template;
}, 120_000);
afterAll(() => synth?.cleanup());

/** Fn::Join of an ARN as text, the partition as `aws`. */
const arnText = (value: unknown): string => {
  if (typeof value === 'string') return value;
  const join = (value as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
  if (!join) return JSON.stringify(value);
  return join[1].map((p) => (typeof p === 'string' ? p : 'aws')).join(join[0]);
};

const policyStatements = (t: Template): Statement[] =>
  Object.values(t.Resources)
    .filter((r) => r.Type === 'AWS::IAM::Policy' || r.Type === 'AWS::IAM::ManagedPolicy')
    .flatMap((r) =>
      asArray(
        (r.Properties?.PolicyDocument as { Statement?: Statement | Statement[] } | undefined)?.Statement,
      ),
    );

/** Every (action, resource) pair granted on the kinds of resource the user owns. */
function grantsOnUserResources(t: Template): { action: string; resource: string }[] {
  const owned = /^(ecs|elasticloadbalancing|autoscaling):|^iam:PassRole$/;
  return policyStatements(t).flatMap((s) =>
    asArray(s.Action)
      .filter((a) => owned.test(a))
      .flatMap((action) => asArray(s.Resource as unknown).map((r) => ({ action, resource: arnText(r) }))),
  );
}

const build = (config: unknown) => buildApp({ environmentName: ENV, config });

describe('a control-plane-only environment', () => {
  it('synthesizes the control plane alone, creating and changing none of the resources it references', () => {
    expect(synth.assembly.stacks.map((s) => s.stackName)).toEqual([`EcsOps-${ENV}-ControlPlane`]);
    const types = new Set(Object.values(template.Resources).map((r) => r.Type));
    const userKinds = [...types].filter((t) =>
      /^AWS::(ECS|ElasticLoadBalancingV2|AutoScaling|ApplicationAutoScaling|EC2)::|^Custom::|^AWS::CloudFormation::CustomResource$/.test(
        t,
      ),
    );
    expect(userKinds).toEqual([]);
    // Alarms the config references (scaling's, remediation's) are matched, never created.
    // (The alert queue's own dead-letter alarm takes a generated name.)
    const alarmNames = Object.values(template.Resources)
      .filter((r) => r.Type === 'AWS::CloudWatch::Alarm' && r.Properties?.AlarmName !== undefined)
      .map((r) => String(r.Properties?.AlarmName));
    expect(alarmNames.length).toBeGreaterThan(30);
    // Routed through the alert router, or (the alert path's own) paging directly.
    for (const name of alarmNames) expect(name).toMatch(/^ecs-ops-adopted-(control-plane|alert-path)-/);
    // Alerts reach the people the config names, with undeliverable e-mails alarmed on.
    const subscriptions = Object.values(template.Resources).filter(
      (r) => r.Type === 'AWS::SNS::Subscription',
    );
    expect(subscriptions.map((s) => s.Properties?.Endpoint).sort()).toEqual([
      'oncall@example.com',
      'platform@example.com',
    ]);
    expect(alarmNames).toContain('ecs-ops-adopted-alert-path-undelivered-alert-emails-not-empty');
  });

  it('grants on clusters, services, load balancers, Auto Scaling groups and roles only by the names the config gives', () => {
    const config = adopted();
    const clusters = managedClustersOf(config);
    const services = managedServicesOf(config);
    const prefix = 'arn:aws:';
    const scope = `${config.region}:${config.account}`;
    const allowed = [
      ...clusters.flatMap((c) => [
        `${prefix}ecs:${scope}:cluster/${c.name}`,
        `${prefix}ecs:${scope}:container-instance/${c.name}/*`,
        `${prefix}ecs:${scope}:task/${c.name}/*`,
        ...[c.spotAsg, c.onDemandAsg]
          .filter((g) => g !== undefined)
          .map((g) => `${prefix}autoscaling:${scope}:autoScalingGroup:*:autoScalingGroupName/${g}`),
      ]),
      // Every service (a worker is scaled, not rolled out); rolled-out ones' task sets, families, routes.
      ...referencedServicesOf(config).map((s) => `${prefix}ecs:${scope}:service/${s.cluster}/${s.service}`),
      ...services.flatMap((s) => [
        `${prefix}ecs:${scope}:task-set/${s.cluster}/${s.service}/*`,
        `${prefix}ecs:${scope}:task-definition/${s.taskDefinitionFamily}:*`,
        `${prefix}elasticloadbalancing:${scope}:listener/app/${s.loadBalancerName}/*`,
        `${prefix}elasticloadbalancing:${scope}:listener-rule/app/${s.loadBalancerName}/*`,
      ]),
      ...config.services.flatMap((s) =>
        s.taskRoles.map((r) => {
          const role = resolveReference('role', r, config);
          return `${prefix}iam::${config.account}:role/${'name' in role ? role.name : '?'}`;
        }),
      ),
    ];
    // Actions AWS authorizes on no resource (the service authorization reference) stay on "*".
    const unscopable = new Set([
      'ecs:DescribeTaskDefinition',
      'autoscaling:DescribeAutoScalingGroups',
      'autoscaling:DescribeAutoScalingInstances',
      'autoscaling:DescribeScalingActivities',
    ]);
    const grants = grantsOnUserResources(template);
    expect(grants.length).toBeGreaterThan(30);
    const outside = grants.filter(
      (g) =>
        !allowed.includes(g.resource) &&
        !(
          g.resource === '*' &&
          (unscopable.has(g.action) || g.action.startsWith('elasticloadbalancing:Describe'))
        ),
    );
    expect(outside).toEqual([]);
    // And each referenced resource is granted on: the scope comes from the config, not a default.
    const granted = new Set(grants.map((g) => g.resource));
    for (const arn of allowed) expect(granted, arn).toContain(arn);
    expect(grants.filter((g) => g.action === 'iam:PassRole').map((g) => g.resource)).toContain(
      `arn:aws:iam::${config.account}:role/shop/checkout-task`,
    );
  });

  it('drops the grants of a service taken out of the config', () => {
    const config = raw();
    config.services = (config.services as { service: string }[]).filter((s) => s.service !== 'admin');
    // Its runbook goes with it (config/remediation/adopted.json names it).
    const registry = loadRemediationConfig(ENV);
    if (!registry) throw new Error(`config/remediation/${ENV}.json is missing`);
    const { app } = buildApp({
      environmentName: ENV,
      config,
      remediation: { ...registry, runbooks: registry.runbooks.filter((r) => r.service !== 'admin') },
    });
    const without = app.synth().stacks[0]?.template as Template;
    const resources = grantsOnUserResources(without).map((g) => g.resource);
    expect(
      resources.filter((r) => r.includes('back-office/admin') || r.includes('back-office-internal')),
    ).toEqual([]);
    expect(
      grantsOnUserResources(template).some((g) => g.resource.includes('service/back-office/admin')),
    ).toBe(true);
    // Its cluster is still referenced: spot handling keeps acting on it.
    expect(resources).toContain('arn:aws:ecs:eu-central-1:333333333333:container-instance/back-office/*');
  });

  it('names the key of every reference that cannot stand', () => {
    // biome-ignore lint/suspicious/noExplicitAny: edits reach deep into a parsed JSON file
    const edited = (edit: (c: any) => void) => {
      const c = raw();
      edit(c);
      return c;
    };
    const problems = (config: unknown) => configError(() => build(config)).problems;
    expect(
      problems(
        edited((c) => {
          c.services[1].targetGroups.blue =
            'arn:aws:elasticloadbalancing:eu-west-1:333333333333:targetgroup/checkout-blue/6d0ecf831eec9f09';
          c.services[0].loadBalancer = 'arn:aws:ecs:eu-central-1:333333333333:cluster/shop';
          c.services[2].cluster = 'warehouse';
          c.services[1].service = 'arn:aws:ecs:eu-central-1:444444444444:service/shop/checkout';
          c.clusters[1].cluster = 'arn:aws:ecs:eu-central-1:333333333333:cluster/shop';
          c.services[0].targetGroups.green = 'storefront-blue';
          c.services[0].taskRoles[0] = 'arn:aws:iam::333333333333:user/deployer';
          c.clusters[0].spot.capacityProvider = undefined;
        }),
      ),
    ).toEqual([
      {
        key: 'clusters.0.spot.capacityProvider',
        message: 'is needed for managed draining (a capacity provider drains its instances)',
      },
      { key: 'clusters.1.cluster', message: 'shop is listed twice' },
      {
        key: 'services.0.loadBalancer',
        message: `"arn:aws:ecs:eu-central-1:333333333333:cluster/shop" is not an Application Load Balancer's ARN`,
      },
      { key: 'services.0.targetGroups.green', message: 'must differ from blue' },
      {
        key: 'services.0.taskRoles.0',
        message: `"arn:aws:iam::333333333333:user/deployer" is not an IAM role's ARN`,
      },
      {
        key: 'services.1.service',
        message:
          '"arn:aws:ecs:eu-central-1:444444444444:service/shop/checkout" is in account 444444444444, not 333333333333 (the config\'s account)',
      },
      {
        key: 'services.1.targetGroups.blue',
        message:
          '"arn:aws:elasticloadbalancing:eu-west-1:333333333333:targetgroup/checkout-blue/6d0ecf831eec9f09" is in eu-west-1, not eu-central-1 (the config\'s region)',
      },
      { key: 'services.2.cluster', message: 'warehouse is not under clusters (shop)' },
      { key: 'services.3.cluster', message: 'back-office is not under clusters (shop)' },
    ]);
    // A route is all three keys or none.
    expect(problems(edited((c) => delete c.services[0].listeners))).toEqual([
      {
        key: 'services.0.listeners',
        message: 'is needed with loadBalancer and targetGroups (a rolled-out service has all three)',
      },
    ]);
    expect(
      problems(edited((c) => (c.services[0].listeners = { production: 443, test: 443, extra: 1 }))),
    ).toEqual([
      { key: 'services.0.listeners', message: 'Unrecognized key: "extra"' },
      { key: 'services.0.listeners.test', message: 'must differ from production' },
    ]);
  });

  it('holds the capability files to the services the config references', () => {
    const config = raw();
    config.services = (config.services as { service: string }[]).filter((s) => s.service !== 'storefront');
    expect(configError(() => build(config))).toMatchObject({
      source: 'config/scaling/adopted.json',
      problems: [
        {
          key: 'services.0.service',
          message: expect.stringMatching(
            /^shop\/storefront is not one of the services config\/adopted.json references/,
          ),
        },
      ],
    });
  });
});
