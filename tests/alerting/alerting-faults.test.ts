// The alert router behind the fault proxy with AMBIGUOUS_FAULTS: 20% of calls refused and 5%
// ambiguous (applied, then the answer lost or held past the SDK's timeout). SNS topics deliver at
// least once, and a Publish retried after a lost answer is delivered twice: a subscriber dedups on
// the dedup key and notification. So each check is on the distinct notifications, which must be
// exactly the clean run's, and the copies beyond them are bounded by the ambiguous faults.
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { beforeEach, describe, expect, it } from 'vitest';
import { addSilence } from '../../functions/alert-router/silences.ts';
import { episodeId } from '../../functions/alert-router/state.ts';
import { systemClock } from '../../functions/shared/clock.ts';
import type { ReceivedAlert } from '../../local/control-plane.ts';
import { takeAlerts } from '../../local/control-plane.ts';
import { observerDocumentClient } from '../../local/observer.ts';
import { AMBIGUOUS_FAULTS, expectFaultsInjected } from '../support/emulator.ts';
import { alert, PAGED_SERVICE, useAlertWorld } from './world.ts';

describe('alert routing with 20% refused and 5% ambiguous faults', () => {
  const world = useAlertWorld({ faults: AMBIGUOUS_FAULTS });
  beforeEach(() => world.clear());
  const alertsTable = () => world.stack.outputs.AlertStateTableName as string;
  const proxy = () => {
    if (!world.proxy) throw new Error('the world has no fault proxy');
    return world.proxy;
  };
  let copies = 0;
  /** The distinct notifications among `received`; copies of one are counted, not returned. */
  const distinct = (received: ReceivedAlert[]) => {
    const seen = new Map<string, ReceivedAlert>();
    for (const r of received) {
      const key = JSON.stringify([r.alert.dedupKey, r.alert.notification, r.attributes.state, r.subject]);
      if (seen.has(key)) copies++;
      else seen.set(key, r);
    }
    return [...seen.values()];
  };

  it('delivers each alert to the subscribers its filter policy names, none lost', async () => {
    const critical = alert({ severity: 'critical', title: 'API 5xx above 5% for 5 minutes' });
    const warning = alert({ severity: 'warning', service: 'catalog', kind: 'latency', cluster: 'shop' });
    await world.raise(critical);
    await world.raise(warning);
    await world.route();
    expect(distinct(await takeAlerts(world.pagerQueue)).map((a) => a.alert.dedupKey)).toEqual([
      critical.dedupKey,
    ]);
    expect(distinct(await takeAlerts(world.digestQueue)).map((a) => a.alert.dedupKey)).toEqual([
      warning.dedupKey,
    ]);
    expect(critical.service).toBe(PAGED_SERVICE);
  });

  it('notifies a firing alert raised four times once, and counts the repeats', async () => {
    const firing = alert({ severity: 'warning', service: 'orders', kind: 'cpu-high' });
    for (let i = 0; i < 4; i++) await world.raise({ ...firing, at: new Date().toISOString() });
    await world.route();
    const published = distinct(await world.published());
    expect(published.map((a) => a.alert.notification)).toEqual(['alert']);
    const episode = await observerDocumentClient().send(
      new GetCommand({ TableName: alertsTable(), Key: { id: episodeId(firing.dedupKey) } }),
    );
    // At least the three repeats; a raise retried after a lost answer is one more.
    expect(Number(episode.Item?.repeats)).toBeGreaterThanOrEqual(3);
  });

  it('publishes nothing for a silenced alert and journals it as silenced', async () => {
    const silence = await addSilence(observerDocumentClient(), alertsTable(), systemClock, {
      matcher: { service: 'search' },
      durationMs: 2 * 3600_000,
      reason: 'reindexing',
      createdBy: 'test',
    });
    const silenced = alert({ severity: 'critical', service: 'search', title: 'Search latency high' });
    await world.raise(silenced);
    await world.route();
    expect(await world.published()).toEqual([]);
    const journal = (await world.journal()).filter((r) => r.resource === `alert/${silenced.dedupKey}`);
    expect(journal.length).toBeGreaterThanOrEqual(1);
    expect(journal.every((r) => r.action === 'silence-alert' && String(r.reason).includes(silence.id))).toBe(
      true,
    );
  });

  it('sends one message per group and window, with the count', async () => {
    const oom = [1, 2, 3].map(() => alert({ severity: 'warning', service: 'inventory', kind: 'oom-killed' }));
    await world.raise(...oom);
    await world.route();
    const published = distinct(await world.published());
    expect(published.map((p) => p.subject)).toEqual(['[WARNING] 3 oom-killed alerts for inventory in web']);
    // A raise retried after a lost answer is a repeat of its alert, not one more alert.
    expect(published[0]?.alert.group).toMatchObject({ alerts: 3, newAlerts: 3 });
  });

  it('really injected refused and ambiguous faults, and delivered no copy beyond them', () => {
    const stats = proxy().stats();
    expectFaultsInjected(stats);
    expect(copies).toBeLessThanOrEqual(stats.lostResponses + stats.slowResponses);
  });
});
