// Step Functions' service rules on the local runner: each test shows the rig refusing what AWS
// refuses, with the error name AWS gives. The definitions are plain ASL with in-process Lambda
// tasks, so no emulator is needed.
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../local/virtual-clock.ts';
import {
  nextTaskToken,
  runWorkflow,
  StartExecutionRefused,
  sendTaskHeartbeat,
  sendTaskSuccess,
  type WorkflowResult,
} from '../../local/workflow-runner.ts';
import { callbackMachine } from '../support/callback-machine.ts';

const FN = 'arn:aws:lambda:us-east-1:123456789012:function:rules-fn';
const invoke = (extra: Record<string, unknown> = {}) => ({
  Type: 'Task',
  Resource: 'arn:aws:states:::lambda:invoke',
  Parameters: { FunctionName: FN, 'Payload.$': '$' },
  OutputPath: '$.Payload',
  ...extra,
});
const CATCH_ALL = [{ ErrorEquals: ['States.ALL'], ResultPath: '$.caught', Next: 'Caught' }];
const caught = { Caught: { Type: 'Pass', End: true } };
const errorOf = (result: WorkflowResult) => (result.output as { caught?: { Error: string } }).caught?.Error;
/** 150 KiB: two of them pass the 256 KiB limit. */
const blob = 'x'.repeat(150 * 1024);
/** One task that waits for its token to be answered. */
const WAITS_FOR_ANSWER = {
  StartAt: 'Wait',
  States: {
    Wait: {
      Type: 'Task',
      Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
      Parameters: { FunctionName: FN, Payload: { 'token.$': '$$.Task.Token' } },
      End: true,
    },
  },
};
/** A parent whose one task starts the child `arn` as `name` with `input` (a nested start). */
const startChild = (
  resource: string,
  childWorkflows: Record<string, (input: unknown, executionName: string) => Promise<WorkflowResult>>,
  arn: string,
  name: string,
  input: unknown,
) =>
  runWorkflow({
    definition: {
      StartAt: 'Start child',
      States: {
        'Start child': {
          Type: 'Task',
          Resource: resource,
          Parameters: { 'StateMachineArn.$': '$.arn', 'Name.$': '$.name', 'Input.$': '$.input' },
          Catch: CATCH_ALL,
          End: true,
        },
        ...caught,
      },
    },
    input: { arn, name, input },
    childWorkflows,
    stateMachineName: 'rules-parent',
  });
let names = 0;
const unique = (prefix: string) => `${prefix}-${++names}-${Date.now()}`;

describe('execution names', () => {
  const machine = { StartAt: 'Run', States: { Run: invoke({ End: true }) } };
  const lambdas = { [FN]: async (event: unknown) => event };

  it('refuses a name outside 1-80 characters (ValidationException) or with a forbidden character (InvalidName), as StartExecution does', async () => {
    for (const [name, code] of [
      ['a'.repeat(81), 'ValidationException'],
      ['', 'ValidationException'],
      ['has space', 'InvalidName'],
      ['colon:name', 'InvalidName'],
      ['slash/name', 'InvalidName'],
    ] as const) {
      const run = runWorkflow({
        definition: machine,
        lambdas,
        executionName: name,
        stateMachineName: 'names',
      });
      await expect(run, name).rejects.toBeInstanceOf(StartExecutionRefused);
      await expect(run, name).rejects.toMatchObject({ name: code });
    }
    const ok = await runWorkflow({
      definition: machine,
      lambdas,
      executionName: 'a'.repeat(80),
      stateMachineName: 'names',
    });
    expect(ok.status).toBe('SUCCEEDED');
  });

  it('answers a repeated name as AWS does: the same execution while it runs with the same input, otherwise ExecutionAlreadyExists', async () => {
    let invoked = 0;
    const counting = { [FN]: async () => ++invoked };
    const name = unique('repeat');
    const opts = {
      definition: WAITS_FOR_ANSWER,
      lambdas: counting,
      executionName: name,
      stateMachineName: 'repeats',
    };
    const first = runWorkflow({ ...opts, input: { v: 1 } });
    const token = await nextTaskToken({ stateName: 'Wait' });
    const again = runWorkflow({ ...opts, input: { v: 1 } });
    await expect(runWorkflow({ ...opts, input: { v: 2 } })).rejects.toMatchObject({
      name: 'ExecutionAlreadyExists',
    });
    sendTaskSuccess(token.token, { done: true });
    const [a, b] = await Promise.all([first, again]);
    expect(a).toBe(b);
    expect(invoked).toBe(1);
    // Ended: the name stays taken, whatever the input.
    await expect(runWorkflow({ ...opts, input: { v: 1 } })).rejects.toMatchObject({
      name: 'ExecutionAlreadyExists',
    });
  });

  it.each(['arn:aws:states:::states:startExecution.sync', 'arn:aws:states:::states:startExecution.sync:2'])(
    'fails a nested start (%s) with a bad, reused or unknown target as the catchable StepFunctions.* error',
    async (resource) => {
      const child = { StartAt: 'Done', States: { Done: { Type: 'Pass', End: true } } };
      const childArn = 'arn:aws:states:us-east-1:123456789012:stateMachine:rules-child';
      const childWorkflows = {
        [childArn]: (input: unknown, executionName: string) =>
          runWorkflow({ definition: child, input, executionName, stateMachineName: 'rules-child' }),
      };
      const start = (arn: string, name: string) =>
        startChild(resource, childWorkflows, arn, name, { from: 'parent' });

      expect(errorOf(await start(childArn, `${'n'.repeat(80)}-scale`))).toBe(
        'StepFunctions.ValidationException',
      );
      expect(errorOf(await start(childArn, 'bad name'))).toBe('StepFunctions.InvalidNameException');
      const used = unique('child');
      expect((await start(childArn, used)).status).toBe('SUCCEEDED');
      expect(errorOf(await start(childArn, used))).toBe('StepFunctions.ExecutionAlreadyExistsException');
      expect(errorOf(await start(`${childArn}-gone`, unique('x')))).toBe(
        'StepFunctions.StateMachineDoesNotExistException',
      );
    },
  );

  it.each(['arn:aws:states:::states:startExecution.sync', 'arn:aws:states:::states:startExecution.sync:2'])(
    'answers a nested start (%s) repeated while its child runs with that child, and a different input with ExecutionAlreadyExists',
    async (resource) => {
      // A parent whose start was retried after a lost answer waits on the child it started.
      let invoked = 0;
      const childArn = 'arn:aws:states:us-east-1:123456789012:stateMachine:rules-waiting-child';
      const childWorkflows = {
        [childArn]: (input: unknown, executionName: string) =>
          runWorkflow({
            definition: WAITS_FOR_ANSWER,
            input,
            executionName,
            stateMachineName: 'rules-waiting-child',
            lambdas: { [FN]: async () => ++invoked },
          }),
      };
      const start = (name: string, input: unknown) =>
        startChild(resource, childWorkflows, childArn, name, input);
      const name = unique('running-child');
      const first = start(name, { v: 1 });
      const token = await nextTaskToken({ stateName: 'Wait' });
      const again = start(name, { v: 1 });
      expect(errorOf(await start(name, { v: 2 }))).toBe('StepFunctions.ExecutionAlreadyExistsException');
      sendTaskSuccess(token.token, { done: true });
      const [a, b] = await Promise.all([first, again]);
      expect([a.status, b.status]).toEqual(['SUCCEEDED', 'SUCCEEDED']);
      // The same child: its ARN and its output.
      const child = (result: WorkflowResult) => {
        const { ExecutionArn, Output } = result.output as { ExecutionArn: string; Output: unknown };
        return { ExecutionArn, Output };
      };
      expect(child(a)).toEqual(child(b));
      expect(invoked).toBe(1);
    },
  );

  it('fails a Lambda chosen at run time that does not exist as the catchable Lambda.ResourceNotFoundException', async () => {
    const machine = {
      StartAt: 'Call',
      States: {
        Call: {
          Type: 'Task',
          Resource: 'arn:aws:states:::lambda:invoke',
          Parameters: { 'FunctionName.$': '$.fn', Payload: {} },
          Catch: CATCH_ALL,
          End: true,
        },
        ...caught,
      },
    };
    const result = await runWorkflow({ definition: machine, input: { fn: 'rules-missing' }, lambdas: {} });
    expect(errorOf(result)).toBe('Lambda.ResourceNotFoundException');
  });
});

describe('the 256 KiB payload limit', () => {
  it('refuses an execution input over 256 KiB before anything runs', async () => {
    let ran = false;
    const machine = { StartAt: 'Run', States: { Run: invoke({ End: true }) } };
    await expect(
      runWorkflow({
        definition: machine,
        input: { a: blob, b: blob },
        lambdas: { [FN]: async () => (ran = true) },
      }),
    ).rejects.toMatchObject({ name: 'ValidationException' });
    expect(ran).toBe(false);
  });

  it('fails a task whose result passes 256 KiB with States.DataLimitExceeded, which States.ALL does not catch', async () => {
    const machine = { StartAt: 'Run', States: { Run: invoke({ Catch: CATCH_ALL, End: true }), ...caught } };
    const result = await runWorkflow({
      definition: machine,
      lambdas: { [FN]: async () => ({ a: blob, b: blob }) },
    });
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('States.DataLimitExceeded');
    expect(result.states).toEqual(['Run']);
  });

  it("counts Lambda's HTTP metadata in a lambda:invoke result, as AWS writes it, and not in a function's own answer", async () => {
    // A payload 300 bytes short of the limit: alone it fits, with the metadata it does not.
    const payload = 'p'.repeat(256 * 1024 - 300);
    const lambdas = { [FN]: async () => payload };
    const selected = {
      StartAt: 'Run',
      States: {
        Run: {
          Type: 'Task',
          Resource: 'arn:aws:states:::lambda:invoke',
          Parameters: { FunctionName: FN, Payload: {} },
          ResultSelector: {
            'status.$': '$.SdkHttpMetadata.HttpStatusCode',
            'requestId.$': '$.SdkResponseMetadata.RequestId',
            'version.$': '$.SdkHttpMetadata.HttpHeaders.X-Amz-Executed-Version',
          },
          End: true,
        },
      },
    };
    const small = await runWorkflow({ definition: selected, lambdas: { [FN]: async () => 'ok' } });
    expect(small.output).toEqual({ status: 200, requestId: expect.any(String), version: '$LATEST' });
    const full = await runWorkflow({ definition: selected, lambdas });
    expect([full.status, full.error]).toEqual(['FAILED', 'States.DataLimitExceeded']);
    // The function's ARN as the resource: its answer alone is the result.
    const direct = { StartAt: 'Run', States: { Run: { Type: 'Task', Resource: FN, End: true } } };
    expect((await runWorkflow({ definition: direct, lambdas })).status).toBe('SUCCEEDED');
  });

  it('lets a catcher that names States.DataLimitExceeded catch it', async () => {
    const named = [{ ErrorEquals: ['States.DataLimitExceeded'], ResultPath: '$.caught', Next: 'Caught' }];
    const machine = { StartAt: 'Run', States: { Run: invoke({ Catch: named, End: true }), ...caught } };
    const result = await runWorkflow({
      definition: machine,
      lambdas: { [FN]: async () => ({ a: blob, b: blob }) },
    });
    expect(result.status).toBe('SUCCEEDED');
    expect(errorOf(result)).toBe('States.DataLimitExceeded');
  });

  it('fails a task whose input after Parameters passes 256 KiB, before the call', async () => {
    let called = false;
    const machine = {
      StartAt: 'Run',
      States: {
        Run: {
          ...invoke({ Catch: CATCH_ALL, End: true }),
          Parameters: { FunctionName: FN, Payload: { 'a.$': '$.blob', 'b.$': '$.blob' } },
        },
        ...caught,
      },
    };
    const result = await runWorkflow({
      definition: machine,
      input: { blob },
      lambdas: { [FN]: async () => (called = true) },
    });
    expect([result.status, result.error, called]).toEqual(['FAILED', 'States.DataLimitExceeded', false]);
  });

  it('fails the execution when any state output passes 256 KiB', async () => {
    const machine = {
      StartAt: 'Double',
      States: {
        Double: { Type: 'Pass', Parameters: { 'a.$': '$.blob', 'b.$': '$.blob' }, Next: 'After' },
        After: invoke({ End: true }),
      },
    };
    let called = false;
    const result = await runWorkflow({
      definition: machine,
      input: { blob },
      lambdas: { [FN]: async () => (called = true) },
    });
    expect([result.status, result.error, called]).toEqual(['FAILED', 'States.DataLimitExceeded', false]);
  });
});

describe('the history limit', () => {
  it('fails an execution whose history would pass 25,000 events', async () => {
    // Each turn is a Lambda task (5 events) and a Choice (2): about 3,600 turns reach the limit.
    const machine = {
      StartAt: 'Turn',
      States: {
        Turn: invoke({ Next: 'Again?' }),
        'Again?': {
          Type: 'Choice',
          Choices: [{ Variable: '$.more', BooleanEquals: true, Next: 'Turn' }],
          Default: 'Done',
        },
        Done: { Type: 'Succeed' },
      },
    };
    let turns = 0;
    const result = await runWorkflow({
      definition: machine,
      input: { more: true },
      lambdas: { [FN]: async () => ({ more: ++turns < 10_000 }) },
    });
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('States.Runtime');
    expect(result.cause).toMatch(/25000 events/);
    expect(turns).toBeGreaterThan(3_000);
    expect(turns).toBeLessThan(3_700);
  }, 60_000);
});

describe('timeouts and heartbeats on the virtual clock', () => {
  it('times a task out when it runs past its TimeoutSeconds on the virtual clock (States.TaskFailed does not match)', async () => {
    const clock = new VirtualClock();
    const machine = (timeout: Record<string, number>) => ({
      StartAt: 'Slow',
      States: {
        Slow: invoke({
          ...timeout,
          Catch: [
            { ErrorEquals: ['States.TaskFailed'], ResultPath: '$.caught', Next: 'Failed' },
            { ErrorEquals: ['States.Timeout'], ResultPath: '$.caught', Next: 'Caught' },
          ],
          End: true,
        }),
        Failed: { Type: 'Fail', Error: 'Wrong' },
        ...caught,
      },
    });
    const slow = async () => {
      clock.advance(61_000);
      return {};
    };
    const result = await runWorkflow({
      definition: machine({ TimeoutSeconds: 60 }),
      clock,
      lambdas: { [FN]: slow },
    });
    expect(errorOf(result)).toBe('States.Timeout');
    // Without TimeoutSeconds AWS allows 99,999,999 s: two hours pass.
    const patient = async () => {
      clock.advance(2 * 3_600_000);
      return { fine: true };
    };
    const ok = await runWorkflow({ definition: machine({}), clock, lambdas: { [FN]: patient } });
    expect(ok.output).toEqual({ fine: true });
  });

  const callback = (limits: Record<string, unknown>) => callbackMachine(FN, limits);

  it('fails a callback task with States.HeartbeatTimeout when HeartbeatSecondsPath passes without a heartbeat, moving the clock by it', async () => {
    const clock = new VirtualClock();
    const before = clock.now();
    const result = await runWorkflow({
      definition: callback({ HeartbeatSecondsPath: '$.heartbeat', TimeoutSeconds: 3600 }),
      input: { heartbeat: 30 },
      clock,
      lambdas: { [FN]: async () => null },
    });
    expect(errorOf(result)).toBe('States.HeartbeatTimeout');
    expect(clock.now() - before).toBeGreaterThanOrEqual(30_000);
    expect(clock.now() - before).toBeLessThan(40_000);
  });

  it('keeps a callback task alive on SendTaskHeartbeat until its TimeoutSecondsPath passes (States.Timeout)', async () => {
    const clock = new VirtualClock();
    const before = clock.now();
    const running = runWorkflow({
      definition: callback({ HeartbeatSeconds: 30, TimeoutSecondsPath: '$.timeout' }),
      input: { timeout: 300 },
      clock,
      // 1 ms of real time per virtual second: 30 ms between heartbeats, 300 ms in all.
      taskTokenTimeoutMs: 30,
      lambdas: { [FN]: async () => null },
    });
    const { token } = await nextTaskToken({ stateName: 'Gate' });
    const beating = setInterval(() => {
      try {
        sendTaskHeartbeat(token);
      } catch {
        clearInterval(beating);
      }
    }, 5);
    const result = await running;
    clearInterval(beating);
    expect(errorOf(result)).toBe('States.Timeout');
    expect(clock.now() - before).toBeGreaterThanOrEqual(300_000);
    expect(() => sendTaskSuccess(token, {})).toThrow(expect.objectContaining({ name: 'TaskTimedOut' }));
  });

  it('fails the run with States.Runtime when a timeout path points nowhere', async () => {
    const result = await runWorkflow({
      definition: callback({ HeartbeatSecondsPath: '$.missing' }),
      lambdas: { [FN]: async () => null },
    });
    expect([result.status, result.error]).toEqual(['FAILED', 'States.Runtime']);
  });
});

describe('retries on the virtual clock', () => {
  it('moves the clock by each retry interval with its backoff', async () => {
    const clock = new VirtualClock();
    const seenAt: number[] = [];
    let calls = 0;
    const flaky = async () => {
      seenAt.push(clock.now());
      if (++calls < 3) throw Object.assign(new Error('try again'), { name: 'Transient' });
      return { ok: true };
    };
    const machine = {
      StartAt: 'Flaky',
      States: {
        Flaky: invoke({
          Retry: [{ ErrorEquals: ['Transient'], IntervalSeconds: 2, BackoffRate: 3, MaxAttempts: 3 }],
          End: true,
        }),
      },
    };
    const result = await runWorkflow({ definition: machine, clock, lambdas: { [FN]: flaky } });
    expect(result.output).toEqual({ ok: true });
    const gaps = seenAt.slice(1).map((at, i) => at - (seenAt[i] as number));
    expect(gaps[0]).toBeGreaterThanOrEqual(2_000);
    expect(gaps[0]).toBeLessThan(2_500);
    expect(gaps[1]).toBeGreaterThanOrEqual(6_000);
    expect(gaps[1]).toBeLessThan(6_500);
  });
});

describe('callbacks answered as the SFN API answers them', () => {
  it('refuses an unknown token (TaskDoesNotExist), a malformed one (InvalidToken) and one already answered (TaskTimedOut)', async () => {
    expect(() => sendTaskSuccess('local-task-token-never-issued', {})).toThrow(
      expect.objectContaining({ name: 'TaskDoesNotExist' }),
    );
    expect(() => sendTaskSuccess('', {})).toThrow(expect.objectContaining({ name: 'InvalidToken' }));
    const machine = {
      StartAt: 'Gate',
      States: {
        Gate: {
          Type: 'Task',
          Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
          Parameters: { FunctionName: FN, Payload: { 'token.$': '$$.Task.Token' } },
          End: true,
        },
      },
    };
    const running = runWorkflow({ definition: machine, lambdas: { [FN]: async () => null } });
    const { token } = await nextTaskToken({ stateName: 'Gate' });
    sendTaskSuccess(token, { first: true });
    expect(() => sendTaskSuccess(token, { second: true })).toThrow(
      expect.objectContaining({ name: 'TaskTimedOut' }),
    );
    expect((await running).output).toEqual({ first: true });
  });
});
