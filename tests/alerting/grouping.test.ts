// 200 alerts for one service inside one group window: one message with the count, and once all
// of them resolved, one `resolved`. The window is 60 s here (30 s deployed) so that raising and
// routing the burst through the emulator fits inside it with room to spare; how large a burst fits
// is throughput, which the alerting benchmark measures (1,000 alerts, `npm run bench -- alerting`).
import { describe, expect, it } from 'vitest';
import { ChatNotificationSchema } from '../../events/chat-notification.ts';
import { AlertSchema } from '../../functions/shared/alerts.ts';
import { alertBurst } from '../../local/alert-burst.ts';
import { takeAlerts } from '../../local/control-plane.ts';
import { useAlertWorld } from './world.ts';

const WINDOW_SECONDS = 60;
const BURST = 200;

describe('grouping a burst of alerts', () => {
  const world = useAlertWorld({ groupWindowSeconds: WINDOW_SECONDS });

  it('turns 200 alerts for one service into one message with the count, then one resolved', async () => {
    const burst = await alertBurst(world.stack, world.topicQueues.warning, { count: BURST, service: 'api' });
    // Two messages would mean the burst outlasted its window (the rig slower than the window allows).
    expect(
      burst.firing,
      `routed in ${burst.raiseAndRouteMs} ms of a ${WINDOW_SECONDS} s window`,
    ).toHaveLength(1);
    const [grouped] = burst.firing;
    expect(grouped?.subject).toBe(`[WARNING] ${BURST} task-unhealthy alerts for api in web`);
    expect(grouped?.alert).toMatchObject({
      notification: 'group',
      group: {
        alerts: BURST,
        newAlerts: BURST,
        reminders: 0,
        resources: BURST,
        windowSeconds: WINDOW_SECONDS,
      },
    });
    const sent = AlertSchema.parse(grouped?.alert);
    const byZone = sent.counts?.['availability zone'] ?? {};
    expect(Object.values(byZone).reduce((a, b) => a + b, 0)).toBe(BURST);
    expect(sent.counts?.alerts).toEqual({ new: BURST, 'still firing': 0 });
    // A bounded sample of resources, and the true total.
    expect(sent.resources.length).toBeGreaterThan(0);
    expect(sent.resources.length).toBeLessThanOrEqual(50);
    expect(sent.truncated?.resources).toBe(BURST);
    expect(sent.dedupKey).toBe(grouped?.alert.threadId);

    expect(burst.resolved).toHaveLength(1);
    const [resolved] = burst.resolved;
    expect(resolved?.subject).toBe(`[RESOLVED] All ${BURST} task-unhealthy alerts for api in web resolved`);
    expect(resolved?.attributes.state).toBe('resolved');
    expect(resolved?.alert.threadId).toBe(grouped?.alert.threadId);
    expect(burst.ratio).toBe(2 / (2 * BURST));

    // The digest subscriber got the one grouped warning and no resolved; chat got both, valid.
    expect((await takeAlerts(world.digestQueue)).map((a) => a.subject)).toEqual([grouped?.subject]);
    const chat = world.http
      .filter((d) => d.protocol === 'https')
      .map((d) => ChatNotificationSchema.parse(JSON.parse(d.message)));
    expect(chat).toHaveLength(2);
    expect(new Set(chat.map((c) => c.metadata?.threadId))).toEqual(new Set([grouped?.alert.threadId]));
    expect(chat[0]?.metadata?.additionalContext?.alerts).toBe(String(BURST));
  }, 300_000);
});
