// Which integration a Task state's Resource names (Lambda, an AWS SDK call, an optimized
// integration, a nested execution), and the in-process handler a Lambda task is bound to.
import { randomUUID } from 'node:crypto';

import { type LambdaBinding, WorkflowHarnessError } from './workflow-types.ts';

// ---------------------------------------------------------------------------------------------
// Integrations

export interface SdkService {
  pkg: string;
  client: string;
  /** Step Functions' PascalCase service name in SDK-integration error names (Ecs.ServiceNotFoundException). */
  prefix: string;
}

// Service names as they appear in arn:aws:states:::aws-sdk:SERVICE:action.
export const SDK_SERVICES: Record<string, SdkService> = {
  ecs: { pkg: '@aws-sdk/client-ecs', client: 'ECSClient', prefix: 'Ecs' },
  elasticloadbalancingv2: {
    pkg: '@aws-sdk/client-elastic-load-balancing-v2',
    client: 'ElasticLoadBalancingV2Client',
    prefix: 'ElasticLoadBalancingV2',
  },
  dynamodb: { pkg: '@aws-sdk/client-dynamodb', client: 'DynamoDBClient', prefix: 'DynamoDb' },
  sns: { pkg: '@aws-sdk/client-sns', client: 'SNSClient', prefix: 'Sns' },
  sqs: { pkg: '@aws-sdk/client-sqs', client: 'SQSClient', prefix: 'Sqs' },
  sfn: { pkg: '@aws-sdk/client-sfn', client: 'SFNClient', prefix: 'Sfn' },
  cloudwatch: { pkg: '@aws-sdk/client-cloudwatch', client: 'CloudWatchClient', prefix: 'CloudWatch' },
  autoscaling: { pkg: '@aws-sdk/client-auto-scaling', client: 'AutoScalingClient', prefix: 'AutoScaling' },
  ec2: { pkg: '@aws-sdk/client-ec2', client: 'EC2Client', prefix: 'Ec2' },
  eventbridge: { pkg: '@aws-sdk/client-eventbridge', client: 'EventBridgeClient', prefix: 'EventBridge' },
  applicationautoscaling: {
    pkg: '@aws-sdk/client-application-auto-scaling',
    client: 'ApplicationAutoScalingClient',
    prefix: 'ApplicationAutoScaling',
  },
  lambda: { pkg: '@aws-sdk/client-lambda', client: 'LambdaClient', prefix: 'Lambda' },
};

export interface OptimizedIntegration {
  service: string;
  /** Error prefix and unmodeled-error name of the optimized integration (Java SDK v1 names). */
  prefix: string;
  unmodeled: string;
  serviceLabel: string;
  /** Parameters that may be given as JSON and are sent as JSON text. */
  jsonFields: (params: Record<string, unknown>) => void;
}

const noJsonFields = () => undefined;
const dynamoOptimized = {
  service: 'dynamodb',
  prefix: 'DynamoDB',
  unmodeled: 'AmazonDynamoDBException',
  serviceLabel: 'AmazonDynamoDBv2',
  jsonFields: noJsonFields,
};

export const OPTIMIZED: Record<string, OptimizedIntegration> = {
  'sns:publish': {
    service: 'sns',
    prefix: 'SNS',
    unmodeled: 'AmazonSNSException',
    serviceLabel: 'AmazonSNS',
    jsonFields: (p) => stringifyField(p, 'Message'),
  },
  'sqs:sendMessage': {
    service: 'sqs',
    prefix: 'SQS',
    unmodeled: 'AmazonSQSException',
    serviceLabel: 'AmazonSQS',
    jsonFields: (p) => stringifyField(p, 'MessageBody'),
  },
  'dynamodb:getItem': dynamoOptimized,
  'dynamodb:putItem': dynamoOptimized,
  'dynamodb:updateItem': dynamoOptimized,
  'dynamodb:deleteItem': dynamoOptimized,
  'events:putEvents': {
    service: 'eventbridge',
    prefix: 'EventBridge',
    unmodeled: 'AmazonEventBridgeException',
    serviceLabel: 'AmazonEventBridge',
    jsonFields: (p) => {
      for (const entry of Array.isArray(p.Entries) ? p.Entries : []) stringifyField(entry, 'Detail');
    },
  },
  'states:startExecution': {
    service: 'sfn',
    prefix: 'StepFunctions',
    unmodeled: 'AWSStepFunctionsException',
    serviceLabel: 'AWSStepFunctions',
    jsonFields: (p) => stringifyField(p, 'Input'),
  },
};

function stringifyField(params: unknown, field: string): void {
  if (params === null || typeof params !== 'object') return;
  const record = params as Record<string, unknown>;
  if (record[field] !== undefined && typeof record[field] !== 'string')
    record[field] = JSON.stringify(record[field]);
}

export type Integration =
  | { kind: 'lambda-invoke'; token: boolean }
  | { kind: 'lambda-arn'; functionRef: string }
  | { kind: 'sdk'; service: string; action: string; token: boolean }
  | { kind: 'optimized'; key: string; action: string; token: boolean }
  /** A nested execution; `.sync:2` returns its output as JSON, `.sync` as text. */
  | { kind: 'child'; outputAsJson: boolean };

export function parseResource(stateName: string, resource: string | undefined): Integration {
  if (!resource) throw new WorkflowHarnessError(`task "${stateName}" has no Resource`);
  const lambdaArn = /^arn:[^:]+:lambda:[^:]*:[^:]*:function:.+$/.exec(resource);
  if (lambdaArn) return { kind: 'lambda-arn', functionRef: resource };
  const states = /^arn:[^:]+:states:::(.+)$/.exec(resource);
  if (!states?.[1])
    throw new WorkflowHarnessError(`task "${stateName}": resource ${resource} is not supported locally`);
  let spec = states[1];
  let token = false;
  if (spec.endsWith('.waitForTaskToken')) {
    token = true;
    spec = spec.slice(0, -'.waitForTaskToken'.length);
  } else if (spec === 'states:startExecution.sync' || spec === 'states:startExecution.sync:2') {
    return { kind: 'child', outputAsJson: spec.endsWith(':2') };
  } else if (/\.sync(:\d+)?$/.test(spec)) {
    throw new WorkflowHarnessError(
      `task "${stateName}": the run-a-job pattern (${resource}) is not supported locally`,
    );
  }
  if (spec === 'lambda:invoke') return { kind: 'lambda-invoke', token };
  if (spec.startsWith('aws-sdk:')) {
    const [, service, action] = spec.split(':');
    if (!service || !action)
      throw new WorkflowHarnessError(`task "${stateName}": malformed resource ${resource}`);
    if (!SDK_SERVICES[service]) {
      throw new WorkflowHarnessError(
        `task "${stateName}": aws-sdk service "${service}" is not mapped to an SDK package (known: ${Object.keys(SDK_SERVICES).join(', ')})`,
      );
    }
    return { kind: 'sdk', service, action, token };
  }
  if (OPTIMIZED[spec]) return { kind: 'optimized', key: spec, action: spec.split(':')[1] as string, token };
  throw new WorkflowHarnessError(`task "${stateName}": integration ${resource} is not supported locally`);
}

/**
 * A synchronous lambda:invoke task's result as Step Functions writes it: the payload with
 * Lambda's HTTP metadata (about 800 bytes), all of which counts against the 256 KiB limit.
 */
export function invokeResult(payload: unknown, now: number): Record<string, unknown> {
  const requestId = randomUUID();
  const headers = {
    Connection: 'keep-alive',
    'Content-Length': String(Buffer.byteLength(JSON.stringify(payload ?? null))),
    'Content-Type': 'application/json',
    Date: new Date(now).toUTCString(),
    'X-Amz-Executed-Version': '$LATEST',
    'x-amzn-Remapped-Content-Length': '0',
    'x-amzn-RequestId': requestId,
    'X-Amzn-Trace-Id': `Root=1-${Math.floor(now / 1000).toString(16)}-${randomUUID().replaceAll('-', '').slice(0, 24)};Sampled=0`,
  };
  return {
    ExecutedVersion: '$LATEST',
    Payload: payload,
    SdkHttpMetadata: {
      AllHttpHeaders: Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, [value]])),
      HttpHeaders: headers,
      HttpStatusCode: 200,
    },
    SdkResponseMetadata: { RequestId: requestId },
    StatusCode: 200,
  };
}

// ---------------------------------------------------------------------------------------------
// Lambda bindings

function functionName(ref: string): string {
  const marker = ':function:';
  const at = ref.indexOf(marker);
  if (at >= 0) return ref.slice(at + marker.length).split(':')[0] as string;
  return ref.split(':')[0] as string;
}

export function findBinding(lambdas: Record<string, LambdaBinding>, ref: string): LambdaBinding | undefined {
  const exact = lambdas[ref];
  if (exact) return exact;
  const name = functionName(ref);
  const byName = Object.entries(lambdas).filter(([key]) => functionName(key) === name);
  if (byName.length > 1) {
    throw new WorkflowHarnessError(
      `function ${ref} matches several bindings: ${byName.map(([k]) => k).join(', ')}`,
    );
  }
  return byName[0]?.[1];
}
