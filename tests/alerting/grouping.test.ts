// 1,000 alerts for one service inside one group window: one message with the count, and once all
// of them resolved, one `resolved`. The window is 60 s here (30 s deployed) so that raising and
// routing 1,000 alerts through the emulator fits inside it.
import { describe, expect, it } from 'vitest';
import { ChatNotificationSchema } from '../../events/chat-notification.ts';
import { AlertSchema } from '../../functions/shared/alerts.ts';
import { alertBurst } from '../../local/alert-burst.ts';
import { takeAlerts } from '../../local/control-plane.ts';
import { useAlertWorld } from './world.ts';

// 60 s leaves room for a loaded machine (two cores, other test files in parallel).
const WINDOW_SECONDS = 60;

describe('grouping a burst of alerts', () => {
  const world = useAlertWorld({ groupWindowSeconds: WINDOW_SECONDS });

  it('turns 1,000 alerts for one service into one message with the count, then one resolved', async () => {
    const burst = await alertBurst(world.stack, world.topicQueues.warning, { count: 1000, service: 'api' });
    // The premise: all 1,000 were routed while the first one's window was still open.
    expect(burst.raiseAndRouteMs).toBeLessThan(WINDOW_SECONDS * 1000);

    expect(burst.firing).toHaveLength(1);
    const [grouped] = burst.firing;
    expect(grouped?.subject).toBe('[WARNING] 1000 task-unhealthy alerts for api in web');
    expect(grouped?.alert).toMatchObject({
      notification: 'group',
      group: { alerts: 1000, newAlerts: 1000, reminders: 0, resources: 1000, windowSeconds: WINDOW_SECONDS },
    });
    const sent = AlertSchema.parse(grouped?.alert);
    const byZone = sent.counts?.['availability zone'] ?? {};
    expect(Object.values(byZone).reduce((a, b) => a + b, 0)).toBe(1000);
    expect(sent.counts?.alerts).toEqual({ new: 1000, 'still firing': 0 });
    // A bounded sample of resources, and the true total.
    expect(sent.resources.length).toBeGreaterThan(0);
    expect(sent.resources.length).toBeLessThanOrEqual(50);
    expect(sent.truncated?.resources).toBe(1000);
    expect(sent.dedupKey).toBe(grouped?.alert.threadId);

    expect(burst.resolved).toHaveLength(1);
    const [resolved] = burst.resolved;
    expect(resolved?.subject).toBe('[RESOLVED] All 1000 task-unhealthy alerts for api in web resolved');
    expect(resolved?.attributes.state).toBe('resolved');
    expect(resolved?.alert.threadId).toBe(grouped?.alert.threadId);
    expect(burst.ratio).toBe(2 / 2000);

    // The digest subscriber got the one grouped warning and no resolved; chat got both, valid.
    expect((await takeAlerts(world.digestQueue)).map((a) => a.subject)).toEqual([grouped?.subject]);
    const chat = world.http
      .filter((d) => d.protocol === 'https')
      .map((d) => ChatNotificationSchema.parse(JSON.parse(d.message)));
    expect(chat).toHaveLength(2);
    expect(new Set(chat.map((c) => c.metadata?.threadId))).toEqual(new Set([grouped?.alert.threadId]));
    expect(chat[0]?.metadata?.additionalContext?.alerts).toBe('1000');
  }, 300_000);
});
