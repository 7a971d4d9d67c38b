// What the guardrails remember between executions, in the operations table: the recent scaling
// actions of each service (cooldowns, actions per hour) and which requests were already handled
// (an alarm event or a schedule delivered twice must scale once). Both are written only by the
// execution that holds the service's scaling lease, so a read-modify-write cannot lose an action.
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { claimForExecution, type ExecutionClaim } from '../shared/claims.ts';
import type { Clock } from '../shared/clock.ts';
import { type Db, ttlSeconds } from '../shared/dynamo.ts';
import type { PastAction } from './guardrails.ts';

const DAY = 24 * 3600_000;
/** Longest cooldown the config allows plus the rate window: older actions never matter. */
const KEEP_MS = DAY + 3600_000;
const MAX_KEPT = 500;

export const historyKey = (cluster: string, service: string) => `scaling-history#${cluster}/${service}`;
export const requestKey = (requestId: string) => `scale-request#${requestId}`;

export async function readHistory(
  db: Db,
  table: string,
  cluster: string,
  service: string,
): Promise<PastAction[]> {
  const out = await db.send(
    new GetCommand({ TableName: table, Key: { id: historyKey(cluster, service) }, ConsistentRead: true }),
  );
  return ((out.Item?.actions as PastAction[] | undefined) ?? []).map((a) => ({ ...a, at: Number(a.at) }));
}

/** Adds one action (replacing an earlier record of the same execution: a retried step adds nothing). */
export async function recordAction(
  db: Db,
  table: string,
  clock: Clock,
  cluster: string,
  service: string,
  action: PastAction,
): Promise<void> {
  const now = clock.now();
  const kept = (await readHistory(db, table, cluster, service))
    .filter((a) => a.executionId !== action.executionId && a.at > now - KEEP_MS)
    .concat(action)
    .sort((a, b) => a.at - b.at)
    .slice(-MAX_KEPT);
  await db.send(
    new PutCommand({
      TableName: table,
      Item: { id: historyKey(cluster, service), actions: kept, expiresAt: ttlSeconds(now + KEEP_MS) },
    }),
  );
}

/** Marks the request as handled by this execution; a retry by the same execution claims it again. */
export function claimRequest(
  db: Db,
  table: string,
  clock: Clock,
  requestId: string,
  executionId: string,
): Promise<ExecutionClaim> {
  return claimForExecution(db, table, clock, {
    id: requestKey(requestId),
    execution: executionId,
    holderAttribute: 'executionId',
    ttlMs: 7 * DAY,
  });
}
