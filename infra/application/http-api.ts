// API Gateway (HTTP API) in front of the private load balancer through a VPC link: the
// application's API, served to viewers under CloudFront's /api/* (infra/application/cdn.ts) and so behind its
// WAF. The API's own endpoint is public, so every route has a Lambda REQUEST authorizer that lets
// a request through only with the x-origin-verify value CloudFront adds from a secret generated
// here ("origin verify"): called directly, the API answers 401 (no header) or 403 (a wrong one).
// Throttled, with JSON access logs kept for the configured retention.
import { Aws, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaAuthorizer, HttpLambdaResponseType } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpAlbIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import {
  DEFAULT_SECRET_CACHE_SECONDS,
  ORIGIN_VERIFY_HEADER,
  type OriginVerifyEnvInput,
} from '../../functions/origin-verify/config.ts';
import { BundledFunction, lambdaEnvironment } from '../control-plane/shared/bundled-function.ts';

/** How long API Gateway keeps an authorizer answer per header value. */
export const AUTHORIZER_CACHE_TTL = Duration.minutes(5);
/** Letters and digits only: a header value needs no escaping anywhere on the way. */
export const ORIGIN_VERIFY_SECRET_LENGTH = 48;

export interface HttpApiProps {
  readonly apiName: string;
  readonly vpc: ec2.IVpc;
  readonly subnets: ec2.SubnetSelection;
  readonly securityGroup: ec2.ISecurityGroup;
  readonly listener: elbv2.IApplicationListener;
  /** With HTTPS listeners: the name on the ALB's certificate, which API Gateway verifies. */
  readonly serverName?: string;
  readonly logRetention: logs.RetentionDays;
  /** Override of dist/functions for the authorizer's bundle. */
  readonly assetRoot?: string;
}

export class HttpApi extends Construct {
  readonly api: apigwv2.HttpApi;
  readonly vpcLink: apigwv2.VpcLink;
  readonly stage: apigwv2.HttpStage;
  readonly accessLogs: logs.LogGroup;
  /** The value CloudFront sends in the x-origin-verify header, and the authorizer expects. */
  readonly originVerifySecret: secretsmanager.Secret;
  readonly authorizerFunction: BundledFunction;
  /** The API's own host name (<id>.execute-api.<region>.<suffix>), CloudFront's origin. */
  readonly domainName: string;

  constructor(scope: Construct, id: string, props: HttpApiProps) {
    super(scope, id);
    this.vpcLink = new apigwv2.VpcLink(this, 'VpcLink', {
      vpc: props.vpc,
      subnets: props.subnets,
      securityGroups: [props.securityGroup],
    });

    this.originVerifySecret = new secretsmanager.Secret(this, 'OriginVerifySecret', {
      description: `${props.apiName}: the ${ORIGIN_VERIFY_HEADER} header value CloudFront sends to the API`,
      generateSecretString: { passwordLength: ORIGIN_VERIFY_SECRET_LENGTH, excludePunctuation: true },
    });
    Validations.of(this.originVerifySecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'CloudFront reads the value into its origin header when CloudFormation deploys the distribution (a dynamic reference); a scheduled rotation would change the value the authorizer expects without CloudFront sending it, refusing every API request until the edge stack is deployed again. Changing it is a deploy step.',
    });

    const environment: OriginVerifyEnvInput = {
      ORIGIN_VERIFY_SECRET_ARN: this.originVerifySecret.secretArn,
      ORIGIN_VERIFY_CACHE_SECONDS: DEFAULT_SECRET_CACHE_SECONDS,
    };
    this.authorizerFunction = new BundledFunction(this, 'OriginVerify', {
      name: 'origin-verify',
      description: `Authorizer of ${props.apiName}: lets through requests that came through CloudFront`,
      memorySize: 256,
      timeout: Duration.seconds(10),
      environment: lambdaEnvironment(environment),
      logRetention: props.logRetention,
      synchronousOnly: {
        reason:
          'Only API Gateway invokes this authorizer (its resource policy names the API), and always synchronously: it waits for the answer, so there is no asynchronous invocation to dead-letter.',
      },
      assetRoot: props.assetRoot,
    });
    // GetSecretValue on this one secret and nothing else (no DescribeSecret, which grantRead adds).
    // The secret is encrypted with the account's aws/secretsmanager key: no key grant is needed.
    this.authorizerFunction.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ReadTheOriginVerifySecret',
        actions: ['secretsmanager:GetSecretValue'],
        resources: [this.originVerifySecret.secretArn],
      }),
    );
    Validations.of(this.authorizerFunction.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'xray:PutTraceSegments/PutTelemetryRecords support no resource-level permissions.',
    });

    const authorizer = new HttpLambdaAuthorizer('OriginVerify', this.authorizerFunction.function, {
      authorizerName: 'origin-verify',
      responseTypes: [HttpLambdaResponseType.SIMPLE],
      identitySource: [`$request.header.${ORIGIN_VERIFY_HEADER}`],
      resultsCacheTtl: AUTHORIZER_CACHE_TTL,
    });
    this.api = new apigwv2.HttpApi(this, 'Api', {
      apiName: props.apiName,
      description:
        'Application API through a VPC link to the internal load balancer; reached through CloudFront (/api/*), which adds the origin-verify header every route requires',
      createDefaultStage: false,
      defaultAuthorizer: authorizer,
      defaultIntegration: new HttpAlbIntegration('Alb', props.listener, {
        vpcLink: this.vpcLink,
        ...(props.serverName ? { secureServerName: props.serverName } : {}),
      }),
    });
    this.domainName = `${this.api.apiId}.execute-api.${Stack.of(this).region}.${Aws.URL_SUFFIX}`;
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
  }
}
