// The alert router on the emulator, fed through its queue's event source, with subscribers on the
// topics: filter policies, the chat, text and machine bodies, dedup and reminders, silences,
// inhibition and size limits. Every assertion is on what subscribers, the journal or the alerts
// table hold. The same scenarios run clean (routing.test.ts) and behind the fault proxy
// (alerting-faults.test.ts): with faults, a Publish retried after a lost answer reaches
// subscribers twice, word for word, so each check is on the distinct notifications, which must be
// exactly the clean run's, and the copies are bounded by the ambiguous faults.
import { DeleteMessageCommand, type Message, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { beforeEach, describe, expect, it } from 'vitest';
import { ChatNotificationSchema } from '../../events/chat-notification.ts';
import { TICK_MESSAGE } from '../../functions/alert-router/messages.ts';
import { isActive } from '../../functions/alert-router/rules.ts';
import {
  addAck,
  addSilence,
  expireSilence,
  listSilences,
  readAlertControls,
} from '../../functions/alert-router/silences.ts';
import { type EpisodeRecord, episodeId, getItem } from '../../functions/alert-router/state.ts';
import { ALERT_QUEUE_BUDGET_BYTES, AlertSchema } from '../../functions/shared/alerts.ts';
import { iso, systemClock } from '../../functions/shared/clock.ts';
import { emfSum, takeEmf } from '../../local/emf.ts';
import type { FaultSettings } from '../../local/fault-proxy.ts';
import { observerClient, observerDocumentClient } from '../../local/observer.ts';
import { VirtualClock } from '../../local/virtual-clock.ts';
import { expectFaultsInjected } from '../support/emulator.ts';
import { alert, PAGED_SERVICE, useAlertWorld } from './world.ts';

export function describeRouting(title: string, faults?: Partial<FaultSettings>): void {
  describe(title, () => {
    const world = useAlertWorld(faults ? { faults } : {});
    beforeEach(() => world.clear());
    const alertsTable = () => world.stack.outputs.AlertStateTableName as string;

    it('delivers a critical alert to the critical subscriber and not to the warning-only one', async () => {
      const critical = alert({ severity: 'critical', title: 'API 5xx above 5% for 5 minutes' });
      const otherService = alert({ severity: 'critical', service: 'billing', title: 'Billing queue stuck' });
      // Another service: a warning for api itself would be inhibited while its critical fires.
      const warning = alert({
        severity: 'warning',
        service: 'catalog',
        kind: 'latency',
        cluster: 'shop',
        title: 'Catalog p99 above 2 s',
      });
      await world.raise(critical);
      await world.raise(otherService);
      await world.raise(warning);
      await world.route();

      const pager = await world.take(world.pagerQueue);
      const digest = await world.take(world.digestQueue);
      expect(pager.map((a) => a.alert.dedupKey)).toEqual([critical.dedupKey]);
      expect(pager[0]?.attributes).toMatchObject({
        severity: 'critical',
        service: PAGED_SERVICE,
        state: 'firing',
        kind: critical.kind,
        cluster: critical.cluster,
      });
      expect(digest.map((a) => a.alert.dedupKey)).toEqual([warning.dedupKey]);
      // Filter policies can also match on kind and cluster: each alert carries its own.
      expect(digest[0]?.attributes).toMatchObject({
        severity: 'warning',
        service: warning.service,
        kind: warning.kind,
        cluster: warning.cluster,
      });
      // Every alert went to its severity's topic.
      const published = await world.published();
      expect(published.map((a) => [a.severity, a.alert.dedupKey]).sort()).toEqual(
        [
          ['critical', critical.dedupKey],
          ['critical', otherService.dedupKey],
          ['warning', warning.dedupKey],
        ].sort(),
      );

      // Resolved: the pager hears about its critical; the digest takes firing warnings only.
      await world.raise({ ...critical, state: 'resolved', at: new Date().toISOString() });
      await world.raise({ ...warning, state: 'resolved', at: new Date().toISOString() });
      await world.route();
      const pagerResolved = await world.take(world.pagerQueue);
      expect(pagerResolved.map((a) => [a.alert.dedupKey, a.attributes.state])).toEqual([
        [critical.dedupKey, 'resolved'],
      ]);
      expect(pagerResolved[0]?.subject).toMatch(/^\[RESOLVED\] /);
      expect(await world.take(world.digestQueue)).toEqual([]);
      // The resolved is in the firing message's thread.
      expect(pagerResolved[0]?.alert.threadId).toBe(pager[0]?.alert.threadId);
    });

    it('gives email a subject of at most 100 characters and a text body, chat a valid custom notification, machines JSON', async () => {
      const long = alert({
        severity: 'critical',
        title: `Rollout of api to task definition 42 rolled back after the 5xx alarm fired ${'x'.repeat(200)}\nsecond line`,
        links: {
          'ECS service': 'https://us-east-1.console.aws.amazon.com/ecs/v2/clusters/web/services/api/health',
        },
      });
      await world.raise(long);
      await world.route();

      const [machine] = await world.published();
      expect(machine?.subject.length).toBeLessThanOrEqual(100);
      expect(machine?.subject).toMatch(/^\[CRITICAL\] Rollout of api/);
      expect(machine?.subject).not.toMatch(/\n/);
      expect(AlertSchema.parse(machine?.alert).dedupKey).toBe(long.dedupKey);
      expect(machine?.alert).toMatchObject({ notification: 'alert', environment: 'local' });

      const chat = world.deliveries().filter((d) => d.protocol === 'https');
      const text = world.deliveries().filter((d) => d.protocol === 'http');
      expect(chat).toHaveLength(1);
      expect(text).toHaveLength(1);
      const notification = ChatNotificationSchema.parse(JSON.parse(chat[0]?.message ?? ''));
      expect(notification.metadata?.threadId).toBe(machine?.alert.threadId);
      expect(notification.metadata?.additionalContext).toMatchObject({
        severity: 'critical',
        dedupKey: long.dedupKey,
      });
      expect(notification.content.nextSteps).toEqual(
        expect.arrayContaining([...long.nextSteps, expect.stringContaining('ECS service')]),
      );
      expect(text[0]?.subject).toBe(machine?.subject);
      expect(text[0]?.message).toContain(`What happened: ${long.whatHappened}`);
      expect(text[0]?.message).toContain(`  - ${long.nextSteps[0]}`);
      expect(text[0]?.message).toContain(`Dedup key: ${long.dedupKey}`);
    });

    it('suppresses a repeated firing alert until the reminder interval, then reminds once', async () => {
      const clock = new VirtualClock();
      const firing = alert({
        severity: 'warning',
        service: 'orders',
        kind: 'cpu-high',
        title: 'CPU above 90% on orders',
      });
      takeEmf();
      await world.raise(firing);
      await world.route({ clock });
      expect((await world.published()).map((a) => a.alert.notification)).toEqual(['alert']);

      // Three repeats, well inside the reminder interval: nothing goes out, they are counted.
      clock.advance(10 * 60_000);
      for (let i = 0; i < 3; i++) await world.raise({ ...firing, at: new Date(clock.now()).toISOString() });
      await world.route({ clock });
      expect(await world.published()).toEqual([]);
      if (!faults) {
        // The router's outcome metrics, as CloudWatch reads them from its EMF log lines.
        const emf = takeEmf();
        expect(emfSum(emf, 'AlertsPublished', 'alert-router')).toBe(1);
        expect(emfSum(emf, 'AlertsDeduplicated', 'alert-router')).toBe(3);
        expect(emf.every((p) => p.namespace === 'EcsOps' && p.dimensions.environment === 'local')).toBe(true);
      }
      const episode = await observerDocumentClient().send(
        new GetCommand({ TableName: alertsTable(), Key: { id: episodeId(firing.dedupKey) } }),
      );
      expect(episode.Item?.repeats).toBe(3);

      // Past the reminder interval (240 min since it was sent): one reminder, saying how often it came.
      clock.advance(240 * 60_000);
      await world.raise({ ...firing, at: new Date(clock.now()).toISOString() });
      await world.raise({ ...firing, at: new Date(clock.now()).toISOString() });
      await world.route({ clock });
      const reminders = await world.published();
      expect(reminders).toHaveLength(1);
      expect(reminders[0]?.alert).toMatchObject({ notification: 'reminder', repeatsSinceLastSent: 3 });
      expect(reminders[0]?.subject).toContain('still firing');
    });

    it('does not remind of an acknowledged alert; its resolved notification says who acknowledged it, and why', async () => {
      const clock = new VirtualClock();
      const db = observerDocumentClient();
      const firing = alert({
        severity: 'critical',
        service: 'payments',
        kind: 'error-rate',
        title: 'Payments 5xx',
      });
      await world.raise({ ...firing, at: iso(clock.now()) });
      await world.route({ clock });
      expect((await world.published()).map((a) => a.alert.notification)).toEqual(['alert']);

      // What ops ack writes: the acknowledgement of this episode.
      const episode = await getItem<EpisodeRecord>(db, alertsTable(), episodeId(firing.dedupKey));
      await addAck(db, alertsTable(), clock, {
        dedupKey: firing.dedupKey,
        by: 'ops-cli/dave',
        reason: 'rolling back the bad release',
        at: iso(clock.now()),
        episodeOpenedAt: episode?.openedAt as string,
      });
      // Past the reminder interval, still firing: counted, no reminder.
      clock.advance(250 * 60_000);
      await world.raise({ ...firing, at: iso(clock.now()) });
      await world.route({ clock });
      expect(await world.published()).toEqual([]);

      clock.advance(60_000);
      await world.raise({ ...firing, state: 'resolved', at: iso(clock.now()) });
      await world.route({ clock });
      const resolved = await world.published();
      expect(resolved.map((a) => a.alert.notification)).toEqual(['resolved']);
      expect(resolved[0]?.alert.acknowledged).toEqual({
        by: 'ops-cli/dave',
        at: expect.any(String),
        reason: 'rolling back the bad release',
      });
      const text = world
        .deliveries()
        .filter((d) => d.protocol === 'http' && d.subject.startsWith('[RESOLVED]'));
      expect(text.at(-1)?.message).toContain('Acknowledged: by ops-cli/dave at');
      // The acknowledgement ended with its episode: the next episode of the key reminds again.
      expect((await readAlertControls(db, alertsTable())).acks.has(firing.dedupKey)).toBe(false);
    });

    it('does not publish a silenced alert, journals it as silenced, and publishes again once the silence ends', async () => {
      const db = observerDocumentClient();
      const silence = await addSilence(db, alertsTable(), systemClock, {
        matcher: { service: 'search' },
        durationMs: 2 * 3600_000,
        reason: 'reindexing, expected to be slow',
        createdBy: 'test',
      });
      const silenced = alert({ severity: 'critical', service: 'search', title: 'Search latency high' });
      takeEmf();
      await world.raise(silenced);
      await world.route();
      // Only the silence's own notice goes out, on the info topic.
      const created = await world.published();
      expect(created.map((a) => [a.severity, a.alert.kind, a.alert.dedupKey])).toEqual([
        ['info', 'silence', `silence/${silence.id}`],
      ]);
      expect(created[0]?.alert.title).toBe(`Silence created: service search until ${silence.endsAt}`);
      expect(created[0]?.alert.whatHappened).toContain('reindexing, expected to be slow');
      if (!faults) {
        const emf = takeEmf();
        expect(emfSum(emf, 'AlertsSilenced', 'alert-router')).toBe(1);
        expect(emfSum(emf, 'AlertsPublished', 'alert-router')).toBe(1);
      }
      expect(world.deliveries().filter((d) => d.message.includes('Search latency high'))).toEqual([]);
      const journal = (await world.journal()).filter((r) => r.resource === `alert/${silenced.dedupKey}`);
      expect(journal).toHaveLength(1);
      expect(journal[0]).toMatchObject({
        action: 'silence-alert',
        outcome: 'unchanged',
        actor: 'alert-router',
      });
      expect(journal[0]?.reason).toContain(silence.id);
      expect(journal[0]?.reason).toContain('reindexing');

      // Other services are not affected; after the silence ends the same alert goes out, and the
      // end is announced once, naming who ended it.
      expect(await expireSilence(db, alertsTable(), systemClock, silence.id, 'ops-cli/carol')).toBe(true);
      await world.raise({ ...silenced, at: new Date().toISOString() });
      await world.route();
      const after = await world.published();
      expect(after.map((a) => [a.alert.dedupKey, a.alert.notification]).sort()).toEqual(
        [
          [silenced.dedupKey, 'alert'],
          [`silence/${silence.id}`, 'resolved'],
        ].sort(),
      );
      expect(after.find((a) => a.alert.kind === 'silence')?.alert.title).toBe(
        'Silence ended early by ops-cli/carol: service search',
      );
      await world.route();
      expect(await world.published()).toEqual([]);
    });

    it('announces a silence once when two router invocations look at the same time', async () => {
      const db = observerDocumentClient();
      const silence = await addSilence(db, alertsTable(), systemClock, {
        matcher: { kind: 'nightly-backup' },
        durationMs: 3600_000,
        reason: 'backup window moved',
        createdBy: 'test',
      });
      const tick = (id: string) => ({ id, body: TICK_MESSAGE });
      await Promise.all([world.routeBatch([tick('tick-1')]), world.routeBatch([tick('tick-2')])]);
      // One notice raised, not one per invocation (a lost answer may raise a copy under faults).
      const queueUrl = world.stack.outputs.AlertQueueUrl as string;
      if (!faults) expect(await world.queueDepth(queueUrl)).toBe(1);
      await world.route();
      expect((await world.published()).map((a) => a.alert.dedupKey)).toEqual([`silence/${silence.id}`]);
      // Ended here, and announced once more, so that no later scenario hears of it.
      await expireSilence(db, alertsTable(), systemClock, silence.id, 'test');
      await Promise.all([world.routeBatch([tick('tick-3')]), world.routeBatch([tick('tick-4')])]);
      if (!faults) expect(await world.queueDepth(queueUrl)).toBe(1);
      await world.route();
      expect((await world.published()).map((a) => [a.alert.dedupKey, a.alert.notification])).toEqual([
        [`silence/${silence.id}`, 'resolved'],
      ]);
    });

    it('silences by dedup key only that alert, not others of its service and kind', async () => {
      const target = alert({ severity: 'critical', service: 'ledger', kind: 'disk-full' });
      const sibling = alert({ severity: 'critical', service: 'ledger', kind: 'disk-full' });
      const silence = await addSilence(observerDocumentClient(), alertsTable(), systemClock, {
        matcher: { dedupKey: target.dedupKey },
        durationMs: 3600_000,
        reason: 'known bad volume, replacement ordered',
        createdBy: 'test',
      });
      await world.raise(target);
      await world.raise(sibling);
      await world.route();
      expect((await world.published()).map((a) => a.alert.dedupKey).sort()).toEqual(
        [sibling.dedupKey, `silence/${silence.id}`].sort(),
      );
      const journal = await world.journal();
      expect(journal.filter((r) => r.resource === `alert/${target.dedupKey}`)).toEqual([
        expect.objectContaining({ action: 'silence-alert', reason: expect.stringContaining(silence.id) }),
      ]);
      expect(journal.filter((r) => r.resource === `alert/${sibling.dedupKey}`)).toEqual([]);
      // Ended here, so that no later scenario hears of it: the next tick announces it, once.
      await expireSilence(observerDocumentClient(), alertsTable(), systemClock, silence.id, 'test');
      await world.tick();
      await world.tick();
      await world.route();
      expect((await world.published()).map((a) => [a.alert.dedupKey, a.alert.notification])).toEqual([
        [`silence/${silence.id}`, 'resolved'],
      ]);
    });

    it('publishes again once a silence’s end passes on the router’s clock, with nobody ending it', async () => {
      const clock = new VirtualClock();
      const db = observerDocumentClient();
      const silence = await addSilence(db, alertsTable(), clock, {
        matcher: { service: 'reports', kind: 'job-failed' },
        durationMs: 30 * 60_000,
        reason: 'nightly job rerun',
        createdBy: 'test',
      });
      const firing = alert({ severity: 'warning', service: 'reports', kind: 'job-failed' });
      // Minutes of margin either side of the end: real time passes while routing too.
      clock.advance(25 * 60_000);
      await world.raise({ ...firing, at: iso(clock.now()) });
      await world.route({ clock });
      expect((await world.published()).map((a) => a.alert.dedupKey)).toEqual([`silence/${silence.id}`]);

      clock.advance(10 * 60_000);
      await world.raise({ ...firing, at: iso(clock.now()) });
      await world.route({ clock });
      const after = await world.published();
      expect(after.map((a) => [a.alert.dedupKey, a.alert.notification]).sort()).toEqual(
        [
          [firing.dedupKey, 'alert'],
          [`silence/${silence.id}`, 'resolved'],
        ].sort(),
      );
      // Nobody ended it: it expired.
      expect(after.find((a) => a.alert.kind === 'silence')?.alert.title).toBe(
        'Silence expired: service reports and kind job-failed',
      );
      const silenced = (await world.journal()).filter((r) => r.resource === `alert/${firing.dedupKey}`);
      expect(silenced).toEqual([
        expect.objectContaining({ action: 'silence-alert', reason: expect.stringContaining(silence.endsAt) }),
      ]);
      // It ended by its own endsAt: still stored as set, no longer active.
      const stored = (await listSilences(db, alertsTable())).find((s) => s.id === silence.id);
      expect(stored?.endsAt).toBe(silence.endsAt);
      expect(stored && isActive(stored, clock.now())).toBe(false);
    });

    it('inhibits warnings for a service while a critical alert for it fires', async () => {
      const critical = alert({ severity: 'critical', service: 'checkout', kind: 'error-rate' });
      const warning = alert({ severity: 'warning', service: 'checkout', kind: 'latency' });
      const otherWarning = alert({ severity: 'warning', service: 'catalog', kind: 'latency' });
      await world.raise(critical);
      await world.route();
      await world.raise(warning);
      await world.raise(otherWarning);
      await world.route();
      const during = await world.published();
      expect(during.map((a) => a.alert.dedupKey).sort()).toEqual(
        [critical.dedupKey, otherWarning.dedupKey].sort(),
      );
      const inhibited = (await world.journal()).filter((r) => r.resource === `alert/${warning.dedupKey}`);
      expect(inhibited.map((r) => r.action)).toEqual(['inhibit-alert']);

      await world.raise({ ...critical, state: 'resolved' });
      await world.route();
      await world.raise({ ...warning, at: new Date().toISOString() });
      await world.route();
      const after = await world.published();
      expect(after.map((a) => [a.alert.dedupKey, a.attributes.state]).sort()).toEqual(
        [
          [critical.dedupKey, 'resolved'],
          [warning.dedupKey, 'firing'],
        ].sort(),
      );
    });

    it('sends one message per group and window, with the counts', async () => {
      const a = [1, 2, 3].map(() => alert({ severity: 'warning', service: 'inventory', kind: 'oom-killed' }));
      const b = [1, 2].map(() => alert({ severity: 'warning', service: 'inventory', kind: 'latency' }));
      await world.raise(...a, ...b, { ...a[0], at: new Date().toISOString() } as (typeof a)[number]);
      await world.route();
      const published = await world.published();
      expect(published.map((p) => p.subject).sort()).toEqual([
        '[WARNING] 2 latency alerts for inventory in web',
        '[WARNING] 3 oom-killed alerts for inventory in web',
      ]);
      const oom = published.find((p) => p.alert.kind === 'oom-killed');
      expect(oom?.alert.group).toMatchObject({ alerts: 3, newAlerts: 3, repeats: 1 });
      expect(new Set(oom?.alert.resources as string[])).toEqual(new Set(a.flatMap((x) => x.resources)));
    });

    it('sends a resolved that arrives while its window is open after that window’s message, in its thread', async () => {
      const firing = alert({ severity: 'critical', service: 'search', kind: 'disk-full' });
      await world.raise(firing, { ...firing, state: 'resolved', at: new Date().toISOString() });
      await world.route();
      const published = await world.published();
      expect(published.map((p) => p.attributes.state)).toEqual(['firing', 'resolved']);
      expect(published[1]?.alert.threadId).toBe(published[0]?.alert.threadId);
    });

    it('publishes the alerts of a rollout in the order they happened, whatever order their batch came in', async () => {
      const at = Date.now();
      const rollout = `rollout/web/api/${at}`;
      const started = alert({
        severity: 'info',
        kind: 'rollout-started',
        title: 'Rollout of web/api started',
        dedupKey: `${rollout}/started`,
        at: iso(at),
      });
      const rolledBack = alert({
        severity: 'critical',
        kind: 'rollout-rolled-back',
        title: 'Rollout of web/api rolled back',
        dedupKey: `${rollout}/rolled-back`,
        at: iso(at + 1000),
      });
      // Each opens its own group's window, and the two flushes come due together.
      await world.routeBatch([
        { id: 'started', body: started },
        { id: 'rolled-back', body: rolledBack },
      ]);
      const queueUrl = world.stack.outputs.AlertQueueUrl as string;
      const sqs = observerClient(SQSClient);
      const flushes: Message[] = [];
      // An ambiguous SendMessage (applied, its answer lost, sent again) leaves a copy of a flush, as
      // SQS's at-least-once delivery may: under faults the flushes are counted by what they flush.
      const flushed = () => new Set(flushes.map((m) => JSON.parse(m.Body as string).alert.dedupKey));
      for (let tries = 0; flushed().size < 2 && tries < 50; tries++) {
        const out = await sqs.send(
          new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
        );
        flushes.push(...(out.Messages ?? []));
      }
      expect(flushed()).toEqual(new Set([started.dedupKey, rolledBack.dedupKey]));
      if (!faults) expect(flushes).toHaveLength(2);
      // SQS keeps no order: the batch brings the later flush first.
      const items = flushes
        .map((m) => ({ id: m.MessageId as string, body: JSON.parse(m.Body as string) }))
        .sort((a, b) =>
          a.body.alert.dedupKey === rolledBack.dedupKey
            ? -1
            : b.body.alert.dedupKey === rolledBack.dedupKey
              ? 1
              : 0,
        );
      expect(items[0]?.body.alert.dedupKey).toBe(rolledBack.dedupKey);
      // Failed items come back, as SQS would hand them to the next invocation.
      let pending = items;
      for (let round = 0; pending.length > 0 && round < 10; round++) {
        const report = await world.routeBatch(pending);
        pending = pending.filter((i) => report.failedItemIds.includes(i.id));
      }
      expect(pending).toEqual([]);
      for (const m of flushes)
        await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle }));

      const chat = world
        .deliveries()
        .filter((d) => d.protocol === 'https')
        .map(
          (d) => ChatNotificationSchema.parse(JSON.parse(d.message)).metadata?.additionalContext?.dedupKey,
        );
      // Under faults a failed publish is retried after the batch moved on: only the set is certain.
      if (faults) expect(new Set(chat)).toEqual(new Set([started.dedupKey, rolledBack.dedupKey]));
      else expect(chat).toEqual([started.dedupKey, rolledBack.dedupKey]);
    });

    it('truncates an oversize alert to fit SNS and still delivers it to every protocol', async () => {
      const resources = Array.from(
        { length: 1500 },
        (_, i) => `arn:aws:ecs:us-east-1:123456789012:task/web/${i.toString(16).padStart(32, '0')}`,
      );
      const big = alert({
        severity: 'critical',
        resources,
        whatHappened: `Health checks failed: ${'connection refused; '.repeat(2000)}`,
        counts: { task: Object.fromEntries(resources.slice(0, 300).map((r, i) => [r.slice(-12), i])) },
      });
      // Fits the alert queue as raised; three protocol bodies of it do not fit one SNS message.
      expect(Buffer.byteLength(JSON.stringify(big))).toBeGreaterThan(150_000);
      expect(Buffer.byteLength(JSON.stringify(big))).toBeLessThan(ALERT_QUEUE_BUDGET_BYTES);
      await world.raise(big);
      const [measured, ...more] = (await world.routeReports()).flatMap((r) => r.sent);
      expect(more).toEqual([]);

      // A 250 KB delivery can land a moment after Publish returns on a loaded machine: poll briefly.
      let received = await world.take(world.pagerQueue);
      for (let i = 0; received.length === 0 && i < 40; i++) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        received = await world.take(world.pagerQueue);
      }
      const [delivered] = received;
      expect(delivered?.alert.dedupKey).toBe(big.dedupKey);
      const sent = AlertSchema.parse(delivered?.alert);
      expect(sent.truncated?.resources).toBe(1500);
      expect(sent.truncated?.fields).toContain('resources');
      expect(sent.resources.length).toBeLessThan(1500);
      expect(sent.resources).toEqual(resources.slice(0, sent.resources.length));
      // What the router measured (all protocol bodies, subject and attributes, as SNS counts them)
      // is under SNS's 256 KiB, and so is what the SQS subscriber got.
      expect(measured).toMatchObject({ kind: 'alert', truncated: true, subject: delivered?.subject });
      expect(measured?.bytes).toBeLessThan(256 * 1024);
      expect(delivered?.bytes).toBeLessThan(256 * 1024);
      const chat = world.deliveries().find((d) => d.protocol === 'https');
      const text = world.deliveries().find((d) => d.protocol === 'http');
      expect(ChatNotificationSchema.safeParse(JSON.parse(chat?.message ?? '')).success).toBe(true);
      expect(text?.message).toContain('more');
      // Every body delivered was part of what the router measured: sqs and lambda (the same
      // machine body), https and the default text body, plus the subject.
      const bodies = [
        delivered?.bytes ?? 0,
        delivered?.bytes ?? 0,
        chat?.message,
        text?.message,
        text?.subject,
      ];
      const deliveredBytes = bodies.reduce<number>(
        (n, b) => n + (typeof b === 'number' ? b : Buffer.byteLength(b ?? '')),
        0,
      );
      expect(deliveredBytes).toBeLessThanOrEqual(measured?.bytes ?? 0);

      // Bigger than the queue itself takes: raiseAlert cuts it before sending, nothing fails.
      const huge = alert({ severity: 'critical', whatHappened: 'y'.repeat(400_000) });
      await world.raise(huge);
      const hugeSent = (await world.routeReports()).flatMap((r) => r.sent);
      expect(hugeSent).toHaveLength(1);
      expect(hugeSent[0]?.bytes).toBeLessThan(256 * 1024);
      const [hugeDelivered] = await world.take(world.pagerQueue);
      expect(hugeDelivered?.alert.dedupKey).toBe(huge.dedupKey);
      expect(AlertSchema.parse(hugeDelivered?.alert).truncated?.fields).toContain('whatHappened');
      expect(hugeDelivered?.bytes).toBeLessThan(256 * 1024);
    });

    it(
      faults
        ? 'really injected refused and ambiguous faults, and delivered no copy beyond them'
        : 'delivered every notification once',
      () => {
        if (!faults) {
          expect(world.copies()).toBe(0);
          return;
        }
        const stats = world.proxy?.stats();
        if (!stats) throw new Error('the world has no fault proxy');
        expectFaultsInjected(stats);
        expect(world.copies()).toBeLessThanOrEqual(stats.lostResponses + stats.slowResponses);
      },
    );
  });
}
