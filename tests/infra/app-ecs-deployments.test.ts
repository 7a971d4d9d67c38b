// A service ECS deploys (`deployment.controller: ecs`): its service uses the ECS deployment
// controller with the configured strategy over the same two target groups and listener rules,
// names the control plane's lifecycle hook and invoke role, and gets no task set of ours; the
// control plane gets the hook, whose role reads what it judges and changes no weight, and a
// role only ECS may assume that may invoke the hook and nothing else. Synthesis runs cdk-nag
// (it throws on any unacknowledged finding); tests/infra/scanners.test.ts runs cfn-lint on it.
import { beforeAll, describe, expect, it } from 'vitest';
import { ANALYSED_HOOK_STAGES } from '../../events/ecs-lifecycle-hook.ts';
import { type EnvironmentConfigInput, parseConfig, type ServiceConfigInput } from '../../infra/config.ts';
import { appStackName } from '../../infra/stacks/application-stacks.ts';
import { type CfnResource, ofType, statementsOf, type Template, text } from './app-synth.ts';
import { devWithEcsDeployedApi } from './ecs-deployed-config.ts';
import { configError, useAppBuilder } from './synth-support.ts';

const buildApp = useAppBuilder();
let template: (part: string) => Template;

beforeAll(() => {
  const { app } = buildApp({ environmentName: 'dev', config: devWithEcsDeployedApi() });
  const assembly = app.synth();
  template = (part) => assembly.getStackByName(appStackName('dev', part)).template as Template;
}, 120_000);

/** The resource whose logical id starts with `prefix`. */
function found(resources: [string, CfnResource][], prefix: string): CfnResource {
  const hit = resources.find(([id]) => id.startsWith(prefix));
  if (!hit) throw new Error(`no resource ${prefix}*`);
  return hit[1];
}

const serviceNamed = (name: string) =>
  ofType(template('Compute'), 'AWS::ECS::Service').find(([, s]) => s.Properties?.ServiceName === name)?.[1];

describe('a service ECS deploys', () => {
  it('uses the ECS controller with its canary, bake, hook and both listener rules; the other keeps EXTERNAL', () => {
    expect(serviceNamed('web')?.Properties?.DeploymentController).toEqual({ Type: 'EXTERNAL' });
    const api = serviceNamed('api')?.Properties ?? {};
    expect(api.DeploymentController).toEqual({ Type: 'ECS' });
    const deployment = api.DeploymentConfiguration as Record<string, unknown>;
    expect(deployment.Strategy).toBe('CANARY');
    expect(deployment.CanaryConfiguration).toEqual({ CanaryPercent: 10, CanaryBakeTimeInMinutes: 10 });
    expect(deployment.BakeTimeInMinutes).toBe(15);
    // ECS's own rollback on the alarms the observability stack makes for the service's groups.
    expect(deployment.Alarms).toEqual({
      AlarmNames: [
        'ecs-ops-dev-api-blue-5xx',
        'ecs-ops-dev-api-blue-unhealthy-hosts',
        'ecs-ops-dev-api-green-5xx',
        'ecs-ops-dev-api-green-unhealthy-hosts',
      ],
      Enable: true,
      Rollback: true,
    });
    const alarmNames = ofType(template('Observability'), 'AWS::CloudWatch::Alarm').map(
      ([, a]) => a.Properties?.AlarmName,
    );
    expect(alarmNames).toEqual(
      expect.arrayContaining((deployment.Alarms as { AlarmNames: string[] }).AlarmNames),
    );
    const [hook] = deployment.LifecycleHooks as Record<string, unknown>[];
    expect(hook?.LifecycleStages).toEqual([...ANALYSED_HOOK_STAGES]);
    expect(hook?.HookDetails).toEqual({ bakeSeconds: 600, testBakeSeconds: 0, stepBakeSeconds: 600 });
    expect(hook?.TimeoutConfiguration).toEqual({ TimeoutInMinutes: 1440, Action: 'ROLLBACK' });
    // The control plane's function and role, read from its outputs.
    expect(text(hook?.HookTargetArn)).toContain('DeploymentHook');
    expect(text(hook?.RoleArn)).toContain('DeploymentHookInvokeRole');
    const [lb] = api.LoadBalancers as Record<string, Record<string, unknown>>[];
    expect(text(lb?.TargetGroupArn)).toContain('LoadBalancerApiBlue');
    expect(text(lb?.AdvancedConfiguration?.AlternateTargetGroupArn)).toContain('LoadBalancerApiGreen');
    expect(text(lb?.AdvancedConfiguration?.ProductionListenerRule)).toContain('ApiProductionTrafficRule');
    expect(text(lb?.AdvancedConfiguration?.TestListenerRule)).toContain('ApiTestTrafficRule');
    expect(text(api.TaskDefinition)).toContain('ApiWebTask');
  });

  it('gives ECS a load balancer role with AWS’s policy for it, and creates no task set for it', () => {
    const compute = template('Compute');
    const roles = ofType(compute, 'AWS::IAM::Role').filter(([id]) =>
      id.startsWith('ApiWebLoadBalancerInfrastructureRole'),
    );
    expect(roles).toHaveLength(1);
    const role = roles[0]?.[1].Properties ?? {};
    expect(text(role.AssumeRolePolicyDocument)).toContain('ecs.amazonaws.com');
    expect(text(role.ManagedPolicyArns)).toContain('AmazonECSInfrastructureRolePolicyForLoadBalancers');
    const taskSets = ofType(compute, 'Custom::InitialTaskSet').map(([id]) => id);
    expect(taskSets.some((id) => id.startsWith('Web'))).toBe(true);
    expect(taskSets.some((id) => id.startsWith('Api'))).toBe(false);
  });

  it('adds the hook to the control plane: reads what it judges, changes no weight; only ECS may invoke it', () => {
    const plane = template('ControlPlane');
    const policies = ofType(plane, 'AWS::IAM::Policy');
    const hookPolicy = found(policies, 'RolloutsDeploymentHookFunctionRole');
    const actions = statementsOf(hookPolicy).flatMap((s) => [s.Action ?? []].flat());
    expect(actions).toEqual(
      expect.arrayContaining([
        'ecs:DescribeServices',
        'elasticloadbalancing:DescribeRules',
        'elasticloadbalancing:DescribeTargetHealth',
        'cloudwatch:GetMetricData',
        'cloudwatch:DescribeAlarms',
      ]),
    );
    // The load balancer is read from the production rule's ARN, not asked for.
    expect(actions).not.toContain('elasticloadbalancing:DescribeTargetGroups');
    // Its own state, logs and alerts aside, it only reads.
    const own = /^(dynamodb|logs|sqs|kms|xray):/;
    expect(actions.filter((a) => !own.test(a) && !/:(Describe|Get)/.test(a))).toEqual([]);
    const described = statementsOf(hookPolicy).find((s) =>
      [s.Action].flat().includes('ecs:DescribeServices'),
    );
    expect(text(described?.Resource)).toContain('service/ecs-ops-dev/api');
    expect(text(described?.Resource)).not.toContain('service/ecs-ops-dev/web');

    const invokeRole = ofType(plane, 'AWS::IAM::Role').find(([id]) =>
      id.startsWith('RolloutsDeploymentHookInvokeRole'),
    );
    expect(text(invokeRole?.[1].Properties?.AssumeRolePolicyDocument)).toContain('ecs.amazonaws.com');
    const statements = statementsOf(found(policies, 'RolloutsDeploymentHookInvokeRoleDefaultPolicy'));
    expect(statements.map((s) => s.Action)).toEqual(['lambda:InvokeFunction']);
    expect(text(statements[0]?.Resource)).toContain('RolloutsDeploymentHookFunction');
    expect(Object.keys(plane.Outputs ?? {})).toEqual(
      expect.arrayContaining(['DeploymentHookFunctionArn', 'DeploymentHookInvokeRoleArn']),
    );
  });

  it('names the key of a bad deployment setting', () => {
    const config = devWithEcsDeployedApi();
    const api = (config.services as ServiceConfigInput[])[1] as ServiceConfigInput & {
      deployment: { strategy: { percent: number } };
    };
    api.deployment.strategy.percent = 0;
    const problems = configError(() => parseConfig(config as EnvironmentConfigInput)).problems;
    expect(problems.map((p) => p.key)).toEqual(['services.1.deployment.strategy.percent']);
    // ECS takes tenths of a percent; CloudFormation refuses plans that bake over 33 hours.
    api.deployment.strategy.percent = 12.55;
    expect(configError(() => parseConfig(config as EnvironmentConfigInput)).problems).toEqual([
      { key: 'services.1.deployment.strategy.percent', message: 'must be a multiple of 0.1' },
    ]);
    api.deployment.strategy.percent = 12.5;
    expect(() => parseConfig(config as EnvironmentConfigInput)).not.toThrow();
    (api.deployment as unknown as { strategy: unknown }).strategy = {
      type: 'linear',
      stepPercent: 10,
      bakeMinutes: 240,
    };
    expect(configError(() => parseConfig(config as EnvironmentConfigInput)).problems).toEqual([
      {
        key: 'services.1.deployment',
        message:
          "its bakes (bakeTimeMinutes and each step's bakeMinutes) add up to more than 33 hours, which CloudFormation refuses",
      },
    ]);
  });
});
