// CloudFront in front of everything viewers see: static assets from S3 through origin
// access control, the API (/api/*, when the environment has one) from the HTTP API with the
// origin-verify header its authorizer requires (infra/application/http-api.ts), everything else from the
// internal ALB through a CloudFront VPC origin (the ALB has no public address at all). WAF from
// us-east-1 on all of it, standard logs to the log bucket, and with a domain: the viewer
// certificate and Route 53 alias records.
import { Duration, Validations } from 'aws-cdk-lib';
import type * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import type * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as targets from 'aws-cdk-lib/aws-route53-targets';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { ORIGIN_VERIFY_HEADER } from '../../functions/origin-verify/config.ts';
import type { EnvironmentConfig } from '../config.ts';
import { secureBucket } from '../shared/secure-bucket.ts';

/** Paths served from the static-assets bucket; the rest goes to the application. */
export const STATIC_PATH_PATTERN = '/static/*';
/** Paths served by the HTTP API (API Gateway), passed on unchanged: the application sees /api/... */
export const API_PATH_PATTERN = '/api/*';

export interface CdnProps {
  readonly namePrefix: string;
  readonly loadBalancer: elbv2.IApplicationLoadBalancer;
  /** Listener the VPC origin connects to, and whether it speaks HTTPS. */
  readonly origin: { readonly port: number; readonly tls: boolean; readonly domainName?: string };
  /** The HTTP API, when the environment has one: served under API_PATH_PATTERN. */
  readonly api?: {
    /** <id>.execute-api.<region>.<suffix> */
    readonly domainName: string;
    /** What CloudFront sends in the x-origin-verify header. */
    readonly originVerifySecret: secretsmanager.ISecret;
  };
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

    const apiBehavior: cloudfront.BehaviorOptions | undefined = props.api && {
      origin: new origins.HttpOrigin(props.api.domainName, {
        protocolPolicy: cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
        originSslProtocols: [cloudfront.OriginSslPolicy.TLS_V1_2],
        // The authorizer lets only this value through. A dynamic reference: CloudFormation puts the
        // secret's value into the distribution when it deploys it; the template holds no value.
        customHeaders: { [ORIGIN_VERIFY_HEADER]: props.api.originVerifySecret.secretValue.unsafeUnwrap() },
        // API Gateway gives up on an integration after 30 s.
        readTimeout: Duration.seconds(30),
      }),
      viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
      allowedMethods: cloudfront.AllowedMethods.ALLOW_ALL,
      cachePolicy: cloudfront.CachePolicy.CACHING_DISABLED,
      // Host stays the API's own name (API Gateway routes on it); a viewer's x-origin-verify is
      // replaced by the origin's custom header of the same name.
      originRequestPolicy: cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
      compress: true,
    };

    this.appDomainName = props.domain ? `${props.domain.appRecord}.${props.domain.zoneName}` : undefined;
    this.distribution = new cloudfront.Distribution(this, 'Distribution', {
      comment: `${props.namePrefix}: application, ${props.api ? 'API, ' : ''}static assets`,
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
        ...(apiBehavior ? { [API_PATH_PATTERN]: apiBehavior } : {}),
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
