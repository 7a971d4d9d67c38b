// Functions that CDK adds by itself (the AwsCustomResource provider, the VPC default
// security group restriction): one log group with retention for the provider, and the
// cdk-nag findings on code we do not write, acknowledged in one place with the reason.
import { RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import { AwsCustomResource } from 'aws-cdk-lib/custom-resources';
import type { Construct, IConstruct } from 'constructs';

const LOG_GROUP_ID = 'DeployTimeCallsLogs';

/**
 * The log group of the stack's AwsCustomResource provider. CDK creates one provider function
 * per stack and takes its settings from the first AwsCustomResource, so every one must pass
 * the same log group.
 */
export function deployTimeCallLogGroup(scope: Construct, retention: logs.RetentionDays): logs.ILogGroup {
  const stack = Stack.of(scope);
  const existing = stack.node.tryFindChild(LOG_GROUP_ID) as logs.LogGroup | undefined;
  return (
    existing ??
    new logs.LogGroup(stack, LOG_GROUP_ID, {
      retention,
      removalPolicy: RemovalPolicy.DESTROY,
    })
  );
}

/** Construct ids CDK gives its own provider functions and their roles. */
const PROVIDER_IDS = [
  `AWS${AwsCustomResource.PROVIDER_FUNCTION_UUID.replace(/-/g, '')}`,
  'CustomVpcRestrictDefaultSGCustomResourceProvider',
];

const REASON = 'CDK-provided deploy-time function, invoked only by CloudFormation during deployments';

/** Call at the end of a stack's constructor, after every construct that may add a provider. */
export function acknowledgeCdkProvidedFunctions(stack: Stack): void {
  for (const provider of providers(stack)) {
    Validations.of(provider).acknowledge(
      {
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        reason: `${REASON}: CDK attaches the AWS basic execution policy to its role.`,
      },
      { id: 'AwsSolutions-L1', reason: `${REASON}: CDK pins the runtime it was tested with.` },
      {
        id: 'Serverless-LambdaDLQ',
        reason: `${REASON}: CloudFormation waits for its answer; there is no async path.`,
      },
      {
        id: 'Serverless-LambdaAsyncFailureDestination',
        reason: `${REASON}: CloudFormation waits for its answer; there is no async path.`,
      },
      { id: 'Serverless-LambdaTracing', reason: `${REASON}: a handful of calls per deployment.` },
      { id: 'Serverless-LambdaDefaultMemorySize', reason: `${REASON}: CDK sizes it.` },
      { id: 'Serverless-LambdaLatestVersion', reason: `${REASON}: CDK pins the runtime it was tested with.` },
    );
  }
}

function providers(stack: Stack): IConstruct[] {
  return PROVIDER_IDS.map((id) => stack.node.tryFindChild(id)).filter(
    (c): c is IConstruct => c !== undefined,
  );
}
