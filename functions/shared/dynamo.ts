import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { awsClient } from './clients.ts';

export type Db = DynamoDBDocumentClient;

let cached: { base: DynamoDBClient; doc: DynamoDBDocumentClient } | undefined;

/** The document client over the shared DynamoDB client (rebuilt when the endpoint changes). */
export function documentClient(): Db {
  const base = awsClient(DynamoDBClient);
  if (cached?.base !== base) {
    cached = {
      base,
      doc: DynamoDBDocumentClient.from(base, { marshallOptions: { removeUndefinedValues: true } }),
    };
  }
  return cached.doc;
}

export function isConditionFailure(error: unknown): boolean {
  return (error as { name?: string } | undefined)?.name === 'ConditionalCheckFailedException';
}

/** DynamoDB TTL wants epoch seconds. */
export const ttlSeconds = (ms: number): number => Math.floor(ms / 1000);
