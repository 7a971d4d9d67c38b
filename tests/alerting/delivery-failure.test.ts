// SNS unreachable (the fault proxy answers every SNS call with 503, every other service works):
// the SDK retries each publish with backoff, SQS redelivers, and the alerts end in the alert DLQ
// intact. Redriven once SNS is back, they are delivered: nothing is lost, grouped windows included.
import {
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { FlushMessageSchema } from '../../functions/alert-router/messages.ts';
import { windowId } from '../../functions/alert-router/state.ts';
import { AlertSchema } from '../../functions/shared/alerts.ts';
import { awsClient, DEFAULT_MAX_ATTEMPTS } from '../../functions/shared/clients.ts';
import { documentClient } from '../../functions/shared/dynamo.ts';
import { ALERT_MAX_RECEIVE_COUNT } from '../../infra/control-plane/alerting/alerting.ts';
import { takeAlerts } from '../../local/control-plane.ts';
import { useFaultProxy } from '../support/emulator.ts';
import { alert, peekAll, useAlertWorld } from './world.ts';

/** What a DLQ redrive does: every message back onto the source queue. */
async function redrive(dlqUrl: string, queueUrl: string): Promise<number> {
  const sqs = awsClient(SQSClient);
  let moved = 0;
  for (;;) {
    const got = await sqs.send(new ReceiveMessageCommand({ QueueUrl: dlqUrl, MaxNumberOfMessages: 10 }));
    const messages = got.Messages ?? [];
    if (messages.length === 0) return moved;
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: messages.map((m, i) => ({ Id: String(i), MessageBody: m.Body as string })),
      }),
    );
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: dlqUrl,
        Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle as string })),
      }),
    );
    moved += messages.length;
  }
}

describe('alert delivery when SNS is unreachable', () => {
  const world = useAlertWorld();
  const proxy = useFaultProxy({ seed: 4 });

  it('retries, dead-letters the alerts intact, and delivers them once SNS is back and the DLQ is redriven', async () => {
    const dlq = world.stack.outputs.AlertQueueDlqUrl as string;
    const queue = world.stack.outputs.AlertQueueUrl as string;
    // A critical alert that fired while SNS was fine; it resolves while SNS is down.
    const earlier = alert({ severity: 'critical', service: 'payments', kind: 'error-rate' });
    await world.raise(earlier);
    await world.route();
    expect((await world.published()).map((a) => a.alert.dedupKey)).toEqual([earlier.dedupKey]);

    proxy.resetStats();
    proxy.setFaults({ serverErrorRate: 1, services: ['sns'] });
    const critical = alert({ severity: 'critical', title: 'API 5xx above 5%' });
    const warning = alert({ severity: 'warning', service: 'catalog', kind: 'latency' });
    const resolved = { ...earlier, state: 'resolved' as const, at: new Date().toISOString() };
    await world.raise(critical);
    await world.raise(warning);
    await world.raise(resolved);
    await world.route();

    expect(await world.published()).toEqual([]);
    const stats = proxy.stats();
    // Every publish attempt failed. Each of the 3 messages was received ALERT_MAX_RECEIVE_COUNT
    // times, and each time the SDK retried the publish (up to DEFAULT_MAX_ATTEMPTS attempts, fewer
    // once its retry quota, which guards against retry storms, runs low).
    const receives = 3 * ALERT_MAX_RECEIVE_COUNT;
    expect(stats.forwardedByOperation['sns:Publish'] ?? 0).toBe(0);
    expect(stats.byOperation['sns:Publish']).toBeGreaterThanOrEqual(2 * receives);
    expect(stats.byOperation['sns:Publish']).toBeLessThanOrEqual(receives * DEFAULT_MAX_ATTEMPTS);
    expect(stats.forwardedByOperation['dynamodb:UpdateItem']).toBeGreaterThan(0);

    // In the DLQ: the two windows' flush messages, each carrying its alert, and the resolved alert itself.
    const dead = await peekAll(dlq);
    expect(dead).toHaveLength(3);
    const bodies = dead.map((m) => JSON.parse(m.body) as unknown);
    const flushed = bodies.flatMap((b) =>
      FlushMessageSchema.safeParse(b).success ? [FlushMessageSchema.parse(b).alert] : [],
    );
    expect(flushed.sort((a, b) => a.dedupKey.localeCompare(b.dedupKey))).toEqual(
      [critical, warning].sort((a, b) => a.dedupKey.localeCompare(b.dedupKey)),
    );
    expect(
      bodies.filter((b) => !FlushMessageSchema.safeParse(b).success).map((b) => AlertSchema.parse(b)),
    ).toEqual([resolved]);
    for (const m of dead) expect(m.receiveCount).toBeGreaterThanOrEqual(ALERT_MAX_RECEIVE_COUNT);
    expect(await world.queueDepth(queue)).toBe(0);

    // SNS is back; an operator redrives the DLQ: every alert goes out, once.
    proxy.setFaults({ serverErrorRate: 0 });
    expect(await redrive(dlq, queue)).toBe(3);
    await world.route();
    const delivered = await world.published();
    expect(delivered.map((a) => [a.alert.dedupKey, a.attributes.state]).sort()).toEqual(
      [
        [critical.dedupKey, 'firing'],
        [warning.dedupKey, 'firing'],
        [earlier.dedupKey, 'resolved'],
      ].sort(),
    );
    expect((await takeAlerts(world.pagerQueue)).map((a) => a.alert.dedupKey)).toEqual([critical.dedupKey]);
    expect(await world.queueDepth(dlq)).toBe(0);
  });

  it('dead-letters a grouped window as its one flush and, redriven, delivers it once with the full count', async () => {
    const dlq = world.stack.outputs.AlertQueueDlqUrl as string;
    const queue = world.stack.outputs.AlertQueueUrl as string;
    await world.clear();
    proxy.setFaults({ serverErrorRate: 1, services: ['sns'] });
    const zones = ['us-east-1a', 'us-east-1b', 'us-east-1c'];
    const burst = Array.from({ length: 25 }, (_, i) =>
      alert({
        severity: 'warning',
        service: 'orders',
        kind: 'oom-killed',
        counts: { 'availability zone': { [zones[i % 3] as string]: 1 } },
      }),
    );
    await world.raise(...burst);
    await world.route();
    expect(await world.published()).toEqual([]);

    // The alerts were taken off the queue into the window's counters; what failed and rests in
    // the DLQ is the window's flush, carrying the first alert.
    const dead = await peekAll(dlq);
    expect(dead).toHaveLength(1);
    const flush = FlushMessageSchema.parse(JSON.parse(dead[0]?.body ?? ''));
    expect(burst.map((a) => a.dedupKey)).toContain(flush.alert.dedupKey);
    expect(dead[0]?.receiveCount).toBeGreaterThanOrEqual(ALERT_MAX_RECEIVE_COUNT);
    expect(await world.queueDepth(queue)).toBe(0);
    // The count lives in the window record, kept beyond the DLQ's retention, so a redrive finds it.
    const window = await documentClient().send(
      new GetCommand({
        TableName: world.stack.outputs.AlertStateTableName as string,
        Key: { id: windowId(flush.flush.group, flush.flush.window) },
      }),
    );
    expect(window.Item).toMatchObject({ alerts: burst.length, newAlerts: burst.length });
    expect(window.Item?.publishedAt).toBeUndefined();

    proxy.setFaults({ serverErrorRate: 0 });
    expect(await redrive(dlq, queue)).toBe(1);
    await world.route();
    const delivered = await world.published();
    expect(delivered).toHaveLength(1);
    const [grouped] = delivered;
    expect(grouped?.subject).toBe(`[WARNING] ${burst.length} oom-killed alerts for orders in web`);
    expect(grouped?.alert).toMatchObject({
      notification: 'group',
      group: { alerts: burst.length, newAlerts: burst.length, resources: burst.length },
    });
    const sent = AlertSchema.parse(grouped?.alert);
    expect(new Set(sent.resources)).toEqual(new Set(burst.flatMap((a) => a.resources)));
    expect(sent.counts?.['availability zone']).toEqual(
      Object.fromEntries(zones.map((z, i) => [z, burst.filter((_, j) => j % 3 === i).length])),
    );
    // Digest readers get it too, once; nothing is left to redrive.
    expect((await takeAlerts(world.digestQueue)).map((a) => a.subject)).toEqual([grouped?.subject]);
    expect(await world.queueDepth(dlq)).toBe(0);
    await world.route();
    expect(await world.published()).toEqual([]);
  });
});
