// The synthesized rollout workflow and its permissions: what the template must say, checked on
// the control-plane stack built from the real bundles (cdk-nag runs at synth and must pass).
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RolloutEnvSchema } from '../../functions/shared/rollouts/config.ts';
import { buildApp } from '../../infra/app.ts';
import { DEFAULT_ROLLOUT_SERVICES } from '../../infra/control-plane/rollouts/rollouts.ts';
import { ROLLOUT_OUTPUTS } from '../../infra/shared/stack-outputs.ts';
import type { ControlPlaneStack } from '../../infra/stacks/control-plane-stack.ts';
import { resolveTokens } from '../../local/template.ts';
import { ROLLOUT_STATES } from '../../workflows/blue-green-rollout.ts';
import { bundledFunctions } from '../infra/synth-support.ts';

type Resource = { Type: string; Properties?: Record<string, unknown>; Metadata?: Record<string, unknown> };
type Statement = { Sid?: string; Action: string | string[]; Resource: unknown; Condition?: unknown };
type AslState = Record<string, unknown> & { Type: string };

let workDir: string;
let stack: ControlPlaneStack;
let resources: Record<string, Resource>;
let outputs: Record<string, unknown>;
let states: Record<string, AslState>;

beforeAll(() => {
  const bundles = bundledFunctions();
  workDir = bundles.workDir;
  const built = buildApp({
    outdir: join(workDir, 'cdk.out'),
    environmentName: 'test',
    assetRoot: bundles.assetRoot,
  });
  stack = built.stack;
  // Synthesis runs the cdk-nag packs: it throws on an unacknowledged finding.
  const template = built.app.synth().getStackByName(stack.stackName).template as {
    Resources: Record<string, Resource>;
    Outputs: Record<string, unknown>;
  };
  resources = template.Resources;
  outputs = template.Outputs;
  const [, machine] = Object.entries(resources).find(
    ([id, r]) => r.Type === 'AWS::StepFunctions::StateMachine' && id.startsWith('RolloutsWorkflow'),
  ) as [string, Resource];
  const definition = resolveTokens(machine.Properties?.DefinitionString, {
    resources: new Proxy({}, { get: (_t, id) => ({ ref: String(id), Arn: `arn:${String(id)}` }) }),
    region: 'us-east-1',
    accountId: '123456789012',
    partition: 'aws',
    stackName: stack.stackName,
    urlSuffix: 'amazonaws.com',
  }) as string;
  states = (JSON.parse(definition) as { States: Record<string, AslState> }).States;
});

afterAll(() => {
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

const statementsOf = (fragment: string): Statement[] =>
  Object.entries(resources)
    .filter(([id, r]) => r.Type === 'AWS::IAM::Policy' && id.includes(fragment))
    .flatMap(
      ([, r]) => (r.Properties?.PolicyDocument as { Statement?: Statement[] } | undefined)?.Statement ?? [],
    );
const actions = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);
const text = (value: unknown) => JSON.stringify(value);
const variablesOf = (r: Resource): Record<string, unknown> =>
  (r.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {};

describe('the blue-green-rollout state machine', () => {
  it('validates in its first state and fails bad input there, naming the field', () => {
    const first = states[ROLLOUT_STATES.validate];
    expect(first?.Type).toBe('Task');
    expect(first?.Catch).toEqual([
      expect.objectContaining({ ErrorEquals: ['InvalidInput'], Next: ROLLOUT_STATES.rejected }),
    ]);
    expect(states[ROLLOUT_STATES.rejected]).toMatchObject({
      Type: 'Fail',
      ErrorPath: '$.Error',
      CausePath: '$.Cause',
    });
  });

  it('bakes with one Wait state whose length comes from the step, so transitions do not grow with bake time', () => {
    const waits = Object.entries(states).filter(([, s]) => s.Type === 'Wait');
    const bakes = waits.filter(([, s]) => s.SecondsPath === '$.progress.bakeSeconds');
    expect(bakes.map(([name]) => name)).toEqual([ROLLOUT_STATES.bake]);
    // No loop polls during a bake: the only other waits are green's start-up, a spot-storm hold
    // (one Wait of its own length, between two analyses) and blue's termination.
    expect(waits.map(([name]) => name).sort()).toEqual(
      [
        ROLLOUT_STATES.bake,
        ROLLOUT_STATES.stormHold,
        ROLLOUT_STATES.terminationWait,
        ROLLOUT_STATES.waitGreen,
      ].sort(),
    );
    expect(states[ROLLOUT_STATES.stormHold]).toMatchObject({
      SecondsPath: '$.progress.holdSeconds',
      Next: ROLLOUT_STATES.analyse,
    });
  });

  it('waits for approvals and the rollback window on a task token with the input’s timeout', () => {
    for (const [name, path] of [
      [ROLLOUT_STATES.waitForApproval, '$.gate.timeoutSeconds'],
      [ROLLOUT_STATES.window, '$.rollout.rollbackWindowSeconds'],
    ] as const) {
      const state = states[name];
      expect(state?.Resource).toBe('arn:aws:states:::lambda:invoke.waitForTaskToken');
      expect(state?.HeartbeatSecondsPath).toBe(path);
      expect(text(state?.Parameters)).toContain('$$.Task.Token');
    }
  });

  it('invokes the pre-traffic hook named in the input, judging its failures instead of failing on them', () => {
    type Catcher = { ErrorEquals: string[]; Next: string; ResultPath: string };
    const run = states[ROLLOUT_STATES.runHook] as unknown as {
      Type: string;
      Parameters: Record<string, unknown>;
      ResultSelector: Record<string, unknown>;
      ResultPath: string;
      Branches: { StartAt: string; States: Record<string, Record<string, unknown>> }[];
      Catch: Catcher[];
      Next: string;
    };
    // The answer is judged in a branch of its own: there it may take the whole 256 KiB, which it
    // could not beside the rollout's state. Only the verdict comes back.
    expect(run.Type).toBe('Parallel');
    expect(run.Parameters).toEqual({
      'hook.$': '$.rollout.preTraffic.hookFunctionArn',
      'request.$': '$.preTraffic.request',
    });
    expect([run.ResultSelector, run.ResultPath]).toEqual([{ 'verdict.$': '$[0]' }, '$.preTraffic']);
    expect(run.Catch.map((c) => c.Next)).toEqual([ROLLOUT_STATES.onFailure, ROLLOUT_STATES.onFailure]);
    expect(run.Next).toBe(ROLLOUT_STATES.hookResult);
    const [branch] = run.Branches;
    expect(branch?.StartAt).toBe(ROLLOUT_STATES.invokeHook);
    const hook = branch?.States[ROLLOUT_STATES.invokeHook] as {
      Resource: string;
      Parameters: Record<string, unknown>;
      ResultPath?: string;
      ResultSelector: Record<string, unknown>;
      Retry: { ErrorEquals: string[] }[];
      Catch: Catcher[];
      Next: string;
    };
    expect(hook.Resource).toBe('arn:aws:states:::lambda:invoke');
    expect(hook.Parameters).toEqual({ 'FunctionName.$': '$.hook', 'Payload.$': '$.request' });
    expect(hook.ResultPath).toBeUndefined();
    // Lambda's HTTP metadata is left out: the judge's event adds its action in its place.
    expect(hook.ResultSelector).toEqual({ 'Payload.$': '$.Payload', 'StatusCode.$': '$.StatusCode' });
    expect(hook.Retry[0]?.ErrorEquals).toContain('Lambda.ServiceException');
    // States.ALL does not match States.DataLimitExceeded (an oversized answer), so it is named too.
    expect(hook.Catch).toEqual([
      { ErrorEquals: ['States.DataLimitExceeded'], Next: ROLLOUT_STATES.judgeHook, ResultPath: '$.error' },
      { ErrorEquals: ['States.ALL'], Next: ROLLOUT_STATES.judgeHook, ResultPath: '$.error' },
    ]);
    expect(hook.Next).toBe(ROLLOUT_STATES.judgeHook);
    expect(branch?.States[ROLLOUT_STATES.judgeHook]?.Parameters).toEqual({
      action: 'pre-traffic-verdict',
      'answer.$': '$',
    });
    // Before any production traffic: the checks come between green ready and the traffic gate.
    expect(text(states[ROLLOUT_STATES.greenReady])).toContain(ROLLOUT_STATES.preTraffic);
    expect(text(states[ROLLOUT_STATES.hookPassed])).toContain(ROLLOUT_STATES.approvalBeforeTraffic);
  });

  it('goes back to blue traffic first, then removes green, with retries and a last resort that frees the lock', () => {
    expect(states[ROLLOUT_STATES.restoreBlue]?.Next).toBe(ROLLOUT_STATES.removeGreen);
    expect(states[ROLLOUT_STATES.removeGreen]?.Next).toBe(ROLLOUT_STATES.recordRollback);
    for (const name of [
      ROLLOUT_STATES.restoreBlue,
      ROLLOUT_STATES.removeGreen,
      ROLLOUT_STATES.recordRollback,
    ]) {
      const state = states[name] as unknown as {
        Retry: { ErrorEquals: string[]; BackoffRate: number }[];
        Catch: { ErrorEquals: string[]; Next: string }[];
      };
      expect(state.Retry.some((r) => r.ErrorEquals.includes('States.ALL') && r.BackoffRate === 2)).toBe(true);
      expect(state.Catch.map((c) => [c.ErrorEquals, c.Next])).toEqual([
        [['States.DataLimitExceeded'], ROLLOUT_STATES.rollbackFailed],
        [['States.ALL'], ROLLOUT_STATES.rollbackFailed],
      ]);
    }
  });
});

describe('rollout permissions and wiring', () => {
  it('re-weighs only the listeners and rules of the managed services’ load balancers', () => {
    // Each action only on the resource type AWS authorizes it on: listeners, and listener rules.
    const scopeOf = (action: string) => {
      const found = statementsOf('RolloutsStep').filter((s) => actions(s).includes(action));
      expect(found, action).toHaveLength(1);
      expect(actions(found[0] as Statement)).toEqual([action]);
      return text(found[0]?.Resource);
    };
    const listeners = scopeOf('elasticloadbalancing:ModifyListener');
    expect(listeners).toContain(':listener/app/web-alb/*');
    expect(listeners).not.toContain('listener-rule');
    const rules = scopeOf('elasticloadbalancing:ModifyRule');
    expect(rules).toContain(':listener-rule/app/web-alb/*');
    for (const scope of [listeners, rules]) expect(scope).not.toContain('"*"');
  });

  it('lets the state machine invoke pre-traffic hooks named rollout-hook-* of its account and region only', () => {
    const invoke = statementsOf('RolloutsWorkflow').filter((s) => s.Sid === 'InvokePreTrafficHooks');
    expect(invoke).toHaveLength(1);
    expect(actions(invoke[0] as Statement)).toEqual(['lambda:InvokeFunction']);
    const scope = text(invoke[0]?.Resource);
    expect(scope).toContain(':function:rollout-hook-*');
    expect(scope).not.toContain('"*"');
  });

  it('creates, promotes and deletes task sets of the managed services only', () => {
    const all = [...statementsOf('RolloutsStep'), ...statementsOf('RolloutsWorkflow')];
    const taskSetActions = [
      'ecs:CreateTaskSet',
      'ecs:UpdateServicePrimaryTaskSet',
      'ecs:DeleteTaskSet',
      'ecs:updateTaskSet',
    ];
    const found = all.filter((s) => actions(s).some((a) => taskSetActions.includes(a)));
    expect(found.length).toBeGreaterThan(0);
    for (const s of found) {
      const scope = text(s.Resource);
      expect(scope).not.toContain('"*"');
      expect(scope).toMatch(/:(service|task-set)\/web\/api/);
    }
    const passRole = all.find((s) => actions(s).includes('iam:PassRole'));
    expect(passRole?.Condition).toEqual({
      StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' },
    });
  });

  it('gives both functions an environment their schema parses, and outputs the state machine ARN', () => {
    const fns = Object.values(resources).filter(
      (r) =>
        r.Type === 'AWS::Lambda::Function' &&
        ['rollout-step', 'rollout-analysis'].includes(String(variablesOf(r).POWERTOOLS_SERVICE_NAME)),
    );
    expect(fns).toHaveLength(2);
    for (const fn of fns) {
      const vars = variablesOf(fn);
      const placeholders = Object.fromEntries(
        Object.entries(vars).map(([k, v]) => [k, typeof v === 'string' ? v : `placeholder:${text(v)}`]),
      );
      const parsed = RolloutEnvSchema.safeParse(placeholders);
      expect(parsed.error?.issues ?? []).toEqual([]);
      expect(parsed.data?.MANAGED_SERVICES).toEqual(DEFAULT_ROLLOUT_SERVICES);
    }
    expect(outputs[ROLLOUT_OUTPUTS.rolloutStateMachineArn]).toMatchObject({
      Value: { Ref: expect.stringMatching(/^RolloutsWorkflow/) },
    });
  });

  it('leaves no unacknowledged cdk-nag finding on the rollout constructs', () => {
    const findings = [new AwsSolutionsChecks(), new ServerlessChecks()].flatMap((pack) =>
      pack
        .validateScope(stack.rollouts)
        .violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} at ${r.constructPath}`)),
    );
    expect(findings).toEqual([]);
  });
});
