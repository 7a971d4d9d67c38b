// Small helpers the capability constructs share: a KMS-encrypted, TLS-only queue, and a stack
// output under a stable logical id (the ops CLI reads outputs by these keys).
import { CfnOutput, Duration } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';

/**
 * Batches of one event queue a function may work on at once (SQS MaximumConcurrency). Every
 * capability is idempotent and locked, so more would be safe; five bounds what a storm of events
 * takes from the account's Lambda concurrency and from the ECS and DynamoDB rate limits, and still
 * drains a 500-interruption storm (100 per batch) in one round. Reserved concurrency is not set:
 * Lambda keeps 100 of the account's concurrency unreserved, so an account still at a low limit
 * cannot reserve any, and the first deploy would fail.
 */
export const EVENT_SOURCE_MAX_CONCURRENCY = 5;

export function encryptedQueue(
  scope: Construct,
  id: string,
  key: kms.IKey,
  props: sqs.QueueProps = {},
): sqs.Queue {
  return new sqs.Queue(scope, id, {
    encryption: sqs.QueueEncryption.KMS,
    encryptionMasterKey: key,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
    ...props,
  });
}

export function stableOutput(scope: Construct, key: string, value: string, description: string): void {
  new CfnOutput(scope, key, { value, description }).overrideLogicalId(key);
}
