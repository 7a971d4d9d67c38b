// A piece of work claimed by one workflow execution, in the operations table: the first execution
// to claim it holds it, the same execution retrying a step claims it again, and any other learns
// who holds it and since when.
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { type Clock, iso } from './clock.ts';
import { type Db, isConditionFailure, ttlSeconds } from './dynamo.ts';

export type ExecutionClaim = { claimed: true } | { claimed: false; holder: string; at: string };

export interface ClaimRequest {
  /** The claim's item id. */
  id: string;
  /** The claiming execution's id. */
  execution: string;
  /** The attribute the holder is kept in (as each kind of claim was first written). */
  holderAttribute: string;
  /** How long the claim is kept. */
  ttlMs: number;
}

export async function claimForExecution(
  db: Db,
  table: string,
  clock: Clock,
  claim: ClaimRequest,
): Promise<ExecutionClaim> {
  const now = clock.now();
  try {
    await db.send(
      new PutCommand({
        TableName: table,
        Item: {
          id: claim.id,
          [claim.holderAttribute]: claim.execution,
          at: iso(now),
          expiresAt: ttlSeconds(now + claim.ttlMs),
        },
        ConditionExpression: 'attribute_not_exists(id) OR #holder = :me',
        ExpressionAttributeNames: { '#holder': claim.holderAttribute },
        ExpressionAttributeValues: { ':me': claim.execution },
      }),
    );
    return { claimed: true };
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
    const held = await db.send(
      new GetCommand({ TableName: table, Key: { id: claim.id }, ConsistentRead: true }),
    );
    return {
      claimed: false,
      holder: String(held.Item?.[claim.holderAttribute] ?? 'another execution'),
      at: String(held.Item?.at ?? ''),
    };
  }
}
