// The per-service lease that a rollout holds from its start to its end (rollback window and
// blue's termination included). Scaling and remediation change the same service, so they
// take or check this same lease before acting: one resource name, one table, one rule.
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { Clock } from './clock.ts';
import { iso } from './clock.ts';
import type { Db } from './dynamo.ts';
import { LockHeldError } from './errors.ts';
import { acquireLock, type Lease, releaseLock } from './lock.ts';

/** The lock resource of an ECS service: `service/<cluster>/<service>`. */
export const serviceLockResource = (cluster: string, service: string): string =>
  `service/${cluster}/${service}`;

export interface ServiceLockHolder {
  resource: string;
  /** A rollout's owner is its execution ARN. */
  owner: string;
  reason: string;
  expiresAt: string;
}

/** Who holds the service's lease right now, if anyone (an expired lease counts as free). */
export async function serviceLockHolder(
  db: Db,
  table: string,
  clock: Clock,
  cluster: string,
  service: string,
): Promise<ServiceLockHolder | undefined> {
  const resource = serviceLockResource(cluster, service);
  const out = await db.send(new GetCommand({ TableName: table, Key: { resource }, ConsistentRead: true }));
  const item = out.Item;
  if (!item || Number(item.expiresAtMs ?? 0) < clock.now()) return undefined;
  return {
    resource,
    owner: String(item.owner),
    reason: String(item.reason ?? ''),
    expiresAt: iso(Number(item.expiresAtMs)),
  };
}

/**
 * For actions that must not run during a rollout (scaling, remediation): throws LockHeld,
 * naming the holder, when someone holds the service. A check, not a lease: actions that
 * change the service should take the lease with withServiceLock instead.
 */
export async function assertServiceNotLocked(
  db: Db,
  table: string,
  clock: Clock,
  cluster: string,
  service: string,
): Promise<void> {
  const holder = await serviceLockHolder(db, table, clock, cluster, service);
  if (holder) throw new LockHeldError(holder.resource, holder.owner, holder.expiresAt);
}

export interface ServiceLockRequest {
  cluster: string;
  service: string;
  owner: string;
  leaseMs: number;
  reason: string;
  /** A holder whose lease this one takes over (LockRequest.replaces). */
  replaces?: string;
}

export function acquireServiceLock(
  db: Db,
  table: string,
  clock: Clock,
  req: ServiceLockRequest,
): Promise<Lease> {
  return acquireLock(db, table, clock, {
    resource: serviceLockResource(req.cluster, req.service),
    owner: req.owner,
    leaseMs: req.leaseMs,
    reason: req.reason,
    ...(req.replaces ? { replaces: req.replaces } : {}),
  });
}

export function releaseServiceLock(
  db: Db,
  table: string,
  lease: { cluster: string; service: string; owner: string },
): Promise<boolean> {
  return releaseLock(db, table, {
    resource: serviceLockResource(lease.cluster, lease.service),
    owner: lease.owner,
  });
}

/** Runs `fn` holding the service's lease (scaling and remediation use this). */
export async function withServiceLock<T>(
  db: Db,
  table: string,
  clock: Clock,
  req: ServiceLockRequest,
  fn: (lease: Lease) => Promise<T>,
): Promise<T> {
  const lease = await acquireServiceLock(db, table, clock, req);
  try {
    return await fn(lease);
  } finally {
    await releaseLock(db, table, lease);
  }
}
