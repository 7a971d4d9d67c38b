// Lease-based locks on a resource (a service, an Auto Scaling group) in DynamoDB.
// A lease expires on its own, so a crashed holder cannot block others for longer than
// the lease. Re-acquiring by the same owner extends it (retries are safe).
import { DeleteCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { Clock } from './clock.ts';
import { iso } from './clock.ts';
import {
  conditionalWrite,
  type Db,
  isConditionFailure,
  itemOfConditionFailure,
  ttlSeconds,
} from './dynamo.ts';
import { LockHeldError } from './errors.ts';

export interface LockRequest {
  resource: string;
  owner: string;
  leaseMs: number;
  reason: string;
  /** A holder whose lease this one takes over, in the same conditional write. */
  replaces?: string;
}

export interface Lease {
  resource: string;
  owner: string;
  expiresAtMs: number;
}

export async function acquireLock(db: Db, table: string, clock: Clock, req: LockRequest): Promise<Lease> {
  const now = clock.now();
  const expiresAtMs = now + req.leaseMs;
  try {
    await db.send(
      new PutCommand({
        TableName: table,
        Item: {
          resource: req.resource,
          owner: req.owner,
          reason: req.reason,
          acquiredAt: iso(now),
          expiresAtMs,
          // TTL only cleans up; correctness comes from expiresAtMs in the condition.
          expiresAt: ttlSeconds(expiresAtMs) + 3600,
        },
        ConditionExpression: `attribute_not_exists(#r) OR expiresAtMs < :now OR #o = :owner${req.replaces ? ' OR #o = :replaces' : ''}`,
        ExpressionAttributeNames: { '#r': 'resource', '#o': 'owner' },
        ExpressionAttributeValues: {
          ':now': now,
          ':owner': req.owner,
          ...(req.replaces ? { ':replaces': req.replaces } : {}),
        },
      }),
    );
    return { resource: req.resource, owner: req.owner, expiresAtMs };
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
    // The lease as it was when the condition failed: the failed write returns it (ALL_OLD), and the
    // condition can only fail on an existing item. A read afterwards could find it released.
    const held = itemOfConditionFailure<{ owner?: string; expiresAtMs?: number }>(error);
    throw new LockHeldError(
      req.resource,
      String(held?.owner ?? 'unknown'),
      iso(Number(held?.expiresAtMs ?? now)),
    );
  }
}

/** Releases only our own lease; a lease that already passed to someone else is left alone. */
export async function releaseLock(
  db: Db,
  table: string,
  lease: Pick<Lease, 'resource' | 'owner'>,
): Promise<boolean> {
  return conditionalWrite(
    db,
    new DeleteCommand({
      TableName: table,
      Key: { resource: lease.resource },
      ConditionExpression: '#o = :owner',
      ExpressionAttributeNames: { '#o': 'owner' },
      ExpressionAttributeValues: { ':owner': lease.owner },
    }),
  );
}

export async function withLock<T>(
  db: Db,
  table: string,
  clock: Clock,
  req: LockRequest,
  fn: (lease: Lease) => Promise<T>,
): Promise<T> {
  const lease = await acquireLock(db, table, clock, req);
  try {
    return await fn(lease);
  } finally {
    await releaseLock(db, table, lease);
  }
}

/**
 * As withLock, but a held lease is waited for (jittered backoff, `attempts` tries, about 20 s at
 * most by default): for short read-modify-write sections where giving up would lose the work,
 * such as concurrent batches each adding replacement capacity to one group.
 */
export async function withLockWaiting<T>(
  db: Db,
  table: string,
  clock: Clock,
  req: LockRequest,
  fn: (lease: Lease) => Promise<T>,
  opts: { attempts?: number; sleep?: (ms: number) => Promise<void> } = {},
): Promise<T> {
  const attempts = opts.attempts ?? 30;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  for (let attempt = 1; ; attempt++) {
    let lease: Lease;
    try {
      lease = await acquireLock(db, table, clock, req);
    } catch (error) {
      if (!(error instanceof LockHeldError) || attempt >= attempts) throw error;
      await sleep(Math.min(1_000, 25 * 2 ** Math.min(attempt, 6)) * (0.5 + Math.random() / 2));
      continue;
    }
    let result: T;
    try {
      result = await fn(lease);
    } catch (error) {
      await releaseLock(db, table, lease).catch(() => false);
      throw error;
    }
    // The work is done: a release that fails leaves the lease to expire after leaseMs. Failing
    // here would have the caller redo work that was done (add the same capacity twice).
    await releaseLock(db, table, lease).catch(() => false);
    return result;
  }
}
