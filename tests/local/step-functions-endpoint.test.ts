// Task-token callbacks through the Step Functions API, as functions and the CLI send them: the
// real SDK's SendTaskSuccess, SendTaskFailure and SendTaskHeartbeat reach the runner's waiting
// task through the rig's endpoint, and are refused with the errors the API gives. Other Step
// Functions calls pass through to the emulator.
import {
  CreateStateMachineCommand,
  DescribeExecutionCommand,
  ListExecutionsCommand,
  ListStateMachinesCommand,
  SendTaskFailureCommand,
  SendTaskHeartbeatCommand,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { describe, expect, it } from 'vitest';
import { awsClient } from '../../functions/shared/clients.ts';
import { STEP_FUNCTIONS_ENDPOINT_VAR } from '../../local/step-functions-endpoint.ts';
import { VirtualClock } from '../../local/virtual-clock.ts';
import { nextTaskToken, runWorkflow, type WorkflowResult } from '../../local/workflow-runner.ts';
import { closeEmulatedExecution } from '../../local/workflows.ts';
import { callbackMachine } from '../support/callback-machine.ts';
import { useEmulator } from '../support/emulator.ts';

const FN = 'arn:aws:lambda:us-east-1:123456789012:function:callback-fn';
const gate = (limits: Record<string, unknown> = {}) => callbackMachine(FN, limits);
const lambdas = { [FN]: async () => null };
const sfn = () => awsClient(SFNClient);
const refusal = (promise: Promise<unknown>) =>
  promise.then(
    () => 'accepted',
    (error: Error) => error.name,
  );

describe('task-token callbacks through the Step Functions API', () => {
  useEmulator();

  it('points the SDK at the rig endpoint, which passes other calls on to the emulator', async () => {
    expect(process.env[STEP_FUNCTIONS_ENDPOINT_VAR]).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(process.env[STEP_FUNCTIONS_ENDPOINT_VAR]).not.toBe(process.env.AWS_ENDPOINT_URL);
    const listed = await sfn().send(new ListStateMachinesCommand({}));
    expect(listed.stateMachines).toEqual([]);
  });

  it('resumes the waiting task with SendTaskSuccess; a second answer is refused with TaskTimedOut', async () => {
    const running = runWorkflow({ definition: gate(), lambdas, taskTokenTimeoutMs: 10_000 });
    const { token } = await nextTaskToken({ stateName: 'Gate' });
    await sfn().send(new SendTaskSuccessCommand({ taskToken: token, output: '{"decision":"approve"}' }));
    const result = await running;
    expect([result.status, result.output]).toEqual(['SUCCEEDED', { decision: 'approve' }]);
    const again = sfn().send(new SendTaskSuccessCommand({ taskToken: token, output: '{}' }));
    expect(await refusal(again)).toBe('TaskTimedOut');
  });

  it('fails the waiting task with SendTaskFailure, with an error its Catch matches', async () => {
    const running = runWorkflow({ definition: gate(), lambdas, taskTokenTimeoutMs: 10_000 });
    const { token } = await nextTaskToken({ stateName: 'Gate' });
    await sfn().send(new SendTaskFailureCommand({ taskToken: token, error: 'Rejected', cause: 'by carol' }));
    const result = await running;
    expect((result.output as { caught: unknown }).caught).toEqual({ Error: 'Rejected', Cause: 'by carol' });
  });

  it('keeps a task alive with SendTaskHeartbeat until its timeout, then refuses the late answer', async () => {
    const clock = new VirtualClock();
    const running = runWorkflow({
      definition: gate({ HeartbeatSeconds: 30, TimeoutSeconds: 300 }),
      lambdas,
      clock,
      // 10 ms of real time per virtual second: heartbeats every 10 ms keep the 30 s limit (300 ms)
      // met with room for a loaded machine, where a heartbeat's round trip can take tens of ms.
      taskTokenTimeoutMs: 300,
    });
    const { token } = await nextTaskToken({ stateName: 'Gate' });
    let beats = 0;
    let beating = true;
    const heartbeats = (async () => {
      while (beating) {
        const answer = await refusal(sfn().send(new SendTaskHeartbeatCommand({ taskToken: token })));
        if (answer !== 'accepted') return answer;
        beats++;
        await new Promise((r) => setTimeout(r, 10));
      }
      return 'stopped';
    })();
    const result: WorkflowResult = await running;
    beating = false;
    expect((result.output as { caught: { Error: string } }).caught.Error).toBe('States.Timeout');
    expect(beats).toBeGreaterThan(3);
    expect(await heartbeats).toMatch(/^(TaskTimedOut|stopped)$/);
    const late = sfn().send(new SendTaskSuccessCommand({ taskToken: token, output: '{}' }));
    expect(await refusal(late)).toBe('TaskTimedOut');
  });

  it('refuses a malformed token (InvalidToken), one never issued or of no live process (TaskDoesNotExist), and output that is not JSON (InvalidOutput)', async () => {
    const send = (taskToken: string, output = '{}') =>
      refusal(sfn().send(new SendTaskSuccessCommand({ taskToken, output })));
    expect(await send('not-a-token')).toBe('InvalidToken');
    const port = Number(new URL(process.env[STEP_FUNCTIONS_ENDPOINT_VAR] as string).port);
    const unissued = `local-task-token-${port}-00000000-0000-4000-8000-000000000000`;
    expect(await send(unissued)).toBe('TaskDoesNotExist');
    // Port 1 on loopback: no rig process listens there, so no execution holds the task.
    expect(await send('local-task-token-1-00000000-0000-4000-8000-000000000000')).toBe('TaskDoesNotExist');

    const running = runWorkflow({ definition: gate(), lambdas, taskTokenTimeoutMs: 10_000 });
    const { token } = await nextTaskToken({ stateName: 'Gate' });
    expect(await send(token, '{not json')).toBe('InvalidOutput');
    // A refused answer leaves the task waiting: a good one still resumes it.
    expect(await send(token, '{"ok":true}')).toBe('accepted');
    expect((await running).output).toEqual({ ok: true });
  });
});

describe('executions started through the Step Functions API', () => {
  useEmulator();

  const machine = async (name: string) =>
    (
      await sfn().send(
        new CreateStateMachineCommand({
          name,
          roleArn: 'arn:aws:iam::123456789012:role/states',
          definition: JSON.stringify({ StartAt: 'Done', States: { Done: { Type: 'Succeed' } } }),
        }),
      )
    ).stateMachineArn as string;

  it('answers a repeated name as AWS does: the same execution while it runs, ExecutionAlreadyExists once it closed', async () => {
    const stateMachineArn = await machine('named-starts');
    const start = (input: string) =>
      sfn().send(new StartExecutionCommand({ stateMachineArn, name: 'alarm-1', input }));
    const first = await start('{"n":1}');
    expect((await start('{"n":1}')).executionArn).toBe(first.executionArn);
    expect(await refusal(start('{"n":2}'))).toBe('ExecutionAlreadyExists');
    // The rig's runner ran it: closed with its outcome, no longer listed as running.
    await closeEmulatedExecution(first.executionArn as string, { status: 'SUCCEEDED', output: { ok: true } });
    const described = await sfn().send(new DescribeExecutionCommand({ executionArn: first.executionArn }));
    expect([described.status, described.output]).toEqual(['SUCCEEDED', '{"ok":true}']);
    const running = await sfn().send(new ListExecutionsCommand({ stateMachineArn, statusFilter: 'RUNNING' }));
    expect(running.executions).toEqual([]);
    expect(await refusal(start('{"n":1}'))).toBe('ExecutionAlreadyExists');
  });

  it('refuses a name over 80 characters or with a forbidden character, and an input over 256 KiB', async () => {
    const stateMachineArn = await machine('limits');
    const start = (name: string, input: string) =>
      sfn().send(new StartExecutionCommand({ stateMachineArn, name, input }));
    expect(await refusal(start('x'.repeat(81), '{}'))).toBe('ValidationException');
    expect(await refusal(start('bad name', '{}'))).toBe('InvalidName');
    const atLimit = JSON.stringify({ pad: 'x'.repeat(256 * 1024 - 10) });
    expect(Buffer.byteLength(atLimit)).toBe(256 * 1024);
    expect(await refusal(start('at-limit', atLimit))).toBe('accepted');
    expect(await refusal(start('over-limit', JSON.stringify({ pad: 'x'.repeat(256 * 1024 - 9) })))).toBe(
      'ValidationException',
    );
  });
});
