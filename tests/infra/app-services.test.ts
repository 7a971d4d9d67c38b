// Many services in one environment: config `services` lists them, and the stack provisions each
// (its task definition, roles, service, target groups, handed-over rules with its routing and
// priority, alarms, dashboard graph, outputs, rollout registration), while the first keeps the
// construct ids it had alone, so an environment that had one service changes nothing by
// growing. Bad lists fail with the service's key named.

import { beforeAll, describe, expect, it } from 'vitest';
import { ManagedServicesSchema } from '../../functions/shared/rollouts/config.ts';
import {
  type EnvironmentConfigInput,
  loadConfig,
  parseConfig,
  type ServiceConfigInput,
} from '../../infra/config.ts';
import { appStackName } from '../../infra/stacks/application-stacks.ts';
import { asArray, ofType, onlyOfType, type Template, text } from './app-synth.ts';
import { configError, useAppBuilder } from './synth-support.ts';

const buildApp = useAppBuilder();

const web = () => structuredClone(loadConfig('dev').services[0]) as ServiceConfigInput;
/** dev with three services: web takes what the others' rules leave; api by path; admin by host. */
function threeServices(): EnvironmentConfigInput {
  const config = structuredClone(loadConfig('dev')) as EnvironmentConfigInput;
  config.services = [
    web(),
    { ...web(), name: 'api', containerPort: 8080, routing: { pathPatterns: ['/api/*'] }, rulePriority: 5 },
    {
      ...web(),
      name: 'admin',
      minTasks: 2,
      maxTasks: 3,
      routing: { hostHeaders: ['admin.internal'] },
      rulePriority: 6,
    },
  ];
  return config;
}

const synthesized = (config: EnvironmentConfigInput) => {
  const { app } = buildApp({ environmentName: 'dev', config });
  const assembly = app.synth();
  return (part: string) => assembly.getStackByName(appStackName('dev', part)).template as Template;
};

const problems = (config: EnvironmentConfigInput) => [...configError(() => parseConfig(config)).problems];

describe('many services in one environment', () => {
  let three: (part: string) => Template;
  let one: (part: string) => Template;
  beforeAll(() => {
    three = synthesized(threeServices());
    one = synthesized(structuredClone(loadConfig('dev')) as EnvironmentConfigInput);
  }, 120_000);

  it("stops a game day on any service's alarms: past five (FIS's limit), one composite of them all", () => {
    const t = three('Observability');
    const [, experiment] = onlyOfType(t, 'AWS::FIS::ExperimentTemplate');
    const stops = asArray(experiment.Properties?.StopConditions as unknown[]) as { Value: unknown }[];
    const [compositeId, composite] = onlyOfType(t, 'AWS::CloudWatch::CompositeAlarm');
    expect(stops).toEqual([
      { Source: 'aws:cloudwatch:alarm', Value: { 'Fn::GetAtt': [compositeId, 'Arn'] } },
    ]);
    const named = [
      ...text(composite.Properties?.AlarmRule).matchAll(/"Fn::GetAtt":\["([^"]+)","Arn"\]/g),
    ].map(
      (m) => (t.Resources[m[1] as string] as { Properties?: Record<string, unknown> }).Properties?.AlarmName,
    );
    expect(named).toHaveLength(3 * 4);
    for (const service of threeServices().services)
      expect(named).toContain(`ecs-ops-dev-${service.name}-green-unhealthy-hosts`);
  });

  it('provisions every service: task definition, service, target groups, rules with its routing', () => {
    const compute = three('Compute');
    const families = ofType(compute, 'AWS::ECS::TaskDefinition').map(([, r]) => r.Properties?.Family);
    // The three rolled-out services, and the environment's Fargate worker.
    expect(families.sort()).toEqual([
      'ecs-ops-dev-admin',
      'ecs-ops-dev-api',
      'ecs-ops-dev-web',
      'ecs-ops-dev-worker',
    ]);
    const services = ofType(compute, 'AWS::ECS::Service').map(([, r]) => r.Properties?.ServiceName);
    expect(services.sort()).toEqual(['admin', 'api', 'web', 'worker']);
    for (const [, s] of ofType(compute, 'AWS::ECS::Service').filter(
      ([, r]) => r.Properties?.ServiceName !== 'worker',
    ))
      expect(s.Properties?.DeploymentController).toEqual({ Type: 'EXTERNAL' });
    expect(
      ofType(compute, 'AWS::SSM::Parameter')
        .map(([, p]) => p.Properties?.Name)
        .sort(),
    ).toEqual(['/ecs-ops/dev/services/admin', '/ecs-ops/dev/services/api', '/ecs-ops/dev/services/web']);

    const ingress = three('Ingress');
    expect(ofType(ingress, 'AWS::ElasticLoadBalancingV2::TargetGroup')).toHaveLength(6);
    const rules = ofType(ingress, 'Custom::HandedOverListenerRule').map(([id, r]) => ({
      id,
      create: text(r.Properties?.Create),
    }));
    expect(rules).toHaveLength(6);
    const ruleOf = (prefix: string) => rules.find((r) => r.id.startsWith(prefix))?.create ?? '';
    expect(ruleOf('LoadBalancerProductionTraffic')).toContain('\\"Priority\\":10');
    expect(ruleOf('LoadBalancerProductionTraffic')).toContain('\\"Values\\":[\\"/*\\"]');
    expect(ruleOf('LoadBalancerApiProductionTraffic')).toContain('\\"Priority\\":5');
    expect(ruleOf('LoadBalancerApiProductionTraffic')).toContain('\\"Values\\":[\\"/api/*\\"]');
    expect(ruleOf('LoadBalancerAdminTestTraffic')).toContain('\\"Priority\\":6');
    expect(ruleOf('LoadBalancerAdminTestTraffic')).toContain('host-header');
    // Each service's rules forward to its own pair of groups.
    const groupIds = ofType(ingress, 'AWS::ElasticLoadBalancingV2::TargetGroup').map(([id]) => id);
    const apiGroups = groupIds.filter((id) => id.startsWith('LoadBalancerApi'));
    expect(apiGroups).toHaveLength(2);
    for (const id of apiGroups)
      expect(ruleOf('LoadBalancerApiProductionTraffic')).toContain(`{"Ref":"${id}"}`);
    expect(ruleOf('LoadBalancerProductionTraffic')).not.toContain(`{"Ref":"${apiGroups[0]}"}`);
  });

  it('alarms on, draws and registers every service with the control plane', () => {
    const alarmNames = ofType(three('Observability'), 'AWS::CloudWatch::Alarm').map(
      ([, a]) => a.Properties?.AlarmName,
    );
    for (const service of ['web', 'api', 'admin'])
      expect(alarmNames).toEqual(
        expect.arrayContaining([
          `ecs-ops-dev-${service}-blue-5xx`,
          `ecs-ops-dev-${service}-green-5xx`,
          `ecs-ops-dev-${service}-cpu`,
        ]),
      );
    const dashboard = text(ofType(three('Observability'), 'AWS::CloudWatch::Dashboard')[0]?.[1].Properties);
    for (const service of ['web', 'api', 'admin']) expect(dashboard).toContain(`${service}: CPU and memory`);
    const step = ofType(three('ControlPlane'), 'AWS::Lambda::Function').find(([id]) =>
      id.startsWith('RolloutsStep'),
    );
    const managed = ManagedServicesSchema.parse(
      (step?.[1].Properties?.Environment as { Variables: Record<string, string> } | undefined)?.Variables
        .MANAGED_SERVICES,
    );
    // The family its revisions are registered in: the default one travels as no family at all.
    expect(
      managed.map((s) => `${s.service} ${s.taskDefinitionFamily ?? `${s.cluster}-${s.service}`}`),
    ).toEqual(['web ecs-ops-dev-web', 'api ecs-ops-dev-api', 'admin ecs-ops-dev-admin']);
    expect(Object.keys(three('Ingress').Outputs ?? {})).toEqual(
      expect.arrayContaining(['BlueTargetGroupArn', 'ApiBlueTargetGroupArn', 'AdminProductionRuleArn']),
    );
  });

  it("keeps the first service's resources where an environment with one service has them", () => {
    for (const part of ['Ingress', 'Compute']) {
      const alone = Object.keys(one(part).Resources);
      const grown = Object.keys(three(part).Resources);
      expect(grown).toEqual(expect.arrayContaining(alone));
    }
  });

  it('names the service and key of a bad list', () => {
    const config = threeServices();
    const [, second, third] = config.services as [ServiceConfigInput, ServiceConfigInput, ServiceConfigInput];
    third.name = 'api';
    second.rulePriority = 12;
    expect(problems(config)).toEqual([
      { key: 'services.2.name', message: 'api is listed twice' },
      {
        key: 'services.1.rulePriority',
        message: 'must be below 10 (services.0, without routing, takes every request that reaches it)',
      },
    ]);
    const twoCatchAlls = threeServices();
    (twoCatchAlls.services[2] as ServiceConfigInput).routing = undefined;
    expect(problems(twoCatchAlls)).toEqual([
      { key: 'services.2.routing', message: 'is needed: services.0 already takes every other request' },
    ]);
    const clash = threeServices();
    (clash.services[2] as ServiceConfigInput).rulePriority = 5;
    expect(problems(clash)).toEqual([
      {
        key: 'services.2.rulePriority',
        message: "5 is services.1's too (a listener's rules need distinct priorities)",
      },
    ]);
    const empty = threeServices();
    (empty.services[1] as ServiceConfigInput).routing = {};
    expect(problems(empty)).toEqual([
      { key: 'services.1.routing', message: 'needs pathPatterns or hostHeaders' },
    ]);
  });
});
