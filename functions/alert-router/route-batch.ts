// The alert router's decisions for one batch of alert-queue messages, taken in the order things
// happened (rules.ts inOrderOfEvents), each through these steps:
//   1. silenced (an active silence matches service, kind or dedup key): not sent, journaled;
//   2. inhibited (a warning for a service while a critical for it fires): not sent, journaled;
//   3. deduplicated (the same dedup key while firing): counted, sent again as a reminder only
//      after ALERT_REMINDER_MINUTES;
//   4. grouped (same severity, kind, service, cluster): the first alert of a group opens a window
//      and schedules a delayed flush on this queue; later alerts only add to the window's counters;
//      the flush sends one message for the window;
//   5. resolved: ends the episode; when the group's last firing alert resolves, one `resolved` goes
//      out at once (after the window's message if that is still pending).
// A message whose publish fails is reported as failed: SQS retries it, then dead-letters it intact.
// The rules themselves are in rules.ts; this module carries them out against DynamoDB, SQS and SNS.
import { createHash } from 'node:crypto';
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { type Alert, raiseAlert } from '../shared/alerts.ts';
import type { Clock } from '../shared/clock.ts';
import type { Db } from '../shared/dynamo.ts';
import { InvalidInputError } from '../shared/errors.ts';
import { type JournalEntry, writeJournal } from '../shared/journal.ts';
import type { Log } from '../shared/logger.ts';
import type { Item } from '../shared/sqs-batch.ts';
import { type AlertRouterEnv, topicFor } from './config.ts';
import { type Notification, type NotificationKind, renderForSns } from './formats.ts';
import { type FlushMessage, parseQueueMessage, type QueueMessage } from './messages.ts';
import { resolvedNotification, windowNotification } from './notifications.ts';
import {
  ackFor,
  criticalFiring,
  episodeLive,
  findSilence,
  flushDelaySeconds,
  flushPlan,
  groupKeyOf,
  inhibitable,
  inOrderOfEvents,
  reminderDue,
  repeatInWindow,
  resumedBy,
  silenceNoticeAlert,
  silenceNoticesDue,
} from './rules.ts';
import {
  type Acknowledgement,
  claimSilenceNotice,
  noticeFields,
  readAlertControls,
  removeAck,
  type Silence,
  settleSilenceNotice,
} from './silences.ts';
import {
  addRepeatsToOpenWindow,
  claimReminder,
  clearPendingResolved,
  closeWindow,
  type EpisodeRecord,
  episodeId,
  type GroupRecord,
  getItem,
  getMany,
  groupId,
  joinWindow,
  keyHash,
  markCriticalFiring,
  markWindow,
  newThreadId,
  openEpisode,
  type PendingResolved,
  recordRepeats,
  resolveEpisode,
  type ServiceRecord,
  serviceId,
  type TimeSettings,
  type WindowContribution,
} from './state.ts';

export interface RouterDeps {
  db: Db;
  sqs: SQSClient;
  sns: SNSClient;
  clock: Clock;
  env: AlertRouterEnv;
  log: Log;
}

export type RouteResult =
  | 'grouped'
  | 'repeat-suppressed'
  | 'silenced'
  | 'inhibited'
  | 'resolved-sent'
  | 'resolved-recorded'
  | 'resolved-deferred'
  | 'resolved-not-firing'
  | 'flushed'
  | 'flush-duplicate'
  | 'tick'
  | 'failed';

export interface RouteOutcome {
  itemId: string;
  result: RouteResult;
  dedupKey?: string;
  detail?: string;
}

export interface SentNotification {
  kind: NotificationKind;
  severity: Alert['severity'];
  subject: string;
  topicArn: string;
  messageId?: string;
  threadId: string;
  bytes: number;
  truncated: boolean;
  /** Alerts the message stands for (a window's count; 1 for a single alert). */
  alerts: number;
}

export interface RouteReport {
  received: number;
  invalid: { id: string; field: string; problem: string; message: string }[];
  outcomes: RouteOutcome[];
  sent: SentNotification[];
  /** Items to hand back to SQS for a retry (and, after the last retry, the dead-letter queue). */
  failedItemIds: string[];
  /** SNS publishes that failed after the SDK's retries (their items are among the failed ones). */
  publishFailures: number;
  /** Silence announcements that could not be raised (the next tick tries again). */
  noticeFailures: number;
}

const ACTOR = 'alert-router';

/** Attempts at recording a publish that went out, each with the SDK's own retries inside. */
const RECORD_PUBLISHED_ATTEMPTS = 5;

/**
 * Records that a message went out. A publish cannot be taken back, and an item whose record
 * failed comes back and is sent again, so the record (idempotent) is retried well beyond the
 * SDK's attempts before the item is given up.
 */
async function recordPublished(record: () => Promise<unknown>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await record();
      return;
    } catch (error) {
      if (attempt >= RECORD_PUBLISHED_ATTEMPTS) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
    }
  }
}

const resumedKey = (groupKey: string) => `resumed\u0000${groupKey}`;

/** Names a join by its group and the alert messages in it: the same alerts joining again match. */
export function joinIdOf(groupKey: string, alertItemIds: readonly string[]): string {
  return createHash('sha256')
    .update(JSON.stringify([groupKey, [...alertItemIds].sort()]))
    .digest('hex')
    .slice(0, 24);
}

export async function routeAlertBatch(deps: RouterDeps, items: readonly Item[]): Promise<RouteReport> {
  const router = new BatchRouter(deps);
  return router.run(items);
}

interface PendingContribution extends Omit<WindowContribution, 'joinId'> {
  groupKey: string;
  /** Messages of the alerts sent (new, reminders): what names the join in the window's ledger. */
  alertItemIds: string[];
  /** Every message the contribution stands for, repeats included (failed together). */
  itemIds: string[];
  /** Critical alerts sent, by service record id: their services' warnings are inhibited. */
  critical: Map<string, string[]>;
}

class BatchRouter {
  private readonly report: RouteReport = {
    received: 0,
    invalid: [],
    outcomes: [],
    sent: [],
    failedItemIds: [],
    publishFailures: 0,
    noticeFailures: 0,
  };
  private readonly failed = new Set<string>();
  private readonly episodes = new Map<string, EpisodeRecord | undefined>();
  /** Whether a critical alert fires for a service (inhibition), read once per batch and kept current. */
  private readonly criticalByService = new Map<string, boolean>();
  private readonly pending = new Map<string, PendingContribution>();
  private readonly repeats = new Map<string, { count: number; itemIds: string[] }>();
  private readonly journal: { entry: JournalEntry; itemId: string }[] = [];
  private silences: Silence[] = [];
  private acks = new Map<string, Acknowledgement>();
  private readonly table: string;

  constructor(private readonly deps: RouterDeps) {
    this.table = deps.env.ALERTS_TABLE;
  }

  private time(): TimeSettings & { windowSeconds: number } {
    return {
      now: this.deps.clock.now(),
      episodeMs: this.deps.env.ALERT_EPISODE_HOURS * 3600_000,
      windowSeconds: this.deps.env.ALERT_GROUP_WINDOW_SECONDS,
    };
  }

  async run(items: readonly Item[]): Promise<RouteReport> {
    this.report.received = items.length;
    const parsed: { id: string; message: QueueMessage }[] = [];
    for (const item of items) {
      try {
        parsed.push({ id: item.id, message: parseQueueMessage(item.body) });
      } catch (error) {
        if (!(error instanceof InvalidInputError)) throw error;
        this.deps.log.error('Rejected malformed alert-queue message', {
          itemId: item.id,
          error: error.message,
        });
        this.report.invalid.push({
          id: item.id,
          field: error.field,
          problem: error.problem,
          message: error.message,
        });
        this.fail(item.id, error.message);
      }
    }
    const alerts = parsed.flatMap((p) => (p.message.type === 'alert' ? [p.message.alert] : []));
    const ticks = parsed.filter((p) => p.message.type === 'tick').map((p) => p.id);
    // A batch with alerts or ticks reads the silences and acknowledgements, and announces silence changes.
    const controlsRead = alerts.length > 0 || ticks.length > 0;
    if (controlsRead) {
      const controls = await readAlertControls(this.deps.db, this.table);
      this.silences = controls.silences;
      this.acks = controls.acks;
    }
    if (alerts.length > 0) {
      const found = await getMany<EpisodeRecord>(
        this.deps.db,
        this.table,
        alerts.map((a) => episodeId(a.dedupKey)),
      );
      for (const a of alerts) this.episodes.set(a.dedupKey, found.get(episodeId(a.dedupKey)));
    }

    const atOf = (m: QueueMessage) =>
      m.type === 'flush' ? m.flush.alert.at : m.type === 'alert' ? m.alert.at : '';
    for (const id of ticks) this.outcome(id, 'tick');
    const routed = parsed.filter((p) => p.message.type !== 'tick');
    for (const { id, message } of inOrderOfEvents(routed, (p) => atOf(p.message))) {
      try {
        if (message.type === 'tick') continue;
        if (message.type === 'flush') {
          await this.commitGroup(message.flush.flush.group);
          await this.flush(id, message.flush);
        } else if (message.alert.state === 'resolved') {
          await this.commitGroup(groupKeyOf(message.alert));
          await this.resolve(id, message.alert);
        } else {
          await this.firing(id, message.alert);
        }
      } catch (error) {
        this.deps.log.error('Alert-queue message failed; it will be retried', {
          itemId: id,
          error: (error as Error).message,
        });
        this.fail(id, (error as Error).message);
      }
    }
    for (const key of [...this.pending.keys()]) {
      try {
        await this.commitPending(key);
      } catch {
        // commitPending reported its items as failed.
      }
    }
    await this.commitRepeats();
    await this.commitJournal();
    if (controlsRead) await this.announceSilences();
    this.report.failedItemIds = [...this.failed];
    return this.report;
  }

  /**
   * Announces each silence's creation and end once, as an info alert on the alert queue (routed
   * like any other): claimed (concurrent invocations announce it once), raised, then marked. A
   * notice whose alert could not be raised gives its claim back; what fails is logged and counted,
   * and the next batch or tick tries again.
   */
  private async announceSilences(): Promise<void> {
    const now = this.deps.clock.now();
    for (const notice of silenceNoticesDue(this.silences, now)) {
      const { id } = notice.silence;
      const fields = noticeFields(notice.which);
      const announcedAt = new Date(now).toISOString();
      try {
        if (notice.which === 'stale') {
          await settleSilenceNotice(this.deps.db, this.table, id, fields, { announcedAt });
          continue;
        }
        if (!(await claimSilenceNotice(this.deps.db, this.table, id, fields, now))) continue;
        try {
          await raiseAlert(this.deps.sqs, this.deps.env.ALERT_QUEUE_URL, silenceNoticeAlert(notice, now));
        } catch (error) {
          await settleSilenceNotice(this.deps.db, this.table, id, fields, 'release');
          throw error;
        }
        await settleSilenceNotice(this.deps.db, this.table, id, fields, { announcedAt });
      } catch (error) {
        this.report.noticeFailures++;
        this.deps.log.error('Silence notice not raised; the next batch tries again', {
          silence: id,
          which: notice.which,
          error: (error as Error).message,
        });
      }
    }
  }

  private fail(itemId: string, detail: string) {
    this.failed.add(itemId);
    this.report.outcomes.push({ itemId, result: 'failed', detail });
  }

  private outcome(itemId: string, result: RouteResult, alert?: Alert, detail?: string) {
    this.report.outcomes.push({
      itemId,
      result,
      ...(alert ? { dedupKey: alert.dedupKey } : {}),
      ...(detail ? { detail } : {}),
    });
  }

  private async firing(itemId: string, alert: Alert): Promise<void> {
    const t = this.time();
    const silence = findSilence(this.silences, alert, t.now);
    if (silence) {
      this.journalSuppressed(
        itemId,
        alert,
        'silence-alert',
        `silenced by ${silence.id} until ${silence.endsAt}: ${silence.reason}`,
        { silence },
      );
      this.outcome(itemId, 'silenced', alert, silence.id);
      return;
    }
    if (inhibitable(alert) && (await this.criticalFires(alert, t))) {
      this.journalSuppressed(
        itemId,
        alert,
        'inhibit-alert',
        `a critical alert for service ${alert.service} is firing; its warnings wait until it resolves`,
      );
      this.outcome(itemId, 'inhibited', alert);
      return;
    }

    let episode = this.episodes.get(alert.dedupKey);
    const live = episodeLive(episode, t.now);
    if (live && episode && resumedBy(episode, itemId)) {
      // A redelivery of the message that decided to send it: carry on where it failed.
      this.contribute(itemId, alert, episode.lastDecision, episode.repeatsAtReminder ?? 0, true);
      this.outcome(itemId, 'grouped', alert, `resumed ${episode.lastDecision}`);
      return;
    }
    if (!live) {
      const opened = await openEpisode(this.deps.db, this.table, t, alert, itemId);
      if (opened.result === 'opened') {
        this.episodes.set(alert.dedupKey, opened.episode);
        this.contribute(itemId, alert, 'new', 0);
        this.outcome(itemId, 'grouped', alert, 'new');
        return;
      }
      // Someone opened it first (or this message did, before a failure): read what was decided.
      episode = await getItem<EpisodeRecord>(this.deps.db, this.table, episodeId(alert.dedupKey));
      this.episodes.set(alert.dedupKey, episode);
      if (episode && resumedBy(episode, itemId)) {
        this.contribute(itemId, alert, episode.lastDecision, episode.repeatsAtReminder ?? 0, true);
        this.outcome(itemId, 'grouped', alert, `resumed ${episode.lastDecision}`);
        return;
      }
      if (!episode) throw new Error(`episode ${alert.dedupKey} neither opened nor found; retrying`);
    }
    const current = episode as EpisodeRecord;
    const reminderMs = this.deps.env.ALERT_REMINDER_MINUTES * 60_000;
    // Someone acknowledged it (ops ack): it is counted, not reminded of, until it resolves.
    const ack = ackFor(this.acks, current);
    if (
      !ack &&
      reminderDue(current, t.now, reminderMs) &&
      (await claimReminder(this.deps.db, this.table, t, current, itemId))
    ) {
      const earlier = current.repeats + (this.repeats.get(alert.dedupKey)?.count ?? 0);
      this.repeats.delete(alert.dedupKey);
      this.episodes.set(alert.dedupKey, {
        ...current,
        lastSentAtMs: t.now,
        lastSeenAtMs: t.now,
        lastMessageId: itemId,
        lastDecision: 'reminder',
        repeatsAtReminder: earlier,
        repeats: 0,
      });
      this.contribute(itemId, alert, 'reminder', earlier);
      this.outcome(itemId, 'grouped', alert, 'reminder');
      return;
    }
    const counted = this.repeats.get(alert.dedupKey) ?? { count: 0, itemIds: [] };
    counted.count++;
    counted.itemIds.push(itemId);
    this.repeats.set(alert.dedupKey, counted);
    // Still inside the window it was sent in: the window's message says how often it came.
    if (repeatInWindow(current, t.now, t.windowSeconds)) this.contributeRepeat(itemId, current.groupKey);
    this.outcome(
      itemId,
      'repeat-suppressed',
      alert,
      ack
        ? `acknowledged by ${ack.by} at ${ack.at}: no reminders`
        : `sent ${Math.round((t.now - current.lastSentAtMs) / 1000)} s ago; next reminder after ${this.deps.env.ALERT_REMINDER_MINUTES} min`,
    );
  }

  private async criticalFires(alert: Alert, t: TimeSettings): Promise<boolean> {
    const key = serviceId(alert.cluster, alert.service as string);
    let fires = this.criticalByService.get(key);
    if (fires === undefined) {
      fires = criticalFiring(await getItem<ServiceRecord>(this.deps.db, this.table, key), t);
      this.criticalByService.set(key, fires);
    }
    return fires;
  }

  /**
   * The batch's pending contribution to a group's window. Redelivered alerts that had already
   * decided to send (resumed) join apart from the rest, with the same alerts as the attempt that
   * failed after its join: the window's ledger then knows the join (see joinWindow).
   */
  private contribution(itemId: string, groupKey: string, resumed = false): PendingContribution {
    const key = resumed ? resumedKey(groupKey) : groupKey;
    let entry = this.pending.get(key);
    if (!entry) {
      entry = {
        groupKey,
        alertItemIds: [],
        alerts: [],
        firingKeyHashes: [],
        critical: new Map(),
        newAlerts: 0,
        reminders: 0,
        repeats: 0,
        earlierRepeats: 0,
        firstMessageId: itemId,
        itemIds: [],
      };
      this.pending.set(key, entry);
    }
    return entry;
  }

  private contribute(
    itemId: string,
    alert: Alert,
    decision: 'new' | 'reminder',
    earlierRepeats: number,
    resumed = false,
  ) {
    const entry = this.contribution(itemId, groupKeyOf(alert), resumed);
    entry.alerts.push(alert);
    entry.alertItemIds.push(itemId);
    const hash = keyHash(alert.dedupKey);
    entry.firingKeyHashes.push(hash);
    if (alert.severity === 'critical' && alert.service) {
      const service = serviceId(alert.cluster, alert.service);
      entry.critical.set(service, [...(entry.critical.get(service) ?? []), hash]);
      // Later warnings of this batch see it at once; later batches read the service record.
      this.criticalByService.set(service, true);
    }
    if (decision === 'new') entry.newAlerts++;
    else {
      entry.reminders++;
      entry.earlierRepeats += earlierRepeats;
    }
    entry.itemIds.push(itemId);
  }

  private contributeRepeat(itemId: string, groupKey: string) {
    const entry = this.contribution(itemId, groupKey);
    entry.repeats++;
    entry.itemIds.push(itemId);
  }

  /** Writes what this batch added to a group's window (resumed alerts first). */
  private async commitGroup(groupKey: string): Promise<void> {
    await this.commitPending(resumedKey(groupKey));
    await this.commitPending(groupKey);
  }

  /** Writes one pending contribution to its group's window, and schedules the window's flush once. */
  private async commitPending(key: string): Promise<void> {
    const entry = this.pending.get(key);
    if (!entry) return;
    this.pending.delete(key);
    const { groupKey } = entry;
    try {
      if (entry.alerts.length === 0) {
        await addRepeatsToOpenWindow(this.deps.db, this.table, groupKey, entry.repeats);
        return;
      }
      const t = this.time();
      for (const [service, hashes] of entry.critical) {
        await markCriticalFiring(this.deps.db, this.table, t, service, hashes);
      }
      const { window } = await joinWindow(this.deps.db, this.table, t, groupKey, {
        ...entry,
        joinId: joinIdOf(groupKey, entry.alertItemIds),
      });
      if (window.flushQueued) return;
      const flush: FlushMessage = {
        flush: { group: groupKey, window: window.windowId },
        alert: JSON.parse(window.first ?? JSON.stringify(entry.alerts[0])) as Alert,
      };
      await this.deps.sqs.send(
        new SendMessageCommand({
          QueueUrl: this.deps.env.ALERT_QUEUE_URL,
          MessageBody: JSON.stringify(flush),
          DelaySeconds: flushDelaySeconds(t.windowSeconds, t.now, window.openedAtMs ?? t.now),
        }),
      );
      await markWindow(this.deps.db, this.table, groupKey, window.windowId, { flushQueued: true });
    } catch (error) {
      this.deps.log.error('Adding alerts to their group window failed; they will be retried', {
        groupKey,
        error: (error as Error).message,
      });
      for (const id of entry.itemIds) this.fail(id, (error as Error).message);
      throw error;
    }
  }

  private async commitRepeats(): Promise<void> {
    const t = this.time();
    for (const [dedupKey, { count, itemIds }] of this.repeats) {
      try {
        await recordRepeats(this.deps.db, this.table, t, dedupKey, count);
      } catch (error) {
        for (const id of itemIds) this.fail(id, (error as Error).message);
      }
    }
  }

  private journalSuppressed(
    itemId: string,
    alert: Alert,
    action: 'silence-alert' | 'inhibit-alert',
    reason: string,
    details: Record<string, unknown> = {},
  ) {
    this.journal.push({
      itemId,
      entry: {
        resource: `alert/${alert.dedupKey}`,
        action,
        outcome: 'unchanged',
        reason,
        trigger: { kind: 'alert', id: alert.dedupKey, source: alert.kind, at: alert.at },
        actor: ACTOR,
        details: {
          severity: alert.severity,
          state: alert.state,
          title: alert.title,
          ...(alert.service ? { service: alert.service } : {}),
          ...(alert.cluster ? { cluster: alert.cluster } : {}),
          ...details,
        },
      },
    });
  }

  private async commitJournal(): Promise<void> {
    if (this.journal.length === 0) return;
    try {
      await writeJournal(
        this.deps.db,
        this.deps.env.JOURNAL_TABLE,
        this.deps.clock,
        this.journal.map((j) => j.entry),
      );
    } catch (error) {
      // Suppressed without evidence is not allowed: retry them.
      for (const j of this.journal) this.fail(j.itemId, `journal: ${(error as Error).message}`);
    }
  }

  private async resolve(itemId: string, alert: Alert): Promise<void> {
    const t = this.time();
    const groupKey = groupKeyOf(alert);
    const episode = this.episodes.get(alert.dedupKey);
    if (!episodeLive(episode, t.now)) {
      // A redelivery (or a redrive from the DLQ) of a resolve whose publish failed finds its
      // notification waiting on the group.
      const group = await getItem<GroupRecord>(this.deps.db, this.table, groupId(groupKey));
      const pending = group?.pendingResolved;
      if (pending && (pending.messageId === itemId || pending.dedupKey === alert.dedupKey)) {
        await this.sendResolved(groupKey, pending);
        this.outcome(itemId, 'resolved-sent', alert, 'resent');
        return;
      }
      this.outcome(itemId, 'resolved-not-firing', alert, 'no firing episode for this dedup key');
      return;
    }
    // Its acknowledgement, if any, goes out with the resolved notification, then is dropped.
    const ack = ackFor(this.acks, episode);
    const acknowledged: Alert = ack
      ? { ...alert, acknowledged: { by: ack.by, at: ack.at, ...(ack.reason ? { reason: ack.reason } : {}) } }
      : alert;
    const result = await resolveEpisode(this.deps.db, this.table, t, acknowledged, episode, itemId);
    if (ack) await removeAck(this.deps.db, this.table, alert.dedupKey);
    this.episodes.delete(alert.dedupKey);
    if (episode.severity === 'critical' && episode.service) {
      this.criticalByService.delete(serviceId(episode.cluster, episode.service));
    }
    switch (result.result) {
      case 'recorded':
        this.outcome(
          itemId,
          'resolved-recorded',
          alert,
          `${result.firing} other alert(s) of the group still firing`,
        );
        return;
      case 'deferred':
        this.outcome(itemId, 'resolved-deferred', alert, 'sent after the open window’s message');
        return;
      case 'resolved':
        await this.sendResolved(groupKey, result.pending);
        this.outcome(itemId, 'resolved-sent', alert);
        return;
    }
  }

  private async sendResolved(groupKey: string, pending: PendingResolved): Promise<void> {
    await this.publish(resolvedNotification(pending, this.deps.env.OPS_ENVIRONMENT), pending.keys);
    await recordPublished(() => clearPendingResolved(this.deps.db, this.table, groupKey, pending.messageId));
  }

  private async flush(itemId: string, message: FlushMessage): Promise<void> {
    const t = this.time();
    const { group, window } = message.flush;
    const record = await closeWindow(this.deps.db, this.table, t.now, group, window);
    const plan = flushPlan(record);
    if (plan.done) {
      this.outcome(itemId, 'flush-duplicate', message.alert, `already sent at ${record?.publishedAt}`);
      return;
    }
    if (plan.sendWindow) {
      const notification = windowNotification(record, message.alert, {
        environment: this.deps.env.OPS_ENVIRONMENT,
        windowSeconds: t.windowSeconds,
        now: t.now,
        fallbackThreadId: newThreadId(group, t.now),
      });
      const sent = await this.publish(notification, record?.alerts ?? 1);
      if (record) {
        await recordPublished(() =>
          markWindow(this.deps.db, this.table, group, window, {
            publishedAt: new Date(t.now).toISOString(),
            ...(sent.messageId ? { messageId: sent.messageId } : {}),
          }),
        );
      }
    }
    if (plan.sendResolved && record?.resolveAfter) {
      await this.sendResolved(group, record.resolveAfter);
      const resolvedAt = new Date(this.deps.clock.now()).toISOString();
      await recordPublished(() =>
        markWindow(this.deps.db, this.table, group, window, { resolvedPublishedAt: resolvedAt }),
      );
    }
    this.outcome(itemId, 'flushed', message.alert, `${record?.alerts ?? 1} alert(s)`);
  }

  private async publish(notification: Notification, alerts: number): Promise<SentNotification> {
    const rendered = renderForSns(notification);
    const topicArn = topicFor(this.deps.env, rendered.alert.severity);
    // The SDK retries throttling and 5xx with backoff; what still fails fails the item (SQS retries it).
    const out = await this.deps.sns
      .send(
        new PublishCommand({
          TopicArn: topicArn,
          Subject: rendered.subject,
          Message: rendered.message,
          MessageStructure: 'json',
          MessageAttributes: rendered.attributes,
        }),
      )
      .catch((error: unknown) => {
        this.report.publishFailures++;
        throw error;
      });
    const sent: SentNotification = {
      kind: notification.kind,
      severity: rendered.alert.severity,
      subject: rendered.subject,
      topicArn,
      ...(out.MessageId ? { messageId: out.MessageId } : {}),
      threadId: notification.threadId,
      bytes: rendered.bytes,
      truncated: rendered.truncated,
      alerts,
    };
    this.report.sent.push(sent);
    this.deps.log.info('Notification sent', { ...sent });
    return sent;
  }
}
