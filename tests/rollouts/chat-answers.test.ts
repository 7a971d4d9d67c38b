// Answers from chat buttons, on the emulator: a rollout's gate notification, rendered as the router
// renders it for Amazon Q Developer, shows the buttons the stack's custom actions define (read from
// the template of an environment with a chat channel: criteria, variables, command); pressing one
// invokes the chat-answer function, as deployed and as its role, with the payload the command carries. One test per gate
// state: open (approve, reject), closed (refused), a rollback window (roll back), and none.
import { beforeAll, describe, expect, it } from 'vitest';
import { ChatNotificationSchema } from '../../events/chat-notification.ts';
import { chatOf } from '../../functions/alert-router/formats.ts';
import type { Alert } from '../../functions/shared/alerts.ts';
import { type EnvironmentConfigInput, loadConfig } from '../../infra/config.ts';
import { buttonsOn, type ChatButton, chatButtonsOf } from '../../local/chat-buttons.ts';
import { synthControlPlane } from '../../local/control-plane.ts';
import { localFunction } from '../../local/lambda-host.ts';
import { runRollout } from '../../local/rollouts.ts';
import { nextTaskToken } from '../../local/workflow-runner.ts';
import {
  expectSettled,
  input,
  journalOf,
  scenarioClock,
  takeAlerts,
  waitForAlert,
  waitForRecord,
  writeTraffic,
} from './scenario-support.ts';
import { useRolloutWorld } from './world.ts';

describe('answers from chat buttons', () => {
  const { world } = useRolloutWorld();
  let buttons: ChatButton[];
  beforeAll(async () => {
    // The buttons exist where a chat channel is configured: prod's config, with one.
    const config = structuredClone(loadConfig('prod')) as EnvironmentConfigInput;
    config.alerts.chat = { slackWorkspaceId: 'T0123ABCD', slackChannelId: 'C0123ABCD' };
    buttons = chatButtonsOf((await synthControlPlane('prod', { config })).template);
  });

  /** The chat body of a raised alert, checked against the custom notification schema. */
  const chatBody = (alert: Alert) =>
    ChatNotificationSchema.parse(
      chatOf({ kind: 'alert', alert, threadId: 'thread-1', environment: 'local' }),
    );
  /** Presses a button of the notification: invokes what its command invokes, as deployed. */
  const press = async (alert: Alert, text: string, clock = scenarioClock()) => {
    const button = buttonsOn(buttons, chatBody(alert)).find((b) => b.text === text);
    if (!button) throw new Error(`no ${text} button on ${alert.kind}`);
    expect(button.functionName).toBe('ecs-ops-prod-answer');
    const fn = await localFunction(world.stack, 'chat-answer', { clock });
    return (await fn.invoke(button.payload)) as { status: string; message: string };
  };

  it('an open gate: Approve answers it and the rollout goes on; a second press is refused, the gate has closed', async () => {
    const clock = scenarioClock();
    await writeTraffic(world, clock, {});
    await takeAlerts(world);
    const image = `registry.local/api:chat-approved-${world.throttleRate}`;
    const run = runRollout(
      world.stack,
      // No rollback window: the rollout ends once approved (the window has a test of its own).
      input(image, {
        approval: { gate: 'before-traffic', timeoutSeconds: 3600, defaultAction: 'reject' },
        rollbackWindowSeconds: 0,
      }) as Record<string, unknown>,
      { clock, taskTokenTimeoutMs: 30_000 },
    );
    const token = await nextTaskToken({ stateName: 'Wait for approval', timeoutMs: 30_000 });
    await waitForRecord(world, token.executionName, (r) => r.gate?.token === token.token);
    const approval = await waitForAlert(world, 'rollout-approval');
    expect(buttonsOn(buttons, chatBody(approval)).map((b) => b.text)).toEqual(['Approve', 'Reject']);

    const answered = await press(approval, 'Approve', clock);
    expect(answered).toMatchObject({ status: 'answered' });
    expect(answered.message).toContain(`approved the before-traffic gate of ${token.executionName}`);
    const result = await run;
    expect(result.status).toBe('SUCCEEDED');
    expect(result.states).toContain('Record the answer');
    const journal = await journalOf(world, result);
    expect(journal.find((r) => r.action === 'gate-answered')?.reason).toContain(
      'approve by chat channel chat',
    );

    // The same button pressed again (or by a second person): the gate has closed.
    const again = await press(approval, 'Approve', clock);
    expect(again.status).toBe('refused');
    expect(again.message).toContain('is not waiting at a gate');
    await expectSettled(world, clock, image);
    await takeAlerts(world);
  });

  it('an open gate: Reject sends the rollout back to blue', async () => {
    const clock = scenarioClock();
    const before = await writeTraffic(world, clock, {});
    await takeAlerts(world);
    const run = runRollout(
      world.stack,
      input(`registry.local/api:chat-rejected-${world.throttleRate}`, {
        approval: { gate: 'before-traffic', timeoutSeconds: 3600, defaultAction: 'approve' },
      }) as Record<string, unknown>,
      { clock, taskTokenTimeoutMs: 30_000 },
    );
    const token = await nextTaskToken({ stateName: 'Wait for approval', timeoutMs: 30_000 });
    await waitForRecord(world, token.executionName, (r) => r.gate?.token === token.token);
    const approval = await waitForAlert(world, 'rollout-approval');
    expect((await press(approval, 'Reject', clock)).status).toBe('answered');
    const result = await run;
    expect(result.error).toBe('RolledBack');
    expect(result.cause).toContain('chat channel chat rejected the rollout at the before-traffic gate');
    await expectSettled(world, clock, before.primary.image);
    await takeAlerts(world);
  });

  it('a rollback window: the promoted notification’s Roll back puts traffic back on blue', async () => {
    const clock = scenarioClock();
    const before = await writeTraffic(world, clock, {});
    await takeAlerts(world);
    const run = runRollout(
      world.stack,
      input(`registry.local/api:chat-rolled-back-${world.throttleRate}`, {
        rollbackWindowSeconds: 1800,
      }) as Record<string, unknown>,
      { clock, taskTokenTimeoutMs: 60_000 },
    );
    const window = await nextTaskToken({ stateName: 'Rollback window', timeoutMs: 30_000 });
    await waitForRecord(world, window.executionName, (r) => r.phase === 'window');
    const promoted = await waitForAlert(world, 'rollout-promoted');
    expect(buttonsOn(buttons, chatBody(promoted)).map((b) => b.text)).toEqual(['Roll back']);
    expect((await press(promoted, 'Roll back', clock)).status).toBe('answered');
    const result = await run;
    expect(result.error).toBe('RolledBack');
    expect(result.cause).toContain('chat channel chat rolled back inside the rollback window');
    await expectSettled(world, clock, before.primary.image);
    await takeAlerts(world);
  });

  it('no gate: no buttons on notifications that ask nothing; an unknown execution is refused; a malformed answer names its field', async () => {
    const plain: Alert = {
      severity: 'critical',
      state: 'firing',
      kind: 'rollout-rolled-back',
      title: 'Rolled back',
      summary: 'green failed',
      resources: [],
      whatHappened: 'x',
      whatWeDid: 'y',
      nextSteps: [],
      dedupKey: 'k',
      at: new Date().toISOString(),
    };
    expect(buttonsOn(buttons, chatBody(plain))).toEqual([]);
    expect(chatBody(plain).metadata?.enableCustomActions).toBeUndefined();

    const fn = await localFunction(world.stack, 'chat-answer');
    const unknown = (await fn.invoke({ rollout: 'rollout-api-nothing-like-it', answer: 'approve' })) as {
      status: string;
      message: string;
    };
    expect(unknown).toEqual({
      status: 'refused',
      message: 'no rollout matches "rollout-api-nothing-like-it" (an execution ARN or name, or a service)',
    });
    const error = await fn.invoke({ rollout: 'x', answer: 'maybe' }).then(
      () => undefined,
      (e: unknown) => e as Error & { field?: string },
    );
    expect(error?.name).toBe('InvalidInput');
    expect(error?.message).toContain('answer');
  });
});
