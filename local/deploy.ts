// Deploys the parts of a synthesized control-plane template that the emulator can hold
// (tables, queues, topics, subscriptions, rules and targets, state machines) and records
// every resource's physical name and ARN, so that Lambda environments and state machine
// definitions resolve exactly as CloudFormation would resolve them. Resources with no
// local meaning (IAM, KMS, log groups, the Lambda functions themselves, which run
// in-process) get stable placeholder names and ARNs.
import { CreateTableCommand, DynamoDBClient, UpdateTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import { CreateStateMachineCommand, SFNClient } from '@aws-sdk/client-sfn';
import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { awsClient } from '../functions/shared/clients.ts';
import { EMULATOR_ACCOUNT_ID, EMULATOR_REGION } from './emulator.ts';
import { plannedAttrs, principalIn } from './iam.ts';
import { type DeploymentIam, registerDeployment } from './iam-enforcement.ts';
import { type Attrs, type ResolveContext, resolveTokens } from './template.ts';

export interface CfnTemplate {
  Resources: Record<
    string,
    { Type: string; Properties?: Record<string, unknown>; Metadata?: Record<string, unknown> }
  >;
  Outputs?: Record<string, { Value: unknown; Description?: string }>;
}

export interface DeployedFunction {
  logicalId: string;
  /** The bundle name under functions/ (from POWERTOOLS_SERVICE_NAME). */
  name: string;
  arn: string;
  environment: Record<string, string>;
}

export interface EventSourceMapping {
  functionName: string;
  /** The function's ARN: Lambda's poller reads the queue with the function's role. */
  functionArn: string;
  queueUrl: string;
  queueArn: string;
  batchSize: number;
  reportBatchItemFailures: boolean;
  /** ScalingConfig.MaximumConcurrency, when the mapping sets one. */
  maximumConcurrency?: number;
}

export interface DeployedStack {
  stackName: string;
  region: string;
  accountId: string;
  resources: Record<string, Attrs>;
  functions: Record<string, DeployedFunction>;
  stateMachines: Record<
    string,
    { logicalId: string; arn: string; name: string; definition: Record<string, unknown> }
  >;
  eventSourceMappings: EventSourceMapping[];
  outputs: Record<string, string>;
  /** Roles, keys and resource policies for IAM evaluation; registered again by a process that loads the stack. */
  iam: DeploymentIam;
}

/** The CDK construct path of a resource, without the stack prefix and the trailing /Resource. */
export function constructPath(resource: { Metadata?: Record<string, unknown> }): string | undefined {
  const path = resource.Metadata?.['aws:cdk:path'];
  if (typeof path !== 'string') return undefined;
  return path
    .split('/')
    .slice(1)
    .join('/')
    .replace(/\/Resource$/, '');
}

/** Resources the emulator does not hold that IAM evaluation needs real names and ARNs for. */
const PLANNED = new Set(['AWS::IAM::Role', 'AWS::IAM::ManagedPolicy', 'AWS::KMS::Key']);

const HANDLED = new Set([
  'AWS::DynamoDB::Table',
  'AWS::SQS::Queue',
  'AWS::SNS::Topic',
  'AWS::SNS::Subscription',
  'AWS::Events::Rule',
  'AWS::StepFunctions::StateMachine',
  'AWS::Lambda::Function',
  'AWS::Lambda::EventSourceMapping',
]);

export async function deployTemplate(stackName: string, template: CfnTemplate): Promise<DeployedStack> {
  const region = EMULATOR_REGION;
  const accountId = EMULATOR_ACCOUNT_ID;
  const resources: Record<string, Attrs> = {};
  const ctx: ResolveContext = {
    resources,
    region,
    accountId,
    partition: 'aws',
    stackName,
    urlSuffix: 'amazonaws.com',
  };
  const deployed: DeployedStack = {
    stackName,
    region,
    accountId,
    resources,
    functions: {},
    stateMachines: {},
    eventSourceMappings: [],
    outputs: {},
    iam: { callers: {}, keys: {}, resourcePolicies: {}, region },
  };

  // Placeholders first: anything we do not deploy still resolves to a stable name and ARN, and
  // roles and keys to the ARNs CloudFormation would give them (policies name them).
  for (const [id, r] of Object.entries(template.Resources)) {
    if (HANDLED.has(r.Type)) continue;
    resources[id] = PLANNED.has(r.Type)
      ? plannedAttrs({ stackName, region, accountId }, id, r.Type, r.Properties ?? {})
      : placeholder(id, r.Type, region, accountId);
  }
  for (const [id, r] of Object.entries(template.Resources)) {
    if (r.Type !== 'AWS::Lambda::Function') continue;
    const name = physicalName(stackName, id, 64);
    const arn = `arn:aws:lambda:${region}:${accountId}:function:${name}`;
    resources[id] = { ref: name, Arn: arn };
  }

  // Resources refer to each other (a queue to its DLQ, a rule to a queue): deploy in passes.
  let pending = Object.entries(template.Resources).filter(
    ([id, r]) => HANDLED.has(r.Type) && r.Type !== 'AWS::Lambda::Function' && !(id in resources),
  );
  while (pending.length > 0) {
    const next: typeof pending = [];
    let lastError: unknown;
    for (const [id, r] of pending) {
      try {
        await deployResource(deployed, ctx, id, r);
      } catch (error) {
        if (!(error instanceof UnresolvedReference)) throw error;
        lastError = error;
        next.push([id, r]);
      }
    }
    if (next.length === pending.length) {
      throw new Error(`cannot deploy ${next.map(([id]) => id).join(', ')}: ${(lastError as Error).message}`);
    }
    pending = next;
  }

  for (const [id, r] of Object.entries(template.Resources)) {
    if (r.Type !== 'AWS::Lambda::Function') continue;
    const env = resolve(
      ctx,
      (r.Properties?.Environment as { Variables?: Record<string, unknown> })?.Variables ?? {},
    );
    const variables = Object.fromEntries(
      Object.entries(env as Record<string, unknown>).map(([k, v]) => [k, String(v)]),
    );
    const name = variables.POWERTOOLS_SERVICE_NAME ?? constructPath(r) ?? id;
    deployed.functions[name] = {
      logicalId: id,
      name,
      arn: (resources[id] as Attrs).Arn as string,
      environment: variables,
    };
  }
  for (const m of deployed.eventSourceMappings) {
    const fn = Object.values(deployed.functions).find(
      (f) => f.arn === m.functionName || resources[f.logicalId]?.ref === m.functionName,
    );
    if (fn) {
      m.functionName = fn.name;
      m.functionArn = fn.arn;
    }
  }
  deployed.iam = deploymentIam(template, deployed, ctx);
  registerDeployment(deployed.iam);
  for (const [key, output] of Object.entries(template.Outputs ?? {})) {
    try {
      deployed.outputs[key] = String(resolve(ctx, output.Value));
    } catch {
      // An output that cannot resolve locally is not needed locally.
    }
  }
  return deployed;
}

/**
 * What IAM evaluation needs of a deployed stack: every function's and state machine's role,
 * the customer-managed keys of queues and topics, and the resource policies (queue, topic, key).
 */
function deploymentIam(template: CfnTemplate, deployed: DeployedStack, ctx: ResolveContext): DeploymentIam {
  const { resources, accountId, region } = deployed;
  const iam: DeploymentIam = { callers: {}, keys: {}, resourcePolicies: {}, region };
  const arnOf = (id: string) => (resources[id] as Attrs).Arn as string;
  const queueArnOfUrl = (url: unknown) => Object.values(resources).find((a) => a.QueueUrl === url)?.Arn;
  for (const [id, r] of Object.entries(template.Resources)) {
    // biome-ignore lint/suspicious/noExplicitAny: resolved CloudFormation properties are untyped JSON
    const props = () => resolve(ctx, r.Properties ?? {}) as Record<string, any>;
    switch (r.Type) {
      case 'AWS::Lambda::Function':
      case 'AWS::StepFunctions::StateMachine':
      // A role a service assumes to call us (ECS invoking a deployment's lifecycle hook): by its ARN.
      case 'AWS::IAM::Role':
        iam.callers[arnOf(id)] = principalIn(template, ctx, accountId, id);
        break;
      case 'AWS::SQS::Queue':
      case 'AWS::SNS::Topic': {
        const key = props().KmsMasterKeyId;
        // AWS-managed keys (alias/aws/...) let the service's callers use them: only ours are checked.
        const arn = (resources[id] as Attrs).Arn ?? (resources[id] as Attrs).TopicArn;
        if (typeof key === 'string' && key.startsWith('arn:aws:kms:') && arn) iam.keys[arn] = key;
        break;
      }
      case 'AWS::SQS::QueuePolicy': {
        const { Queues, PolicyDocument } = props();
        for (const url of Queues ?? []) {
          const queue = queueArnOfUrl(url);
          if (queue) iam.resourcePolicies[queue] = PolicyDocument;
        }
        break;
      }
      case 'AWS::SNS::TopicPolicy': {
        const { Topics, PolicyDocument } = props();
        for (const topic of Topics ?? []) iam.resourcePolicies[String(topic)] = PolicyDocument;
        break;
      }
      case 'AWS::KMS::Key':
        iam.resourcePolicies[arnOf(id)] = props().KeyPolicy;
        break;
    }
  }
  return iam;
}

class UnresolvedReference extends Error {}

function resolve(ctx: ResolveContext, value: unknown): unknown {
  try {
    return resolveTokens(value, ctx);
  } catch (error) {
    throw new UnresolvedReference((error as Error).message);
  }
}

function physicalName(stackName: string, logicalId: string, max: number): string {
  const name = `${stackName}-${logicalId}`;
  return name.length <= max ? name : name.slice(0, max);
}

function placeholder(id: string, type: string, region: string, accountId: string): Attrs {
  const service = type.split('::')[1]?.toLowerCase() ?? 'unknown';
  const arn = `arn:aws:${service}:${region}:${accountId}:${id}`;
  return { ref: id, Arn: arn, KeyId: id, RoleId: id, GroupId: id, Name: id, LogGroupName: id };
}

async function deployResource(
  deployed: DeployedStack,
  ctx: ResolveContext,
  id: string,
  r: CfnTemplate['Resources'][string],
) {
  // biome-ignore lint/suspicious/noExplicitAny: resolved CloudFormation properties are untyped JSON, checked by the API they go to
  const props = (r.Properties ? resolve(ctx, r.Properties) : {}) as Record<string, any>;
  const { region, accountId, stackName, resources } = deployed;
  switch (r.Type) {
    case 'AWS::DynamoDB::Table': {
      const name = props.TableName ?? physicalName(stackName, id, 255);
      await awsClient(DynamoDBClient).send(
        new CreateTableCommand({
          TableName: name,
          KeySchema: props.KeySchema,
          AttributeDefinitions: props.AttributeDefinitions,
          BillingMode: 'PAY_PER_REQUEST',
          ...(props.GlobalSecondaryIndexes
            ? {
                GlobalSecondaryIndexes: (props.GlobalSecondaryIndexes as Record<string, never>[]).map(
                  (g) => ({
                    IndexName: g.IndexName,
                    KeySchema: g.KeySchema,
                    Projection: g.Projection,
                  }),
                ),
              }
            : {}),
        }),
      );
      if (props.TimeToLiveSpecification?.Enabled) {
        await awsClient(DynamoDBClient).send(
          new UpdateTimeToLiveCommand({
            TableName: name,
            TimeToLiveSpecification: {
              Enabled: true,
              AttributeName: props.TimeToLiveSpecification.AttributeName,
            },
          }),
        );
      }
      resources[id] = { ref: name, Arn: `arn:aws:dynamodb:${region}:${accountId}:table/${name}` };
      return;
    }
    case 'AWS::SQS::Queue': {
      const name = props.QueueName ?? physicalName(stackName, id, 80);
      const attributes: Record<string, string> = {};
      for (const key of [
        'VisibilityTimeout',
        'MessageRetentionPeriod',
        'DelaySeconds',
        'ReceiveMessageWaitTimeSeconds',
      ]) {
        if (props[key] !== undefined) attributes[key] = String(props[key]);
      }
      if (props.RedrivePolicy) attributes.RedrivePolicy = JSON.stringify(props.RedrivePolicy);
      const sqs = awsClient(SQSClient);
      const out = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
      const url = out.QueueUrl as string;
      const attrs = await sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }),
      );
      resources[id] = { ref: url, Arn: attrs.Attributes?.QueueArn as string, QueueName: name, QueueUrl: url };
      return;
    }
    case 'AWS::SNS::Topic': {
      const name = props.TopicName ?? physicalName(stackName, id, 256);
      const out = await awsClient(SNSClient).send(new CreateTopicCommand({ Name: name }));
      resources[id] = { ref: out.TopicArn as string, TopicArn: out.TopicArn as string, TopicName: name };
      return;
    }
    case 'AWS::SNS::Subscription': {
      const out = await awsClient(SNSClient).send(
        new SubscribeCommand({
          TopicArn: props.TopicArn,
          Protocol: props.Protocol,
          Endpoint: props.Endpoint,
          Attributes: {
            ...(props.FilterPolicy ? { FilterPolicy: JSON.stringify(props.FilterPolicy) } : {}),
            ...(props.RawMessageDelivery !== undefined
              ? { RawMessageDelivery: String(props.RawMessageDelivery) }
              : {}),
          },
        }),
      );
      resources[id] = { ref: out.SubscriptionArn as string };
      return;
    }
    case 'AWS::Events::Rule': {
      const name = props.Name ?? physicalName(stackName, id, 64);
      const events = awsClient(EventBridgeClient);
      const out = await events.send(
        new PutRuleCommand({
          Name: name,
          EventPattern: JSON.stringify(props.EventPattern),
          State: props.State ?? 'ENABLED',
          ...(props.Description ? { Description: props.Description } : {}),
        }),
      );
      const targets = (props.Targets ?? []) as Record<string, string>[];
      if (targets.length > 0) {
        await events.send(
          new PutTargetsCommand({
            Rule: name,
            Targets: targets.map((t) => ({
              Id: t.Id,
              Arn: t.Arn,
              ...(t.Input ? { Input: t.Input } : {}),
              ...(t.InputPath ? { InputPath: t.InputPath } : {}),
            })),
          }),
        );
      }
      resources[id] = { ref: name, Arn: out.RuleArn as string };
      return;
    }
    case 'AWS::StepFunctions::StateMachine': {
      const name = props.StateMachineName ?? physicalName(stackName, id, 80);
      let definition = props.DefinitionString as string | undefined;
      if (definition === undefined && props.Definition) definition = JSON.stringify(props.Definition);
      if (definition === undefined) throw new Error(`state machine ${id} has no definition`);
      for (const [k, v] of Object.entries((props.DefinitionSubstitutions ?? {}) as Record<string, string>)) {
        definition = definition.split(`\${${k}}`).join(String(v));
      }
      const out = await awsClient(SFNClient).send(
        new CreateStateMachineCommand({
          name,
          definition,
          roleArn: `arn:aws:iam::${accountId}:role/${name}`,
          type: props.StateMachineType ?? 'STANDARD',
        }),
      );
      const arn = out.stateMachineArn as string;
      resources[id] = { ref: arn, Arn: arn, Name: name };
      const path = constructPath(r) ?? id;
      deployed.stateMachines[path.replace(/\/Resource$/, '')] = {
        logicalId: id,
        arn,
        name,
        definition: JSON.parse(definition),
      };
      return;
    }
    case 'AWS::Lambda::EventSourceMapping': {
      const queue = Object.values(resources).find((a) => a.Arn === props.EventSourceArn);
      if (!queue) throw new UnresolvedReference(`event source ${props.EventSourceArn} not deployed`);
      deployed.eventSourceMappings.push({
        functionName: String(props.FunctionName),
        functionArn: '',
        queueUrl: String(queue.QueueUrl ?? queue.ref),
        queueArn: String(props.EventSourceArn),
        batchSize: Number(props.BatchSize ?? 10),
        reportBatchItemFailures: ((props.FunctionResponseTypes ?? []) as string[]).includes(
          'ReportBatchItemFailures',
        ),
        ...((props.ScalingConfig as { MaximumConcurrency?: number } | undefined)?.MaximumConcurrency
          ? {
              maximumConcurrency: Number(
                (props.ScalingConfig as { MaximumConcurrency: number }).MaximumConcurrency,
              ),
            }
          : {}),
      });
      resources[id] = { ref: id };
      return;
    }
  }
}
