// Every bucket of the stack is made here, so that none can be created without encryption,
// TLS-only access, blocked public access, access logging and a lifecycle.
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';

export interface SecureBucketProps {
  /** A customer-managed key; without one, SSE-S3 (what ALB access logs and CloudFront OAC reads need). */
  readonly encryptionKey?: kms.IKey;
  readonly versioned: boolean;
  /** Where this bucket's server access logs go; absent only for the access-log bucket itself. */
  readonly accessLogs?: { readonly bucket: s3.IBucket; readonly prefix: string };
  readonly lifecycleRules: s3.LifecycleRule[];
  /** BUCKET_OWNER_PREFERRED where a service still delivers with ACLs (CloudFront standard logs). */
  readonly objectOwnership?: s3.ObjectOwnership;
  readonly removalPolicy?: RemovalPolicy;
}

export function secureBucket(scope: Construct, id: string, props: SecureBucketProps): s3.Bucket {
  const bucket = new s3.Bucket(scope, id, {
    ...(props.encryptionKey
      ? { encryption: s3.BucketEncryption.KMS, encryptionKey: props.encryptionKey, bucketKeyEnabled: true }
      : { encryption: s3.BucketEncryption.S3_MANAGED }),
    enforceSSL: true,
    minimumTLSVersion: 1.2,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    versioned: props.versioned,
    objectOwnership: props.objectOwnership ?? s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    ...(props.accessLogs
      ? { serverAccessLogsBucket: props.accessLogs.bucket, serverAccessLogsPrefix: props.accessLogs.prefix }
      : {}),
    lifecycleRules: [
      { id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: Duration.days(7) },
      ...props.lifecycleRules,
    ],
    removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
  });
  if (!props.accessLogs) {
    Validations.of(bucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'This is the access-log bucket: logging it into itself would log every log delivery.',
    });
  }
  return bucket;
}
