// API Gateway (HTTP API) in front of the private load balancer through a VPC link: the
// application's API for clients that do not go through CloudFront. Throttled, with JSON
// access logs kept for the configured retention.
import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpAlbIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

export interface HttpApiProps {
  readonly apiName: string;
  readonly vpc: ec2.IVpc;
  readonly subnets: ec2.SubnetSelection;
  readonly securityGroup: ec2.ISecurityGroup;
  readonly listener: elbv2.IApplicationListener;
  /** With HTTPS listeners: the name on the ALB's certificate, which API Gateway verifies. */
  readonly serverName?: string;
  readonly logRetention: logs.RetentionDays;
}

export class HttpApi extends Construct {
  readonly api: apigwv2.HttpApi;
  readonly vpcLink: apigwv2.VpcLink;
  readonly stage: apigwv2.HttpStage;
  readonly accessLogs: logs.LogGroup;

  constructor(scope: Construct, id: string, props: HttpApiProps) {
    super(scope, id);
    this.vpcLink = new apigwv2.VpcLink(this, 'VpcLink', {
      vpc: props.vpc,
      subnets: props.subnets,
      securityGroups: [props.securityGroup],
    });
    this.api = new apigwv2.HttpApi(this, 'Api', {
      apiName: props.apiName,
      description: 'Application API through a VPC link to the internal load balancer',
      createDefaultStage: false,
      defaultIntegration: new HttpAlbIntegration('Alb', props.listener, {
        vpcLink: this.vpcLink,
        ...(props.serverName ? { secureServerName: props.serverName } : {}),
      }),
    });
    this.accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stage = new apigwv2.HttpStage(this, 'DefaultStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: 1000, burstLimit: 2000 },
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(this.accessLogs),
        format: apigateway.AccessLogFormat.jsonWithStandardFields(),
      },
    });
    Validations.of(this.api).acknowledge({
      id: 'AwsSolutions-APIG4',
      reason:
        'The application authenticates its own users (sessions, tokens); an API Gateway authorizer would duplicate it for a placeholder application.',
    });
  }
}
