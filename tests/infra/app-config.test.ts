// The per-environment config and the spot drain budget: bad config fails before any construct
// is built, naming every bad key; a spot-backed service that cannot drain inside the
// two-minute warning fails synth with a message that says what to change.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CHAT_ACTION_CONTEXT } from '../../events/chat-notification.ts';
import {
  SPOT_INTERRUPTION_WARNING_SECONDS,
  SpotDrainBudgetError,
  type SpotDrainInput,
  spotDrainBudget,
} from '../../infra/application/spot-drain-budget.ts';
import {
  configuredEnvironments,
  type EnvironmentConfigInput,
  loadConfig,
  parseConfig,
  type ServiceConfigInput,
} from '../../infra/config.ts';
import { MAX_COMMAND_LENGTH } from '../../infra/control-plane/alerting/chat-answers.ts';
import { configError, useAppBuilder } from './synth-support.ts';

const buildApp = useAppBuilder();

/** A deep copy of an example config, changed by `edit`. */
function variant(env: 'dev' | 'prod', edit: (c: EnvironmentConfigInput) => void): EnvironmentConfigInput {
  const copy = structuredClone(loadConfig(env)) as EnvironmentConfigInput;
  edit(copy);
  return copy;
}

const build = (env: string, config: unknown) => buildApp({ environmentName: env, config });

describe('config', () => {
  it('has a dev and a prod example, both valid, dev cheap and prod highly available', () => {
    expect(configuredEnvironments()).toEqual(['adopted', 'dev', 'prod']);
    const dev = loadConfig('dev');
    const prod = loadConfig('prod');
    expect(dev.network.natGateways).toBe(1);
    expect(dev.data.aurora.instances.kind).toBe('serverless');
    expect(dev.domain).toBeNull();
    expect(prod.network.natGateways).toBe(prod.network.availabilityZones.length);
    expect(prod.data.aurora.readers).toBeGreaterThanOrEqual(1);
    expect(prod.data.redis.replicas).toBeGreaterThanOrEqual(2);
  });

  it('names the key of a spot group with too few instance types', () => {
    const err = configError(() =>
      parseConfig(
        variant('prod', (c) => {
          c.compute.spot.instanceTypes = ['m7g.large', 'm6g.large'];
        }),
      ),
    );
    expect(err.problems).toEqual([
      {
        key: 'compute.spot.instanceTypes',
        message: 'a spot group needs at least 3 instance types (capacity-optimized allocation needs pools)',
      },
    ]);
  });

  it('lists every bad key at once, by path', () => {
    const err = configError(() =>
      parseConfig(
        variant('prod', (c) => {
          c.account = '12345';
          c.network.availabilityZones = ['eu-west-1a', 'us-east-1b'];
          c.compute.onDemand.instanceTypes = ['m7i.large'];
          (c.services[0] as ServiceConfigInput).minTasks = 40;
        }),
        'config/prod.json',
      ),
    );
    expect(err.problems.map((p) => p.key).sort()).toEqual([
      'account',
      'compute.onDemand.instanceTypes.0',
      'network.availabilityZones.1',
      'network.natGateways', // three NAT gateways no longer fit two AZs
      'services.0.minTasks',
    ]);
    expect(err.message).toMatch(/^invalid config config\/prod\.json:\n/);
    expect(err.message).toContain(
      '  - compute.onDemand.instanceTypes.0: m7i.large does not run arm64 (compute.architecture)',
    );
    expect(err.message).toContain('  - network.availabilityZones.1: is not in eu-west-1');
  });

  it('names a missing key and a key of the wrong type', () => {
    const err = configError(() =>
      parseConfig(
        variant('dev', (c) => {
          delete (c as Partial<EnvironmentConfigInput>).logRetentionDays;
          (c.features as Record<string, unknown>).apiGateway = 'yes';
        }),
      ),
    );
    expect(err.problems.map((p) => p.key).sort()).toEqual(['features.apiGateway', 'logRetentionDays']);
  });

  it('refuses a config file whose name does not match the environment', () => {
    const dir = mkdtempSync(join(tmpdir(), 'config-'));
    try {
      writeFileSync(join(dir, 'staging.json'), JSON.stringify(loadConfig('dev')));
      expect(configError(() => loadConfig('staging', dir)).problems).toEqual([
        { key: 'name', message: 'must be "staging" (the file name)' },
      ]);
      writeFileSync(join(dir, 'broken.json'), '{ "name": ');
      expect(configError(() => loadConfig('broken', dir)).problems[0]?.key).toBe('(file)');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fails the app build on bad config, before any stack exists', () => {
    const bad = variant('prod', (c) => {
      c.compute.targetCapacityPercent = 0;
    });
    expect(() => build('prod', bad)).toThrow(/compute\.targetCapacityPercent: Too small/);
  });
});

describe('spot drain budget', () => {
  const base: SpotDrainInput = {
    service: 'web',
    deregistrationDelaySeconds: 45,
    stopTimeoutSeconds: 30,
    minimumHealthyPercent: 50,
    maximumPercent: 200,
    minTasks: 6,
    marginSeconds: 20,
    replacementSeconds: 50,
  };

  it('fits the example configs: deregistration plus stop timeout inside the warning minus the margin', () => {
    const budget = spotDrainBudget(base);
    expect(budget).toEqual({
      budgetSeconds: SPOT_INTERRUPTION_WARNING_SECONDS - 20,
      drainSeconds: 75,
      stoppableAtOnce: 3,
      waitsForReplacements: false,
      problems: [],
    });
  });

  it('rejects a deregistration delay plus stop timeout beyond the budget', () => {
    const budget = spotDrainBudget({ ...base, deregistrationDelaySeconds: 90 });
    expect(budget.problems).toEqual([
      'deregistration delay 90 s + container stop timeout 30 s = 120 s, but a spot instance gets a 120 s warning and 20 s stay reserved as margin (spotDrain.marginSeconds), leaving 100 s. Lower service.deregistrationDelaySeconds or service.stopTimeoutSeconds.',
    ]);
  });

  it('counts the wait for healthy replacements when minimumHealthyPercent lets no task stop at once', () => {
    // 2 tasks at 60%: both must stay, so the replacement must be healthy before anything stops.
    const budget = spotDrainBudget({ ...base, minTasks: 2, minimumHealthyPercent: 60 });
    expect(budget).toMatchObject({ stoppableAtOnce: 0, waitsForReplacements: true, drainSeconds: 125 });
    expect(budget.problems[0]).toMatch(
      /^minimumHealthyPercent 60 at 2 tasks lets ECS stop no task before its replacement is healthy: replacement 50 s/,
    );
    // A faster start fits again.
    expect(
      spotDrainBudget({ ...base, minTasks: 2, minimumHealthyPercent: 60, replacementSeconds: 20 }).problems,
    ).toEqual([]);
  });

  it('calls 100/100 impossible: ECS may neither stop nor start a task', () => {
    const budget = spotDrainBudget({ ...base, minimumHealthyPercent: 100, maximumPercent: 100 });
    expect(budget.problems[0]).toContain('a draining instance never empties');
  });

  it('fails synth of a deliberately unsafe spot config with the message', () => {
    const unsafe = variant('prod', (c) => {
      (c.services[0] as ServiceConfigInput).deregistrationDelaySeconds = 110;
    });
    expect(() => build('prod', unsafe)).toThrow(SpotDrainBudgetError);
    expect(() => build('prod', unsafe)).toThrow(
      'spot drain budget exceeded for service "web": deregistration delay 110 s + container stop timeout 30 s = 140 s, but a spot instance gets a 120 s warning and 20 s stay reserved as margin (spotDrain.marginSeconds), leaving 100 s. Lower services.0.deregistrationDelaySeconds or services.0.stopTimeoutSeconds.',
    );
    const stubborn = variant('prod', (c) => {
      (c.services[0] as ServiceConfigInput).minimumHealthyPercent = 100;
      (c.services[0] as ServiceConfigInput).maximumPercent = 100;
    });
    expect(() => build('prod', stubborn)).toThrow(
      /minimumHealthyPercent 100 with maximumPercent 100 at 6 tasks/,
    );
  });

  it('does not hold an on-demand-only service to the spot budget', () => {
    const onDemandOnly = variant('prod', (c) => {
      (c.services[0] as ServiceConfigInput).spotPercent = 0;
      (c.services[0] as ServiceConfigInput).deregistrationDelaySeconds = 300;
    });
    const { environments } = build('prod', onDemandOnly);
    expect(environments[0]?.stacks?.compute.web.drainBudget).toBeUndefined();
    const safe = build('prod', loadConfig('prod'));
    expect(safe.environments[0]?.stacks?.compute.web.drainBudget?.drainSeconds).toBe(75);
  });

  it('configures a Slack channel for Amazon Q Developer: the three topics, the buttons, a role and a guardrail that may only invoke the answer function', () => {
    const config = variant('prod', (c) => {
      c.alerts.chat = { slackWorkspaceId: 'T0123ABCD', slackChannelId: 'C0123ABCD' };
    });
    const { app, environments } = build('prod', config);
    const stackName = environments[0]?.controlPlane.stackName as string;
    const template = app.synth().getStackByName(stackName).template as {
      Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
    };
    const of = (type: string) => Object.entries(template.Resources).filter(([, r]) => r.Type === type);
    const [[, channel] = ['', {}]] = of('AWS::Chatbot::SlackChannelConfiguration') as [
      string,
      { Properties?: Record<string, unknown> },
    ][];
    expect(channel.Properties).toMatchObject({
      ConfigurationName: 'ecs-ops-prod-alerts',
      SlackWorkspaceId: 'T0123ABCD',
      SlackChannelId: 'C0123ABCD',
    });
    expect(channel.Properties?.SnsTopicArns).toHaveLength(3);
    expect(channel.Properties?.CustomizationResourceArns).toHaveLength(3);
    // The buttons: each a lambda invoke of the answer function within Amazon Q Developer's 100
    // characters, reading the additionalContext keys the router writes.
    const actions = of('AWS::Chatbot::CustomAction').map(([, r]) => r.Properties as Record<string, unknown>);
    expect(actions.map((a) => a.ActionName)).toEqual([
      'ecs-ops-prod-approve',
      'ecs-ops-prod-reject',
      'ecs-ops-prod-rollback',
    ]);
    for (const action of actions) {
      const command = (action.Definition as { CommandText: string }).CommandText;
      expect(command.length).toBeLessThanOrEqual(MAX_COMMAND_LENGTH);
      expect(command).toMatch(
        /^lambda invoke --function-name ecs-ops-prod-answer --payload \{"rollout":"\$e","answer":"(approve|reject|rollback)"\}$/,
      );
      const [attachment] = action.Attachments as { Variables: Record<string, string> }[];
      expect(Object.values(attachment?.Variables ?? {}).sort()).toEqual(
        Object.values(CHAT_ACTION_CONTEXT)
          .map((key) => `event.metadata.additionalContext.${key}`)
          .sort(),
      );
    }
    const [, fn] = of('AWS::Lambda::Function').find(
      ([, r]) => r.Properties?.FunctionName === 'ecs-ops-prod-answer',
    ) as [string, { Properties?: Record<string, unknown> }];
    expect(fn).toBeDefined();
    const roleId =
      (channel.Properties?.IamRoleArn as { 'Fn::GetAtt': [string, string] } | undefined)?.['Fn::GetAtt'][0] ??
      '';
    const statements = of('AWS::IAM::Policy')
      .filter(([, p]) => JSON.stringify(p.Properties?.Roles).includes(roleId))
      .flatMap(
        ([, p]) =>
          (
            p.Properties?.PolicyDocument as
              | { Statement: { Action: unknown; Resource: unknown }[] }
              | undefined
          )?.Statement ?? [],
      );
    const guardrailId =
      (channel.Properties?.GuardrailPolicies as { Ref: string }[] | undefined)?.[0]?.Ref ?? '';
    const guardrailDoc = template.Resources[guardrailId]?.Properties?.PolicyDocument as
      | { Statement: unknown[] }
      | undefined;
    const guardrail = guardrailDoc?.Statement ?? [];
    for (const found of [statements, guardrail]) {
      expect(found).toEqual([
        expect.objectContaining({
          Action: 'lambda:InvokeFunction',
          Effect: 'Allow',
          Resource: expect.anything(),
        }),
      ]);
      expect(JSON.stringify(found)).toContain('ChatAnswersFunction');
    }
  });
});
