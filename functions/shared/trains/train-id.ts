// A release train's record key, and the one read a rollout of the train makes of it (is the
// line still running?): apart from record.ts, so that a rollout's cold start does not load the
// train's transactions.
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { Db } from '../dynamo.ts';
import type { TrainRecord } from './record.ts';

export const TRAIN_RECORD_PREFIX = 'train/';
export const trainRecordId = (executionName: string): string => `${TRAIN_RECORD_PREFIX}${executionName}`;

export async function getTrainRecordById(
  db: Db,
  table: string,
  id: string,
): Promise<TrainRecord | undefined> {
  const out = await db.send(new GetCommand({ TableName: table, Key: { id }, ConsistentRead: true }));
  return out.Item as TrainRecord | undefined;
}
