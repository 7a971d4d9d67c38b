import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { joinIdOf } from '../../functions/alert-router/route-batch.ts';
import {
  joinWindow,
  keyHash,
  type WindowContribution,
  type WindowRecord,
  windowId,
} from '../../functions/alert-router/state.ts';
import { type Db, documentClient } from '../../functions/shared/dynamo.ts';
import { burstAlert } from '../../local/alert-burst.ts';
import { observerDocumentClient } from '../../local/observer.ts';
import { AMBIGUOUS_FAULTS, createTable, useEmulator, useFaultProxy } from '../support/emulator.ts';

useEmulator();
const proxy = useFaultProxy();
const TABLE = 'alerts';
const GROUP = 'warning|task-unhealthy|api|web';

function contribution(run: string, messages: string[]): WindowContribution {
  const alerts = messages.map((_, i) => burstAlert(run, i, 'firing', { count: messages.length }));
  return {
    alerts,
    firingKeyHashes: alerts.map((a) => keyHash(a.dedupKey)),
    newAlerts: alerts.length,
    reminders: 0,
    repeats: 0,
    earlierRepeats: 0,
    firstMessageId: messages[0] as string,
    joinId: joinIdOf(GROUP, messages),
  };
}

describe('a group window joined by a retried update', () => {
  it('counts a join once when its answer was held past the timeout and another join came in between', async () => {
    await createTable(TABLE);
    const t = { now: Date.now(), episodeMs: 3600_000, windowSeconds: 30 };
    // A client with the short timeout that held answers outlast; no faults until the join is sent.
    proxy.setFaults({ slowResponseRate: 1, slowResponseMs: AMBIGUOUS_FAULTS.slowResponseMs });
    const slowJoiner = documentClient();
    proxy.setFaults({ slowResponseRate: 0 });
    let interleaved = false;
    const db = {
      send: async (command: unknown) => {
        const isWindowJoin =
          command instanceof UpdateCommand && String(command.input.Key?.id).startsWith('window#');
        if (!isWindowJoin || interleaved) return slowJoiner.send(command as never);
        interleaved = true;
        proxy.resetStats();
        proxy.setFaults({ slowResponseRate: 1, slowResponseMs: AMBIGUOUS_FAULTS.slowResponseMs });
        const first = slowJoiner.send(command as never);
        // Applied and held: the second batch joins before the SDK gives up on the first answer.
        while (proxy.stats().slowResponses === 0) await new Promise((r) => setTimeout(r, 5));
        proxy.setFaults({ slowResponseRate: 0 });
        await joinWindow(documentClient(), TABLE, t, GROUP, contribution('b', ['m4', 'm5']));
        return first;
      },
    } as unknown as Db;

    const joined = await joinWindow(db, TABLE, t, GROUP, contribution('a', ['m1', 'm2', 'm3']));
    expect(interleaved).toBe(true);
    // The SDK sent the first join twice: applied, held past its timeout, then retried.
    const stats = proxy.stats();
    expect(stats.slowResponses).toBe(1);
    expect(stats.forwardedByOperation['dynamodb:UpdateItem']).toBe(
      (stats.appliedCallsByOperation['dynamodb:UpdateItem'] ?? 0) + 1,
    );
    const stored = (
      await observerDocumentClient().send(
        new GetCommand({ TableName: TABLE, Key: { id: windowId(GROUP, joined.window.windowId) } }),
      )
    ).Item as WindowRecord;
    expect(stored.alerts).toBe(5);
    expect(stored.newAlerts).toBe(5);
    expect(stored.resourceCount).toBe(5);
    expect(stored.joins?.size).toBe(2);
    expect(joined.window.alerts).toBeGreaterThanOrEqual(3);

    // The same alerts joining again (redelivered after a failure that followed their join) add nothing.
    await joinWindow(documentClient(), TABLE, t, GROUP, contribution('a', ['m3', 'm1', 'm2']));
    const again = (
      await observerDocumentClient().send(
        new GetCommand({ TableName: TABLE, Key: { id: windowId(GROUP, joined.window.windowId) } }),
      )
    ).Item as WindowRecord;
    expect(again.alerts).toBe(5);
  });
});
