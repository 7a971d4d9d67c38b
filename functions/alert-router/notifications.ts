// From router state to what is sent: a window becomes one notification (the alert itself when it
// holds one, a summary with counts when it holds more), a resolved group becomes one `resolved`.
import { type Alert, AlertSchema } from '../shared/alerts.ts';
import { iso } from '../shared/clock.ts';
import type { Notification } from './formats.ts';
import { countsOf, type PendingResolved, type WindowRecord } from './state.ts';

export function scopeOf(alert: Pick<Alert, 'service' | 'cluster'>): string {
  if (alert.service) return alert.cluster ? `${alert.service} in ${alert.cluster}` : alert.service;
  return alert.cluster ?? 'the control plane';
}

function parseStoredAlert(text: string | undefined): Alert | undefined {
  if (!text) return undefined;
  const parsed = AlertSchema.safeParse(JSON.parse(text));
  return parsed.success ? parsed.data : undefined;
}

/** The one notification of a closed window. `carried` is the alert the flush message carries. */
export function windowNotification(
  window: WindowRecord | undefined,
  carried: Alert,
  opts: { environment: string; windowSeconds: number; now: number; fallbackThreadId: string },
): Notification {
  const first = parseStoredAlert(window?.first) ?? carried;
  const threadId = window?.threadId ?? opts.fallbackThreadId;
  const alerts = window?.alerts ?? 1;
  const newAlerts = window?.newAlerts ?? 1;
  const reminders = window?.reminders ?? 0;
  const repeats = window?.repeats ?? 0;
  if (!window || alerts <= 1) {
    const repeatNote = repeats > 0 ? ` It came ${repeats} more time(s) within ${opts.windowSeconds} s.` : '';
    return {
      kind: reminders > 0 ? 'reminder' : 'alert',
      alert: repeatNote ? { ...first, summary: `${first.summary}${repeatNote}` } : first,
      threadId,
      environment: opts.environment,
      ...(reminders > 0 ? { repeatsSinceLastSent: window?.earlierRepeats ?? 0 } : {}),
    };
  }
  const sample = [...(window.sample ?? [])].sort();
  const resourceCount = window.resourceCount ?? sample.length;
  const otherTitles = [...(window.titles ?? [])].filter((t) => t !== first.title).slice(0, 5);
  const scope = scopeOf(first);
  const alertCounts: Record<string, number> = { new: newAlerts, 'still firing': reminders };
  if (repeats > 0) alertCounts['repeats suppressed'] = repeats;
  const alert: Alert = {
    severity: first.severity,
    state: 'firing',
    kind: first.kind,
    ...(first.service ? { service: first.service } : {}),
    ...(first.cluster ? { cluster: first.cluster } : {}),
    title: `${alerts} ${first.kind} alerts for ${scope}`,
    summary:
      `${alerts} ${first.severity} alerts for ${scope} within ${opts.windowSeconds} s ` +
      `(${newAlerts} new, ${reminders} still firing${repeats > 0 ? `, ${repeats} repeats suppressed` : ''}). ` +
      `First: ${first.title}.`,
    resources: sample,
    whatHappened: `${first.whatHappened}${otherTitles.length > 0 ? ` Other alerts in this group: ${otherTitles.join('; ')}.` : ''}`,
    whatWeDid: first.whatWeDid,
    nextSteps: first.nextSteps,
    // A group's pager incident is its episode: firing, reminders and resolved share the thread id.
    dedupKey: threadId,
    counts: { alerts: alertCounts, ...countsOf(window) },
    ...(first.links ? { links: first.links } : {}),
    at: iso(opts.now),
    ...(resourceCount > sample.length
      ? { truncated: { resources: resourceCount, fields: ['resources'] } }
      : {}),
  };
  return {
    kind: 'group',
    alert,
    threadId,
    environment: opts.environment,
    group: {
      key: window.groupKey,
      alerts,
      newAlerts,
      reminders,
      repeats,
      resources: resourceCount,
      windowSeconds: opts.windowSeconds,
      openedAt: window.openedAt ?? iso(opts.now),
    },
  };
}

/** The group's episode ended: one `resolved`, in the thread of the episode. */
export function resolvedNotification(pending: PendingResolved, environment: string): Notification {
  const alert = AlertSchema.parse(JSON.parse(pending.alert));
  if (pending.keys <= 1) return { kind: 'resolved', alert, threadId: pending.threadId, environment };
  const scope = scopeOf(alert);
  return {
    kind: 'resolved',
    alert: {
      ...alert,
      title: `All ${pending.keys} ${alert.kind} alerts for ${scope} resolved`,
      summary: `The last of ${pending.keys} alerts of this group resolved: ${alert.title}. ${alert.summary}`,
      dedupKey: pending.threadId,
    },
    threadId: pending.threadId,
    environment,
  };
}
