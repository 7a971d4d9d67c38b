// What pre-scales a service has outstanding: the desired count before the first of them (its
// base) and the tasks added and not yet given back. Read and written only under the service's
// desired-count lock. Stacked pre-scales (concurrent batches, a second warning) give back to
// base plus what the others still hold, never below it, so each gives back its own share.
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { Clock } from '../shared/clock.ts';
import { type Db, ttlSeconds } from '../shared/dynamo.ts';

export interface PrescaleLedger {
  base: number;
  outstanding: number;
  updatedAtMs: number;
}

const ledgerId = (cluster: string, service: string) => `spot-prescale-ledger#${cluster}/${service}`;

/**
 * The ledger, or undefined when nothing is outstanding or it is stale: a give-back that never
 * came (its message dead-lettered) must not hold the floor up for ever.
 */
export async function readLedger(
  db: Db,
  table: string,
  clock: Clock,
  cluster: string,
  service: string,
  staleAfterMs: number,
): Promise<PrescaleLedger | undefined> {
  const out = await db.send(
    new GetCommand({ TableName: table, Key: { id: ledgerId(cluster, service) }, ConsistentRead: true }),
  );
  const item = out.Item as PrescaleLedger | undefined;
  if (!item || item.outstanding <= 0 || clock.now() - item.updatedAtMs > staleAfterMs) return undefined;
  return item;
}

export async function writeLedger(
  db: Db,
  table: string,
  clock: Clock,
  cluster: string,
  service: string,
  ledger: { base: number; outstanding: number },
): Promise<void> {
  await db.send(
    new PutCommand(ledgerItem(table, clock.now(), cluster, service, ledger.base, ledger.outstanding)),
  );
}

/** The ledger as a put request (written alone, or inside a give-back's transaction). */
export function ledgerItem(
  table: string,
  now: number,
  cluster: string,
  service: string,
  base: number,
  outstanding: number,
) {
  return {
    TableName: table,
    Item: {
      id: ledgerId(cluster, service),
      base,
      outstanding,
      updatedAtMs: now,
      expiresAt: ttlSeconds(now + 24 * 3600_000),
    },
  };
}
