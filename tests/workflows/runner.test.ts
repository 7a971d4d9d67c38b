// The local workflow runner, proven on state machines built with the real CDK constructs and
// synthesized as `cdk synth` would, executed by aws-local-stepfunctions against a private moto.
import { CreateTableCommand, DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { CreateClusterCommand, ECSClient } from '@aws-sdk/client-ecs';
import { EventBridgeClient, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import { CreateStateMachineCommand, DescribeExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';
import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { beforeAll, describe, expect, it } from 'vitest';
import { awsClient } from '../../functions/shared/clients.ts';
import { InvalidInputError } from '../../functions/shared/errors.ts';
import {
  type Attrs,
  findByPath,
  findResources,
  functionEnvironment,
  type ResolveContext,
  resolveTokens,
  stateMachineDefinition,
} from '../../local/template.ts';
import {
  abortAfter,
  type LambdaBinding,
  nextTaskToken,
  pendingTaskTokens,
  runWorkflow,
  sendTaskFailure,
  sendTaskSuccess,
  type VirtualClock,
  WorkflowHarnessError,
} from '../../local/workflow-runner.ts';
import { useEmulator } from '../support/emulator.ts';

useEmulator();

import { ACCOUNT, buildTemplate, CHILD_MACHINE, CLUSTER_NAME, REGION, TABLE_NAME } from './runner-stack.ts';

const template = buildTemplate();

function functionAttrs(name: string): Attrs {
  return { ref: name, Arn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${name}` };
}

// What the emulator holds, by logical id; filled in beforeAll.
const ctx: ResolveContext = { resources: {}, region: REGION, accountId: ACCOUNT, stackName: 'RunnerTest' };
let queueUrl = '';
let workQueueUrl = '';
let busTapUrl = '';

function definitionOf(machineId: string): object {
  return stateMachineDefinition(template, findByPath(template, `${machineId}/Resource`).logicalId, ctx);
}

function manualClock(start: number): Required<VirtualClock> & { advances: number[] } {
  let now = start;
  const advances: number[] = [];
  return {
    advances,
    now: () => now,
    advance(ms) {
      now += ms;
      advances.push(ms);
    },
  };
}

beforeAll(async () => {
  for (const name of ['Pricing', 'Checker', 'ClockReader', 'Approvals']) {
    ctx.resources[findByPath(template, `${name}/Resource`).logicalId] = functionAttrs(
      `runner-${name.toLowerCase()}`,
    );
  }
  await awsClient(DynamoDBClient).send(
    new CreateTableCommand({
      TableName: TABLE_NAME,
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  const [tableResource] = findResources(template, 'AWS::DynamoDB::Table');
  ctx.resources[tableResource?.logicalId ?? ''] = {
    ref: TABLE_NAME,
    Arn: `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${TABLE_NAME}`,
  };

  const { TopicArn } = await awsClient(SNSClient).send(new CreateTopicCommand({ Name: 'runner-events' }));
  ctx.resources[findByPath(template, 'Events/Resource').logicalId] = {
    ref: TopicArn as string,
    TopicName: 'runner-events',
  };
  const queue = await awsClient(SQSClient).send(new CreateQueueCommand({ QueueName: 'runner-events-tap' }));
  queueUrl = queue.QueueUrl as string;
  const attrs = await awsClient(SQSClient).send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
  );
  await awsClient(SNSClient).send(
    new SubscribeCommand({ TopicArn, Protocol: 'sqs', Endpoint: attrs.Attributes?.QueueArn as string }),
  );

  await awsClient(ECSClient).send(new CreateClusterCommand({ clusterName: CLUSTER_NAME }));

  const work = await awsClient(SQSClient).send(new CreateQueueCommand({ QueueName: 'runner-work' }));
  workQueueUrl = work.QueueUrl as string;
  ctx.resources[findByPath(template, 'Work/Resource').logicalId] = {
    ref: workQueueUrl,
    Arn: `arn:aws:sqs:${REGION}:${ACCOUNT}:runner-work`,
    QueueName: 'runner-work',
    QueueUrl: workQueueUrl,
  };
  const busTap = await awsClient(SQSClient).send(new CreateQueueCommand({ QueueName: 'runner-bus-tap' }));
  busTapUrl = busTap.QueueUrl as string;
  await awsClient(EventBridgeClient).send(
    new PutRuleCommand({ Name: 'runner-jobs', EventPattern: JSON.stringify({ source: ['runner.test'] }) }),
  );
  await awsClient(EventBridgeClient).send(
    new PutTargetsCommand({
      Rule: 'runner-jobs',
      Targets: [{ Id: 'tap', Arn: `arn:aws:sqs:${REGION}:${ACCOUNT}:runner-bus-tap` }],
    }),
  );
  await awsClient(SFNClient).send(
    new CreateStateMachineCommand({
      name: CHILD_MACHINE,
      definition: JSON.stringify({ StartAt: 'Done', States: { Done: { Type: 'Pass', End: true } } }),
      roleArn: `arn:aws:iam::${ACCOUNT}:role/runner-child`,
    }),
  );
});

/** The messages on a queue, waiting for the first as a consumer would (a busy machine is slow to send it). */
async function receiveAll(url: string, waitMs = 30_000): Promise<string[]> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const out = await awsClient(SQSClient).send(
      new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
    );
    const bodies = (out.Messages ?? []).map((m) => m.Body as string);
    if (bodies.length > 0 || Date.now() >= deadline) return bodies;
  }
}

// ---------------------------------------------------------------------------------------------

describe('template helpers', () => {
  const local: ResolveContext = {
    resources: { Queue: { ref: 'https://sqs/q', Arn: 'arn:aws:sqs:us-east-1:1:q' } },
    region: 'eu-west-1',
    accountId: '111122223333',
    stackName: 'S',
  };

  it('resolves Ref, GetAtt (both forms), Join, Sub, Select, Split and AWS::NoValue', () => {
    const resolved = resolveTokens(
      {
        url: { Ref: 'Queue' },
        arn: { 'Fn::GetAtt': ['Queue', 'Arn'] },
        arn2: { 'Fn::GetAtt': 'Queue.Arn' },
        joined: { 'Fn::Join': ['-', [{ Ref: 'AWS::Region' }, { Ref: 'AWS::AccountId' }, 7]] },
        // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Sub syntax, not a JS template
        sub: { 'Fn::Sub': 'arn:${AWS::Partition}:x:${AWS::Region}:${Queue.Arn}:${Name}:${!Literal}' },
        // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Sub syntax, not a JS template
        subVars: { 'Fn::Sub': ['${Who}@${AWS::StackName}', { Who: { Ref: 'Queue' } }] },
        picked: { 'Fn::Select': [1, { 'Fn::Split': [':', { 'Fn::GetAtt': ['Queue', 'Arn'] }] }] },
        gone: { Ref: 'AWS::NoValue' },
        list: ['a', { Ref: 'AWS::NoValue' }, 'b'],
        suffix: { Ref: 'AWS::URLSuffix' },
      },
      { ...local, resources: { ...local.resources, Name: { ref: 'the-name' } } },
    );
    expect(resolved).toEqual({
      url: 'https://sqs/q',
      arn: 'arn:aws:sqs:us-east-1:1:q',
      arn2: 'arn:aws:sqs:us-east-1:1:q',
      joined: 'eu-west-1-111122223333-7',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Sub syntax, not a JS template
      sub: 'arn:aws:x:eu-west-1:arn:aws:sqs:us-east-1:1:q:the-name:${Literal}',
      subVars: 'https://sqs/q@S',
      picked: 'aws',
      list: ['a', 'b'],
      suffix: 'amazonaws.com',
    });
  });

  it('names the missing resource and the unsupported intrinsic with where they were found', () => {
    expect(() => resolveTokens({ a: [{ Ref: 'Nope' }] }, local)).toThrow(
      /resource Nope \(referenced at \$\.a\[0\]\.Ref\)/,
    );
    expect(() => resolveTokens({ b: { 'Fn::If': ['C', 1, 2] } }, local)).toThrow(
      /unsupported intrinsic Fn::If at \$\.b/,
    );
    expect(() => resolveTokens({ 'Fn::GetAtt': ['Queue', 'Missing'] }, local)).toThrow(
      /Queue has no attribute Missing/,
    );
  });

  it('finds resources by type and by CDK path, and resolves a function environment', () => {
    expect(findResources(template, 'AWS::StepFunctions::StateMachine')).toHaveLength(8);
    expect(() => findByPath(template, 'Nothing/Resource')).toThrow(
      /no resource with a cdk path ending in Nothing\/Resource/,
    );
    expect(() => findByPath(template, 'Resource')).toThrow(/ambiguous/);
    const pricing = findByPath(template, 'Pricing/Resource').logicalId;
    expect(functionEnvironment(template, pricing, ctx)).toEqual({
      TABLE_NAME: TABLE_NAME,
      TOPIC_ARN: ctx.resources[findByPath(template, 'Events/Resource').logicalId]?.ref,
      REGION: REGION,
    });
  });

  it('resolves a state machine definition into plain ASL with the bound ARNs', () => {
    const definition = definitionOf('Orders') as {
      States: Record<string, { Parameters?: { FunctionName?: string } }>;
    };
    expect(definition.States['Price order']?.Parameters?.FunctionName).toBe(
      functionAttrs('runner-pricing').Arn,
    );
    expect(JSON.stringify(definition)).not.toMatch(/Fn::|"Ref"/);
  });
});

describe('Lambda tasks', () => {
  const pricingCalls: unknown[] = [];
  const pricing: LambdaBinding = async (event) => {
    pricingCalls.push(event);
    if (pricingCalls.length === 1)
      throw Object.assign(new Error('pricing is busy'), { name: 'PriceServiceBusy' });
    const { qty } = event as { qty: number };
    return { total: qty * 10 };
  };

  it('passes the payload in and out, retries a named error with a compressed interval', async () => {
    pricingCalls.length = 0;
    const clock = manualClock(Date.parse('2026-01-01T00:00:00Z'));
    const started = clock.now();
    const result = await runWorkflow({
      definition: definitionOf('Orders'),
      input: { mode: 'normal', sku: 'A-1', qty: 3 },
      clock,
      // Bound by name and by full ARN: both forms match the ARN in the definition.
      lambdas: {
        'runner-pricing': pricing,
        [functionAttrs('runner-checker').Arn as string]: async (event) => ({ ok: true, saw: event }),
      },
    });
    // The 30 s retry interval passed on the virtual clock (in real time it is compressed: the
    // test's own 5 s timeout would end it otherwise).
    expect(clock.now() - started).toBeGreaterThanOrEqual(30_000);
    expect(result.status).toBe('SUCCEEDED');
    expect(pricingCalls).toEqual([
      { sku: 'A-1', qty: 3 },
      { sku: 'A-1', qty: 3 },
    ]);
    expect(result.output).toEqual({
      mode: 'normal',
      sku: 'A-1',
      qty: 3,
      price: { total: 30, statusCode: 200, version: '$LATEST' },
      check: {
        ok: true,
        saw: {
          mode: 'normal',
          sku: 'A-1',
          qty: 3,
          price: { total: 30, statusCode: 200, version: '$LATEST' },
        },
      },
    });
    expect(result.states).toEqual(['Route', 'Price order', 'Check order', 'Accepted']);
    // Four states entered plus one retry.
    expect(result.transitions).toBe(5);
    expect(result.events.filter((e) => (e as { type: string }).type === 'StateRetried')).toHaveLength(1);
  });

  it('catches a handler error by its name, with the Lambda-shaped JSON cause', async () => {
    const result = await runWorkflow({
      definition: definitionOf('Orders'),
      input: { mode: 'normal', sku: 'A-1', qty: -1 },
      lambdas: {
        'runner-pricing': async () => ({ total: 0 }),
        'runner-checker': async () => {
          throw new InvalidInputError('qty', 'must be positive', -1);
        },
      },
    });
    expect(result.status).toBe('SUCCEEDED');
    expect(result.states).toEqual(['Route', 'Price order', 'Check order', 'Rejected']);
    const rejection = (result.output as { rejection: { Error: string; Cause: string } }).rejection;
    expect(rejection.Error).toBe('InvalidInput');
    expect(JSON.parse(rejection.Cause)).toEqual({
      errorType: 'InvalidInput',
      errorMessage: 'qty: must be positive (got -1)',
    });
  });

  it('fails the run with the error name when nothing catches it', async () => {
    const result = await runWorkflow({
      definition: definitionOf('Orders'),
      input: { mode: 'normal', sku: 'A-1', qty: 1 },
      lambdas: {
        'runner-pricing': async () => ({ total: 10 }),
        'runner-checker': async () => {
          throw new TypeError('boom');
        },
      },
    });
    expect(result).toMatchObject({ status: 'FAILED', error: 'TypeError' });
    expect(JSON.parse(result.cause as string)).toEqual({ errorType: 'TypeError', errorMessage: 'boom' });
  });

  it('reports a Fail state as the run result', async () => {
    const result = await runWorkflow({
      definition: definitionOf('Orders'),
      input: { mode: 'fail' },
      lambdas: { 'runner-pricing': pricing, 'runner-checker': pricing },
    });
    expect(result).toMatchObject({
      status: 'FAILED',
      error: 'GaveUp',
      cause: 'asked to fail',
      transitions: 2,
    });
    expect(result.states).toEqual(['Route', 'Give up']);
  });

  it('refuses to run with a Lambda nobody bound', async () => {
    await expect(
      runWorkflow({ definition: definitionOf('Orders'), input: {}, lambdas: { 'runner-pricing': pricing } }),
    ).rejects.toThrow(
      /task "Check order" invokes Lambda function .*runner-checker, which has no in-process handler/,
    );
  });
});

describe('AWS SDK and optimized integrations against the emulator', () => {
  it('writes and reads DynamoDB and catches conditional-check failures by their Step Functions names', async () => {
    const result = await runWorkflow({ definition: definitionOf('Stock'), input: { id: 'sku-7', qty: '7' } });
    expect(result.status).toBe('SUCCEEDED');
    expect(result.states).toEqual([
      'Save item',
      'Load item',
      'Insert once (SDK)',
      'Already there (SDK)',
      'Insert once',
      'Already there',
      'Stocked',
    ]);
    const output = result.output as Record<string, { Error?: string; Cause?: string; qty?: string }>;
    expect(output.loaded).toEqual({ qty: '7' });
    expect(output.sdkConflict?.Error).toBe('DynamoDb.ConditionalCheckFailedException');
    expect(output.sdkConflict?.Cause).toMatch(/\(Service: DynamoDb, Status Code: 400, Request ID: /);
    expect(output.conflict?.Error).toBe('DynamoDB.ConditionalCheckFailedException');

    const stored = await awsClient(DynamoDBClient).send(
      new GetItemCommand({ TableName: TABLE_NAME, Key: { pk: { S: 'sku-7' } } }),
    );
    expect(stored.Item).toEqual({ pk: { S: 'sku-7' }, qty: { N: '7' } });
  });

  it('speaks PascalCase to camelCase APIs (ECS) and names their errors Ecs.*', async () => {
    const result = await runWorkflow({ definition: definitionOf('Fleet'), input: { cluster: CLUSTER_NAME } });
    expect(result.status).toBe('SUCCEEDED');
    const output = result.output as { cluster: unknown; scaleError: { Error: string } };
    expect(output.cluster).toEqual({ name: CLUSTER_NAME, status: 'ACTIVE' });
    expect(output.scaleError.Error).toBe('Ecs.ServiceNotFoundException');
    expect(result.states).toEqual(['Describe cluster', 'Scale service', 'No such service']);
  });

  it('rejects a parameter the API does not have, as Step Functions rejects the definition', async () => {
    const definition = definitionOf('Fleet') as {
      States: Record<string, { Parameters: Record<string, unknown> }>;
    };
    const describe = definition.States['Describe cluster'];
    if (describe) describe.Parameters = { 'clusters.$': 'States.Array($.cluster)' };
    await expect(runWorkflow({ definition, input: { cluster: CLUSTER_NAME } })).rejects.toThrow(
      /Ecs\.describeClusters: unknown parameter clusters \(expected one of Clusters, Include\)/,
    );
  });

  it('sends to SQS with a task token, puts an event and starts a child execution', async () => {
    const running = runWorkflow({ definition: definitionOf('Handoff'), input: { job: 'j-1' } });
    const [body] = await receiveAll(workQueueUrl);
    const message = JSON.parse(body as string) as { token: string; job: string };
    expect(message.job).toBe('j-1');
    sendTaskSuccess(message.token, { built: true });
    const result = await running;

    expect(result.status).toBe('SUCCEEDED');
    const output = result.output as { announced: { FailedEntryCount: number }; child: { arn: string } };
    expect(output.announced.FailedEntryCount).toBe(0);
    const [event] = await receiveAll(busTapUrl);
    expect(JSON.parse(event as string)).toMatchObject({
      source: 'runner.test',
      'detail-type': 'JobDone',
      detail: { job: 'j-1', result: { built: true } },
    });
    const child = await awsClient(SFNClient).send(
      new DescribeExecutionCommand({ executionArn: output.child.arn }),
    );
    expect(child.stateMachineArn).toBe(`arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:${CHILD_MACHINE}`);
    expect(JSON.parse(child.input as string)).toEqual({ job: 'j-1' });
  });

  it('publishes to SNS through the optimized integration (seen by a subscribed queue)', async () => {
    const result = await runWorkflow({ definition: definitionOf('Notify'), input: { orderId: 'o-42' } });
    expect(result.status).toBe('SUCCEEDED');
    const messageId = (result.output as { published: { MessageId: string } }).published.MessageId;
    const received = await awsClient(SQSClient).send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
    );
    const envelopes = (received.Messages ?? []).map(
      (m) => JSON.parse(m.Body as string) as Record<string, string>,
    );
    const envelope = envelopes.find((e) => e.MessageId === messageId);
    expect(envelope?.Subject).toBe('order');
    expect(JSON.parse(envelope?.Message as string)).toEqual({ orderId: 'o-42', kind: 'accepted' });
  });
});

describe('Wait states', () => {
  const start = Date.parse('2025-01-01T00:00:00.000Z');

  it('compresses an hour-long wait and moves the virtual clock by what each wait stands for', async () => {
    const clock = manualClock(start);
    // Compressed: an uncompressed hour would run into the test's own timeout.
    const result = await runWorkflow({
      definition: definitionOf('Patience'),
      input: { extraSeconds: 90 },
      lambdas: { 'runner-clockreader': async () => clock.now() },
      clock,
    });
    expect(result.status).toBe('SUCCEEDED');
    expect(clock.advances).toEqual([3_600_000, 90_000]);
    // The task after the waits already sees the advanced clock.
    expect((result.output as { seenAt: number }).seenAt).toBe(start + 3_690_000);
  });

  it('fails with States.Runtime when SecondsPath points nowhere, as Step Functions does', async () => {
    const reads: unknown[] = [];
    const result = await runWorkflow({
      definition: definitionOf('Patience'),
      input: {},
      lambdas: { 'runner-clockreader': async (event) => reads.push(event) },
      clock: manualClock(start),
    });
    expect(result).toMatchObject({ status: 'FAILED', error: 'States.Runtime' });
    expect(result.cause).toMatch(/\$\.extraSeconds/);
    expect(reads).toEqual([]);
  });

  it('times the execution out when compressed time passes its TimeoutSeconds', async () => {
    const result = await runWorkflow({
      definition: definitionOf('Patience'),
      input: { extraSeconds: 7200 },
      lambdas: { 'runner-clockreader': async () => 0 },
    });
    expect(result).toMatchObject({ status: 'FAILED', error: 'States.Timeout' });
    expect(result.states).not.toContain('Read clock');
  });
});

describe('Map and Parallel', () => {
  it('binds tasks and waits inside Map iterators and Parallel branches, and plain Lambda ARN tasks', async () => {
    const clock = manualClock(0);
    const legacyEvents: unknown[] = [];
    const result = await runWorkflow({
      definition: definitionOf('Fanout'),
      input: { items: [{ qty: 1 }, { qty: 2 }] },
      lambdas: {
        'runner-pricing': async (event) => ({ total: (event as { qty: number }).qty * 10 }),
        'runner-checker': async (event) => {
          legacyEvents.push(event);
          return { legacy: true };
        },
      },
      clock,
    });
    expect(result.status).toBe('SUCCEEDED');
    expect(result.output).toEqual({
      items: [{ qty: 1 }, { qty: 2 }],
      priced: [{ total: 10 }, { total: 20 }],
      checks: [{ static: true }, { legacy: true }],
    });
    // A plain Lambda ARN resource gets the state input itself, no Payload wrapping.
    expect(legacyEvents).toEqual([
      { items: [{ qty: 1 }, { qty: 2 }], priced: [{ total: 10 }, { total: 20 }] },
    ]);
    // Concurrent iterations each report their own wait.
    expect(clock.advances).toEqual([60_000, 60_000]);
    expect(result.states.filter((s) => s === 'Price item')).toHaveLength(2);
    expect(result.states).toContain('Legacy check');
  });
});

describe('waitForTaskToken', () => {
  it('gives each task its own token and resumes on sendTaskSuccess', async () => {
    const seen: Array<{ token: string }> = [];
    const running = runWorkflow({
      definition: definitionOf('Approval'),
      input: { request: 'deploy v2' },
      lambdas: { 'runner-approvals': async (event) => seen.push(event as { token: string }) },
    });
    const first = await nextTaskToken({ stateName: 'Ask for approval' });
    sendTaskSuccess(first.token, { approved: true });
    const second = await nextTaskToken({ stateName: 'Confirm' });
    sendTaskSuccess(second.token, { confirmed: 'yes' });
    const result = await running;

    expect(result.status).toBe('SUCCEEDED');
    expect(seen).toEqual([
      { token: first.token, request: 'deploy v2' },
      { token: second.token, step: 'confirm' },
    ]);
    expect(first.token).not.toBe(second.token);
    expect(result.output).toEqual({
      request: 'deploy v2',
      approval: { approved: true },
      confirmation: { confirmed: 'yes' },
    });
    expect(pendingTaskTokens()).toEqual([]);
    // Answered already: refused as Step Functions refuses a closed task.
    expect(() => sendTaskSuccess(first.token, {})).toThrow(expect.objectContaining({ name: 'TaskTimedOut' }));
  });

  it('times out after the compressed TimeoutSeconds; States.TaskFailed does not match States.Timeout', async () => {
    // An hour of TimeoutSeconds, compressed: uncompressed, it would run into the test's timeout.
    const result = await runWorkflow({
      definition: definitionOf('Approval'),
      input: { request: 'deploy v3' },
      lambdas: { 'runner-approvals': async () => 'asked' },
    });
    expect(result.status).toBe('SUCCEEDED');
    expect(result.states).toEqual(['Ask for approval', 'Approval timed out']);
    expect((result.output as { timeout: { Error: string } }).timeout.Error).toBe('States.Timeout');
    expect(pendingTaskTokens()).toEqual([]);
  });

  it('honours taskTokenTimeoutMs and routes sendTaskFailure through Catch', async () => {
    const timedOut = await runWorkflow({
      definition: definitionOf('Approval'),
      input: { request: 'x' },
      lambdas: { 'runner-approvals': async () => null },
      taskTokenTimeoutMs: 20,
    });
    expect(timedOut.states).toEqual(['Ask for approval', 'Approval timed out']);

    const running = runWorkflow({
      definition: definitionOf('Approval'),
      input: { request: 'y' },
      lambdas: { 'runner-approvals': async () => null },
    });
    sendTaskFailure((await nextTaskToken({ stateName: 'Ask for approval' })).token, 'Rejected', 'not today');
    const failed = await running;
    expect(failed.states).toEqual(['Ask for approval', 'Approval failed']);
    expect((failed.output as { failure: unknown }).failure).toEqual({
      Error: 'Rejected',
      Cause: 'not today',
    });
  });

  it('can be aborted while a task waits, leaving no token behind', async () => {
    const result = await runWorkflow({
      definition: definitionOf('Approval'),
      input: { request: 'z' },
      lambdas: { 'runner-approvals': async () => null },
      taskTokenTimeoutMs: 60_000,
      signal: abortAfter(50),
    });
    expect(result.status).toBe('ABORTED');
    expect(result.states).toEqual(['Ask for approval']);
    expect(pendingTaskTokens()).toEqual([]);
  });

  it('a function named at run time that does not exist fails the task as Lambda.ResourceNotFoundException (catchable)', async () => {
    const definition = definitionOf('Approval') as {
      States: Record<string, { Parameters: Record<string, unknown> }>;
    };
    // FunctionName chosen at run time, so only the run can find it missing.
    const ask = definition.States['Ask for approval'];
    if (ask) {
      delete ask.Parameters.FunctionName;
      ask.Parameters['FunctionName.$'] = '$.fn';
    }
    const result = await runWorkflow({
      definition,
      input: { request: 'r', fn: 'runner-unknown' },
      lambdas: { 'runner-approvals': async () => null },
    });
    expect(result.states).toEqual(['Ask for approval', 'Approval failed']);
    expect((result.output as { failure: { Error: string } }).failure.Error).toBe(
      'Lambda.ResourceNotFoundException',
    );
  });

  it('a harness error cannot be caught by the workflow: the run throws', async () => {
    // A statically named function with no in-process handler is a gap in the rig's setup.
    await expect(
      runWorkflow({ definition: definitionOf('Approval'), input: { request: 'r' }, lambdas: {} }),
    ).rejects.toBeInstanceOf(WorkflowHarnessError);
  });
});
