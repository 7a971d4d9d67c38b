// The alert router's rules on their own (functions/alert-router/rules.ts): silences, inhibition,
// episodes, reminders, repeats, groups and flushes.
import { describe, expect, it } from 'vitest';
import type {
  EpisodeRecord,
  PendingResolved,
  WindowRecord,
} from '../../functions/alert-router/episode-state.ts';
import {
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
} from '../../functions/alert-router/rules.ts';
import type { Silence } from '../../functions/alert-router/silences.ts';

const NOW = Date.parse('2026-12-05T12:00:00Z');
const MIN = 60_000;

const silence = (id: string, matcher: Silence['matcher'], from: number, to: number): Silence => ({
  id,
  matcher,
  startsAt: new Date(from).toISOString(),
  endsAt: new Date(to).toISOString(),
  reason: 'deploying',
  createdBy: 'alice',
  createdAt: new Date(from).toISOString(),
});

const episode = (patch: Partial<EpisodeRecord> = {}): EpisodeRecord => ({
  id: 'episode#k',
  dedupKey: 'k',
  groupKey: 'warning|cpu|api|web',
  severity: 'warning',
  kind: 'cpu',
  openedAt: '2026-12-05T11:00:00Z',
  lastSentAtMs: NOW - 10 * MIN,
  lastSeenAtMs: NOW - 10 * MIN,
  repeats: 0,
  lastMessageId: 'm-1',
  lastDecision: 'new',
  expiresAt: Math.floor((NOW + 60 * MIN) / 1000),
  ...patch,
});

const window = (patch: Partial<WindowRecord> = {}): WindowRecord => ({
  id: 'window#g#w',
  groupKey: 'g',
  windowId: 'w',
  ...patch,
});

describe('alert router rules', () => {
  it('silences by service, kind or dedup key, only while the silence is active', () => {
    const alert = { service: 'api', kind: 'cpu', dedupKey: 'cpu/api' };
    const bySvc = silence('s-1', { service: 'api' }, NOW - MIN, NOW + MIN);
    const otherKind = silence('s-2', { service: 'api', kind: 'memory' }, NOW - MIN, NOW + MIN);
    const ended = silence('s-3', { kind: 'cpu' }, NOW - 2 * MIN, NOW);
    const later = silence('s-4', { dedupKey: 'cpu/api' }, NOW + MIN, NOW + 2 * MIN);
    expect(findSilence([otherKind, ended, later, bySvc], alert, NOW)?.id).toBe('s-1');
    expect(findSilence([otherKind, ended, later], alert, NOW)).toBeUndefined();
    expect(findSilence([later], alert, NOW + MIN)?.id).toBe('s-4');
  });

  it('inhibits only warnings of a service whose critical alert fires within an episode', () => {
    expect(inhibitable({ severity: 'warning', service: 'api' })).toBe(true);
    expect(inhibitable({ severity: 'critical', service: 'api' })).toBe(false);
    expect(inhibitable({ severity: 'warning' })).toBe(false);
    const t = { now: NOW, episodeMs: 60 * MIN };
    expect(criticalFiring({ id: 's', criticalKeys: new Set(['h']), lastCriticalAtMs: NOW - MIN }, t)).toBe(
      true,
    );
    expect(
      criticalFiring({ id: 's', criticalKeys: new Set(['h']), lastCriticalAtMs: NOW - 61 * MIN }, t),
    ).toBe(false);
    expect(criticalFiring({ id: 's', lastCriticalAtMs: NOW }, t)).toBe(false);
    expect(criticalFiring(undefined, t)).toBe(false);
  });

  it('resumes the message that decided to send, and reminds or counts a repeat otherwise', () => {
    const e = episode();
    expect(episodeLive(e, NOW)).toBe(true);
    expect(episodeLive(episode({ expiresAt: Math.floor(NOW / 1000) }), NOW)).toBe(false);
    expect(episodeLive(undefined, NOW)).toBe(false);
    expect(resumedBy(e, 'm-1')).toBe(true);
    expect(resumedBy(e, 'm-2')).toBe(false);
    expect(reminderDue(e, NOW, 10 * MIN)).toBe(true);
    expect(reminderDue(e, NOW, 11 * MIN)).toBe(false);
    expect(repeatInWindow(e, NOW, 11 * 60)).toBe(true);
    expect(repeatInWindow(e, NOW, 10 * 60)).toBe(false);
  });

  it('groups by severity, kind, service and cluster', () => {
    const a = { severity: 'warning' as const, kind: 'cpu', service: 'api', cluster: 'web' };
    expect(groupKeyOf(a)).toBe(groupKeyOf({ ...a }));
    expect(groupKeyOf(a)).not.toBe(groupKeyOf({ ...a, severity: 'critical' }));
    expect(groupKeyOf(a)).not.toBe(groupKeyOf({ ...a, cluster: 'batch' }));
    expect(groupKeyOf({ severity: 'info', kind: 'spot-interruption' })).toBe('info|spot-interruption||');
  });

  it('flushes when the window ends, within what SQS can delay', () => {
    expect(flushDelaySeconds(60, NOW, NOW)).toBe(60);
    expect(flushDelaySeconds(60, NOW, NOW - 59_500)).toBe(1);
    expect(flushDelaySeconds(60, NOW, NOW - 61_000)).toBe(0);
    expect(flushDelaySeconds(3600, NOW, NOW)).toBe(900);
  });

  it('sends what a flush has not sent yet, and nothing for a flush already done', () => {
    const held: PendingResolved = { messageId: 'm-r', dedupKey: 'k', threadId: 't', keys: 1, alert: '{}' };
    expect(flushPlan(undefined)).toEqual({ done: false, sendWindow: true, sendResolved: false });
    expect(flushPlan(window())).toEqual({ done: false, sendWindow: true, sendResolved: false });
    expect(flushPlan(window({ publishedAt: 't' }))).toEqual({
      done: true,
      sendWindow: false,
      sendResolved: false,
    });
    expect(flushPlan(window({ publishedAt: 't', resolveAfter: held }))).toEqual({
      done: false,
      sendWindow: false,
      sendResolved: true,
    });
    expect(flushPlan(window({ resolveAfter: held }))).toEqual({
      done: false,
      sendWindow: true,
      sendResolved: true,
    });
    expect(flushPlan(window({ publishedAt: 't', resolveAfter: held, resolvedPublishedAt: 't' })).done).toBe(
      true,
    );
  });

  it('takes a batch in the order things happened, keeping ties and unparseable times in place', () => {
    const batch = [
      { id: 'rolled-back', at: '2026-12-05T10:00:05.000Z' },
      { id: 'no-time', at: 'soon' },
      { id: 'started', at: '2026-12-05T10:00:00.000Z' },
      { id: 'tie-a', at: '2026-12-05T10:00:02.000Z' },
      { id: 'tie-b', at: '2026-12-05T10:00:02.000Z' },
      { id: 'also-no-time', at: undefined },
    ];
    expect(inOrderOfEvents(batch, (m) => m.at).map((m) => m.id)).toEqual([
      'started',
      'tie-a',
      'tie-b',
      'rolled-back',
      'no-time',
      'also-no-time',
    ]);
    expect(batch[0]?.id).toBe('rolled-back');
  });
});
