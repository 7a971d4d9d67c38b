// What CloudFront needs from us-east-1: the WAF web ACL (AWS managed rule groups and a
// per-IP rate rule) and, with a domain, the viewer certificate (DNS-validated in the
// configured hosted zone).
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import type { EnvironmentConfig } from '../config.ts';

/** AWS managed rule groups, in evaluation order. SQLi: the application talks to MySQL. */
export const MANAGED_RULE_GROUPS = [
  'AWSManagedRulesAmazonIpReputationList',
  'AWSManagedRulesCommonRuleSet',
  'AWSManagedRulesKnownBadInputsRuleSet',
  'AWSManagedRulesSQLiRuleSet',
] as const;

export const RATE_RULE_NAME = 'rate-limit-per-ip';

export interface EdgeProtectionProps {
  readonly namePrefix: string;
  readonly rateLimit: number;
  readonly domain: EnvironmentConfig['domain'];
}

export class EdgeProtection extends Construct {
  readonly webAcl: wafv2.CfnWebACL;
  readonly certificate?: acm.Certificate;
  /** The host name viewers use, when a domain is configured. */
  readonly appDomainName?: string;

  constructor(scope: Construct, id: string, props: EdgeProtectionProps) {
    super(scope, id);
    const visibility = (metricName: string): wafv2.CfnWebACL.VisibilityConfigProperty => ({
      cloudWatchMetricsEnabled: true,
      sampledRequestsEnabled: true,
      metricName,
    });
    this.webAcl = new wafv2.CfnWebACL(this, 'WebAcl', {
      name: `${props.namePrefix}-edge`,
      description: 'CloudFront: AWS managed rule groups and a per-IP rate limit',
      scope: 'CLOUDFRONT',
      defaultAction: { allow: {} },
      visibilityConfig: visibility(`${props.namePrefix}-edge`),
      rules: [
        ...MANAGED_RULE_GROUPS.map(
          (name, priority): wafv2.CfnWebACL.RuleProperty => ({
            name,
            priority,
            overrideAction: { none: {} },
            statement: { managedRuleGroupStatement: { vendorName: 'AWS', name } },
            visibilityConfig: visibility(name),
          }),
        ),
        {
          name: RATE_RULE_NAME,
          priority: MANAGED_RULE_GROUPS.length,
          action: { block: {} },
          statement: {
            rateBasedStatement: { limit: props.rateLimit, aggregateKeyType: 'IP', evaluationWindowSec: 300 },
          },
          visibilityConfig: visibility(RATE_RULE_NAME),
        },
      ],
    });

    if (props.domain) {
      const zone = route53.HostedZone.fromHostedZoneAttributes(this, 'Zone', {
        hostedZoneId: props.domain.hostedZoneId,
        zoneName: props.domain.zoneName,
      });
      this.appDomainName = `${props.domain.appRecord}.${props.domain.zoneName}`;
      this.certificate = new acm.Certificate(this, 'ViewerCertificate', {
        domainName: this.appDomainName,
        validation: acm.CertificateValidation.fromDns(zone),
      });
    }
  }
}
