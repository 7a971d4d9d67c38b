// CloudFront in front of everything viewers see: static assets from S3 through origin
// access control, everything else from the internal ALB through a CloudFront VPC origin
// (the ALB has no public address at all). WAF from us-east-1, standard logs to the log
// bucket, and with a domain: the viewer certificate and Route 53 alias records.
import { Duration, Validations } from 'aws-cdk-lib';
import type * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import type * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as targets from 'aws-cdk-lib/aws-route53-targets';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type { EnvironmentConfig } from './config.ts';
import { secureBucket } from './secure-bucket.ts';

/** Paths served from the static-assets bucket; the rest goes to the application. */
export const STATIC_PATH_PATTERN = '/static/*';

export interface CdnProps {
  readonly namePrefix: string;
  readonly loadBalancer: elbv2.IApplicationLoadBalancer;
  /** Listener the VPC origin connects to, and whether it speaks HTTPS. */
  readonly origin: { readonly port: number; readonly tls: boolean; readonly domainName?: string };
  readonly webAclArn: string;
  readonly domain: EnvironmentConfig['domain'];
  readonly certificate?: acm.ICertificate;
  readonly accessLogs: s3.IBucket;
}

export class Cdn extends Construct {
  readonly distribution: cloudfront.Distribution;
  readonly staticAssets: s3.Bucket;
  readonly appDomainName?: string;

  constructor(scope: Construct, id: string, props: CdnProps) {
    super(scope, id);
    this.staticAssets = secureBucket(this, 'StaticAssets', {
      versioned: true,
      accessLogs: { bucket: props.accessLogs, prefix: 's3/static-assets/' },
      lifecycleRules: [{ id: 'expire-replaced-assets', noncurrentVersionExpiration: Duration.days(30) }],
    });

    const appOrigin = origins.VpcOrigin.withApplicationLoadBalancer(props.loadBalancer, {
      vpcOriginName: `${props.namePrefix}-alb`,
      ...(props.origin.tls
        ? {
            protocolPolicy: cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
            httpsPort: props.origin.port,
            originSslProtocols: [cloudfront.OriginSslPolicy.TLS_V1_2],
            // CloudFront checks the ALB certificate against this name (Host is not forwarded).
            ...(props.origin.domainName ? { domainName: props.origin.domainName } : {}),
          }
        : { protocolPolicy: cloudfront.OriginProtocolPolicy.HTTP_ONLY, httpPort: props.origin.port }),
      readTimeout: Duration.seconds(30),
    });

    this.appDomainName = props.domain ? `${props.domain.appRecord}.${props.domain.zoneName}` : undefined;
    this.distribution = new cloudfront.Distribution(this, 'Distribution', {
      comment: `${props.namePrefix}: application and static assets`,
      defaultBehavior: {
        origin: appOrigin,
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        allowedMethods: cloudfront.AllowedMethods.ALLOW_ALL,
        cachePolicy: cloudfront.CachePolicy.CACHING_DISABLED,
        originRequestPolicy: cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
        compress: true,
      },
      additionalBehaviors: {
        [STATIC_PATH_PATTERN]: {
          origin: origins.S3BucketOrigin.withOriginAccessControl(this.staticAssets),
          viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
          cachePolicy: cloudfront.CachePolicy.CACHING_OPTIMIZED,
          compress: true,
        },
      },
      webAclId: props.webAclArn,
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      priceClass: cloudfront.PriceClass.PRICE_CLASS_100,
      enableLogging: true,
      logBucket: props.accessLogs,
      logFilePrefix: 'cloudfront/',
      ...(props.certificate && this.appDomainName
        ? {
            certificate: props.certificate,
            domainNames: [this.appDomainName],
            minimumProtocolVersion: cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021,
          }
        : {}),
    });

    Validations.of(this.distribution).acknowledge({
      id: 'AwsSolutions-CFR1',
      reason:
        'The application serves every country; the WAF rate rule and managed rule groups carry the abuse protection.',
    });
    if (!props.certificate) {
      Validations.of(this.distribution).acknowledge({
        id: 'AwsSolutions-CFR4',
        reason:
          'No domain is configured (domain: null), so viewers get the *.cloudfront.net certificate, whose TLS policy CloudFront fixes; with a domain the distribution uses TLSv1.2_2021.',
      });
    }
    if (!props.origin.tls) {
      Validations.of(this.distribution).acknowledge({
        id: 'AwsSolutions-CFR5',
        reason:
          'Without a domain the ALB has no certificate: CloudFront reaches it over HTTP through the VPC origin, inside the VPC, never over the internet.',
      });
    }

    if (props.domain && this.appDomainName) {
      const zone = route53.HostedZone.fromHostedZoneAttributes(this, 'Zone', {
        hostedZoneId: props.domain.hostedZoneId,
        zoneName: props.domain.zoneName,
      });
      const target = route53.RecordTarget.fromAlias(new targets.CloudFrontTarget(this.distribution));
      new route53.ARecord(this, 'AppRecord', { zone, recordName: this.appDomainName, target });
      new route53.AaaaRecord(this, 'AppRecordIpv6', { zone, recordName: this.appDomainName, target });
    }
  }
}
