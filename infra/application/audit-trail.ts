// CloudTrail: management events of every region into a versioned bucket (log file
// validation on), encrypted with a customer-managed key, and into CloudWatch Logs, both with
// retention.
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudtrail from 'aws-cdk-lib/aws-cloudtrail';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { secureBucket } from '../shared/secure-bucket.ts';

export interface AuditTrailProps {
  readonly trailName: string;
  readonly accessLogs: s3.IBucket;
  readonly logRetention: logs.RetentionDays;
  /** Trail files are evidence: kept longer than the operational logs. */
  readonly retainDays: number;
}

export class AuditTrail extends Construct {
  readonly trail: cloudtrail.Trail;
  readonly bucket: s3.Bucket;
  readonly logGroup: logs.LogGroup;
  /** Encrypts the trail's log files (SSE-KMS); readers need kms:Decrypt on it. */
  readonly key: kms.Key;

  constructor(scope: Construct, id: string, props: AuditTrailProps) {
    super(scope, id);
    this.bucket = secureBucket(this, 'Bucket', {
      versioned: true,
      accessLogs: { bucket: props.accessLogs, prefix: 's3/cloudtrail/' },
      lifecycleRules: [
        {
          id: 'archive-then-expire',
          transitions: [
            { storageClass: s3.StorageClass.GLACIER_INSTANT_RETRIEVAL, transitionAfter: Duration.days(90) },
          ],
          expiration: Duration.days(props.retainDays),
          noncurrentVersionExpiration: Duration.days(30),
        },
      ],
    });
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // The key policy lets CloudTrail encrypt for this trail only (its ARN and encryption
    // context), as the CloudTrail documentation gives it; the account's principals decrypt
    // through IAM (the default key policy).
    const stack = Stack.of(this);
    const trailArn = stack.formatArn({
      service: 'cloudtrail',
      resource: 'trail',
      resourceName: props.trailName,
    });
    const cloudTrailService = new iam.ServicePrincipal('cloudtrail.amazonaws.com');
    this.key = new kms.Key(this, 'Key', {
      description: `${props.trailName}: CloudTrail log files`,
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudTrailEncryptsThisTrail',
        principals: [cloudTrailService],
        actions: ['kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: {
          StringEquals: { 'aws:SourceArn': trailArn },
          StringLike: {
            'kms:EncryptionContext:aws:cloudtrail:arn': stack.formatArn({
              service: 'cloudtrail',
              region: '*',
              resource: 'trail',
              resourceName: '*',
            }),
          },
        },
      }),
    );
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudTrailDescribesTheKey',
        principals: [cloudTrailService],
        actions: ['kms:DescribeKey'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceArn': trailArn } },
      }),
    );
    this.trail = new cloudtrail.Trail(this, 'Trail', {
      trailName: props.trailName,
      encryptionKey: this.key,
      bucket: this.bucket,
      isMultiRegionTrail: true,
      includeGlobalServiceEvents: true,
      enableFileValidation: true,
      sendToCloudWatchLogs: true,
      cloudWatchLogGroup: this.logGroup,
      managementEvents: cloudtrail.ReadWriteType.ALL,
    });
  }
}
