import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  type DeleteCommand,
  DynamoDBDocumentClient,
  type PutCommand,
  type UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { awsClient, ownClient } from './clients.ts';
import { markOwnWrite, ownWriteOutput } from './own-writes.ts';

export { itemOfConditionFailure } from './own-writes.ts';

export type Db = DynamoDBDocumentClient;

let cached: { base: DynamoDBClient; doc: DynamoDBDocumentClient } | undefined;

/** The document client (rebuilt when the endpoint changes); its conditional writes know their own. */
export function documentClient(): Db {
  // The shared client only tells when the endpoint changed; the document client has its own, so
  // that the own-write marks apply to document commands only.
  const base = awsClient(DynamoDBClient);
  if (cached?.base !== base) {
    const own = ownClient(DynamoDBClient);
    recognizeOwnWrites(own);
    cached = {
      base,
      doc: DynamoDBDocumentClient.from(own, { marshallOptions: { removeUndefinedValues: true } }),
    };
  }
  return cached.doc;
}

/**
 * A write whose answer is lost is retried by the SDK: a conditional one then fails its condition
 * because the first attempt applied, and an ADD would add twice. Each conditional Put, and each
 * Update that is conditional or ADDs, is marked with a fresh id and guarded against applying twice
 * (see own-writes.ts); a failed condition on an item that carries our id is answered as the
 * success it was. Runs once per call (initialize step), outside the SDK's retries.
 */
function recognizeOwnWrites(client: DynamoDBClient): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const marked = markOwnWrite(
        context.commandName ?? '',
        args.input as Record<string, unknown>,
        randomUUID(),
      );
      if (!marked) return next(args);
      try {
        return await next({ ...args, input: marked.input });
      } catch (error) {
        const output = ownWriteOutput(marked, error);
        if (!output) throw error;
        return { output: { $metadata: {}, ...output } as never, response: {} };
      }
    },
    { step: 'initialize', name: 'recognizeOwnWrites' },
  );
}

export function isConditionFailure(error: unknown): boolean {
  return (error as { name?: string } | undefined)?.name === 'ConditionalCheckFailedException';
}

/** DynamoDB TTL wants epoch seconds. */
export const ttlSeconds = (ms: number): number => Math.floor(ms / 1000);

/**
 * Sends a conditional write: true when it applied, false when its condition failed (the state it
 * guards against stands). Any other error is thrown.
 */
export async function conditionalWrite(
  db: Db,
  command: PutCommand | UpdateCommand | DeleteCommand,
): Promise<boolean> {
  try {
    await db.send(command as UpdateCommand);
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
}
