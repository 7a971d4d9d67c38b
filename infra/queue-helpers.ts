// Small helpers the capability constructs share: a KMS-encrypted, TLS-only queue, and a stack
// output under a stable logical id (the ops CLI reads outputs by these keys).
import { CfnOutput, Duration } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';

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
