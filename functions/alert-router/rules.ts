// The alert router's rules, with no I/O, in the order route-batch.ts applies them to a firing
// alert: silenced, inhibited, resumed (a redelivery of the message that decided to send it), new,
// reminder due, or a repeat (counted in the window it was sent in). Then how alerts group, when
// a window's flush is due, and what a flush still has to send.
import type { Alert } from '../shared/alerts.ts';
import { ttlSeconds } from '../shared/dynamo.ts';
import type { EpisodeRecord, ServiceRecord, TimeSettings, WindowRecord } from './episode-state.ts';
import type { Acknowledgement, Silence } from './silences.ts';

export function silenceMatches(
  silence: Silence,
  alert: Pick<Alert, 'service' | 'kind' | 'dedupKey'>,
): boolean {
  const m = silence.matcher;
  return (
    (m.service === undefined || m.service === alert.service) &&
    (m.kind === undefined || m.kind === alert.kind) &&
    (m.dedupKey === undefined || m.dedupKey === alert.dedupKey)
  );
}

export function isActive(silence: Silence, now: number): boolean {
  return Date.parse(silence.startsAt) <= now && now < Date.parse(silence.endsAt);
}

/** The first active silence that matches the alert. */
export function findSilence(
  silences: readonly Silence[],
  alert: Pick<Alert, 'service' | 'kind' | 'dedupKey'>,
  now: number,
): Silence | undefined {
  return silences.find((s) => isActive(s, now) && silenceMatches(s, alert));
}

/**
 * A batch's messages in the order things happened: each alert at its `at`, a window's flush at the
 * `at` of the alert that opened it. SQS hands a batch over in any order, and an episode's alerts
 * (a rollout started, then rolled back) must not reach people the wrong way round. Stable: a
 * message whose time does not parse keeps its place relative to the others without one.
 */
export function inOrderOfEvents<T>(messages: readonly T[], at: (message: T) => string | undefined): T[] {
  const time = (m: T) => {
    const ms = Date.parse(at(m) ?? '');
    return Number.isNaN(ms) ? Number.POSITIVE_INFINITY : ms;
  };
  return messages
    .map((message, index) => ({ message, index, ms: time(message) }))
    .sort((a, b) => (a.ms === b.ms ? a.index - b.index : a.ms < b.ms ? -1 : 1))
    .map((m) => m.message);
}

/** Only a service's warnings wait while a critical alert of the same service fires. */
export const inhibitable = (alert: Pick<Alert, 'severity' | 'service'>): boolean =>
  alert.severity === 'warning' && alert.service !== undefined && alert.service !== '';

/** A critical alert of the service fires (and one was raised within an episode's lifetime). */
export function criticalFiring(record: ServiceRecord | undefined, t: TimeSettings): boolean {
  return (record?.criticalKeys?.size ?? 0) > 0 && (record?.lastCriticalAtMs ?? 0) > t.now - t.episodeMs;
}

/** The alert's episode is still open: a firing alert with this dedup key was sent within it. */
export const episodeLive = (episode: EpisodeRecord | undefined, now: number): episode is EpisodeRecord =>
  episode !== undefined && episode.expiresAt > ttlSeconds(now);

/** This message decided to send the alert before it failed: its redelivery carries on from there. */
export const resumedBy = (episode: EpisodeRecord | undefined, itemId: string): boolean =>
  episode?.lastMessageId === itemId;

/** Sent long enough ago to be sent again as a reminder. */
export const reminderDue = (episode: EpisodeRecord, now: number, reminderMs: number): boolean =>
  now - episode.lastSentAtMs >= reminderMs;

/** A repeat still inside the window it was sent in: the window's message counts it. */
export const repeatInWindow = (episode: EpisodeRecord, now: number, windowSeconds: number): boolean =>
  now - episode.lastSentAtMs < windowSeconds * 1000;

/** Alerts with the same severity, kind, service and cluster share a group (one message per window). */
export function groupKeyOf(alert: Pick<Alert, 'severity' | 'kind' | 'service' | 'cluster'>): string {
  return [alert.severity, alert.kind, alert.service ?? '', alert.cluster ?? ''].join('|');
}

/** The delay of a window's flush: what is left of the window, within SQS's 0 to 900 seconds. */
export function flushDelaySeconds(windowSeconds: number, now: number, openedAtMs: number): number {
  const remainingMs = windowSeconds * 1000 - (now - openedAtMs);
  return Math.min(900, Math.max(0, Math.ceil(remainingMs / 1000)));
}

/**
 * What a window's flush still has to send: its message unless published, then the group's
 * resolved notification held for it unless published. Nothing at all for a flush already done.
 */
export function flushPlan(record: WindowRecord | undefined): {
  done: boolean;
  sendWindow: boolean;
  sendResolved: boolean;
} {
  const sendWindow = !record?.publishedAt;
  const sendResolved = Boolean(record?.resolveAfter) && !record?.resolvedPublishedAt;
  return { done: !sendWindow && !sendResolved, sendWindow, sendResolved };
}

/** The acknowledgement of this episode: one given for an earlier episode of the key does not count. */
export function ackFor(
  acks: ReadonlyMap<string, Acknowledgement>,
  episode: Pick<EpisodeRecord, 'dedupKey' | 'openedAt'>,
): Acknowledgement | undefined {
  const ack = acks.get(episode.dedupKey);
  return ack && ack.episodeOpenedAt === episode.openedAt ? ack : undefined;
}

/** "service api and kind cpu-high": what a silence matches, in words. */
export function describeMatcher(matcher: Silence['matcher']): string {
  return [
    matcher.service ? `service ${matcher.service}` : '',
    matcher.kind ? `kind ${matcher.kind}` : '',
    matcher.dedupKey ? `dedup key ${matcher.dedupKey}` : '',
  ]
    .filter(Boolean)
    .join(' and ');
}

export interface SilenceNotice {
  silence: Silence;
  /**
   * created: it started; ended: it ended (early or by running out); created-and-ended: it came and
   * went between two looks (one notice says both); stale: it ended long before anyone looked (the
   * first look after a deploy finds old ones): marked, not announced.
   */
  which: 'created' | 'ended' | 'created-and-ended' | 'stale';
}

/** An end older than this is history, not news. */
export const STALE_NOTICE_MS = 3600_000;

/** The silence announcements not made yet. */
export function silenceNoticesDue(silences: readonly Silence[], now: number): SilenceNotice[] {
  return silences.flatMap((silence): SilenceNotice[] => {
    const endsAt = Date.parse(silence.endsAt);
    const createdDue = silence.createdAnnouncedAt === undefined;
    if (endsAt > now) return createdDue ? [{ silence, which: 'created' }] : [];
    if (silence.endAnnouncedAt !== undefined) return [];
    if (endsAt <= now - STALE_NOTICE_MS) return [{ silence, which: 'stale' }];
    return [{ silence, which: createdDue ? 'created-and-ended' : 'ended' }];
  });
}

/**
 * The info alert that announces a silence's creation (firing), its early end or its expiry (the
 * same alert resolved): one episode per silence, so notices of ended silences do not pile up.
 */
export function silenceNoticeAlert({ silence, which }: SilenceNotice, now: number): Alert {
  const what = describeMatcher(silence.matcher);
  const ended = which !== 'created';
  const title = !ended
    ? `Silence created: ${what} until ${silence.endsAt}`
    : silence.endedBy
      ? `Silence ended early by ${silence.endedBy}: ${what}`
      : `Silence expired: ${what}`;
  return {
    severity: 'info',
    // Its end resolves its start; one that came and went between two looks is news once, unresolved.
    state: which === 'ended' ? 'resolved' : 'firing',
    kind: 'silence',
    title,
    summary: `${silence.id} (${silence.reason}), set by ${silence.createdBy} from ${silence.startsAt} to ${silence.endsAt}`,
    resources: [silence.id],
    whatHappened: ended
      ? `${silence.id} ${silence.endedBy ? `was ended by ${silence.endedBy}` : 'ran out'} at ${silence.endsAt}.`
      : `${silence.createdBy} silenced ${what} until ${silence.endsAt}: ${silence.reason}`,
    whatWeDid: ended
      ? 'Alerts that match it are published again.'
      : 'Alerts that match it are not published while it lasts; each is journaled as silenced.',
    nextSteps: ended
      ? ['ops status shows what still fires']
      : ['ops silences lists every silence', `ops unsilence ${silence.id} ends it now`],
    dedupKey: `silence/${silence.id}`,
    at: new Date(now).toISOString(),
  };
}
