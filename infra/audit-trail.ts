// CloudTrail: management events of every region into a versioned bucket (log file
// validation on) and into CloudWatch Logs, both with retention.
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as cloudtrail from 'aws-cdk-lib/aws-cloudtrail';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { secureBucket } from './secure-bucket.ts';

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
    this.trail = new cloudtrail.Trail(this, 'Trail', {
      trailName: props.trailName,
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
