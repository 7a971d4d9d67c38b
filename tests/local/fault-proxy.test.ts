import { AutoScalingClient, DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import {
  CreateTableCommand,
  DynamoDBClient,
  ListTablesCommand,
  PutItemCommand,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { CreateClusterCommand, ECSClient, ListContainerInstancesCommand } from '@aws-sdk/client-ecs';
import {
  DescribeLoadBalancersCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { EventBridgeClient, ListRulesCommand } from '@aws-sdk/client-eventbridge';
import { ListStateMachinesCommand, SFNClient } from '@aws-sdk/client-sfn';
import { CreateTopicCommand, ListTopicsCommand, SNSClient } from '@aws-sdk/client-sns';
import { CreateQueueCommand, ListQueuesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { awsClient, type ClientConfig, clientConfig } from '../../functions/shared/clients.ts';
import { documentClient } from '../../functions/shared/dynamo.ts';
import { identifyOperation, startFaultProxy } from '../../local/fault-proxy.ts';
import { createTable, useEmulator, useFaultProxy } from '../support/emulator.ts';

const emulator = useEmulator();
const proxy = useFaultProxy({ seed: 42 });

type Ctor<C> = new (config: ClientConfig) => C;

/** A fresh client through the proxy (AWS_ENDPOINT_URL) that makes exactly `maxAttempts` attempts. */
function throughProxy<C>(Ctor: Ctor<C>, maxAttempts: number): C {
  return new Ctor({ ...clientConfig(), maxAttempts });
}

/** A client straight to the emulator, to see what really changed behind the proxy. */
function direct<C>(Ctor: Ctor<C>): C {
  return new Ctor({ ...clientConfig(), endpoint: emulator.endpoint, maxAttempts: 1 });
}

async function rejection(
  promise: Promise<unknown>,
): Promise<Error & { $metadata?: { httpStatusCode?: number; attempts?: number } }> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected the call to fail');
}

beforeEach(async () => {
  await emulator.reset();
  proxy.setFaults({
    throttleRate: 0,
    serverErrorRate: 0,
    latencyMs: 0,
    lostResponseRate: 0,
    slowResponseRate: 0,
    services: undefined,
    operations: undefined,
  });
  proxy.resetStats();
});

describe('throttling', () => {
  it('answers JSON-protocol calls with ThrottlingException and forwards nothing (SQS, DynamoDB)', async () => {
    proxy.setFaults({ throttleRate: 1 });
    const sqsErr = await rejection(
      throughProxy(SQSClient, 1).send(new CreateQueueCommand({ QueueName: 'never-created' })),
    );
    expect(sqsErr.name).toBe('ThrottlingException');
    expect(sqsErr.$metadata?.httpStatusCode).toBe(400);

    const ddbErr = await rejection(
      throughProxy(DynamoDBClient, 1).send(
        new CreateTableCommand({
          TableName: 'never-created',
          BillingMode: 'PAY_PER_REQUEST',
          AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
          KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        }),
      ),
    );
    expect(ddbErr.name).toBe('ThrottlingException');

    expect(proxy.stats()).toEqual({
      total: 2,
      forwarded: 0,
      throttled: 2,
      serverErrors: 0,
      lostResponses: 0,
      slowResponses: 0,
      byOperation: { 'sqs:CreateQueue': 1, 'dynamodb:CreateTable': 1 },
      forwardedByOperation: {},
      appliedCallsByOperation: {},
      conditionFailuresByOperation: {},
    });
    expect((await direct(SQSClient).send(new ListQueuesCommand({}))).QueueUrls ?? []).toEqual([]);
    expect((await direct(DynamoDBClient).send(new ListTablesCommand({}))).TableNames).toEqual([]);
  });

  it('answers query-protocol calls with Throttling (SNS) and EC2 with RequestLimitExceeded', async () => {
    proxy.setFaults({ throttleRate: 1 });
    const snsErr = await rejection(
      throughProxy(SNSClient, 1).send(new CreateTopicCommand({ Name: 'never-created' })),
    );
    expect(snsErr.name).toBe('Throttling');
    expect(snsErr.$metadata?.httpStatusCode).toBe(400);

    const asErr = await rejection(
      throughProxy(AutoScalingClient, 1).send(new DescribeAutoScalingGroupsCommand({})),
    );
    expect(asErr.name).toBe('Throttling');

    const ec2Err = await rejection(throughProxy(EC2Client, 1).send(new DescribeInstancesCommand({})));
    expect(ec2Err.name).toBe('RequestLimitExceeded');

    expect(proxy.stats().forwarded).toBe(0);
    expect((await direct(SNSClient).send(new ListTopicsCommand({}))).Topics).toEqual([]);
  });

  it('is classified as retryable by the SDK: each attempt reaches the proxy', async () => {
    proxy.setFaults({ throttleRate: 1 });
    const jsonErr = await rejection(throughProxy(SQSClient, 3).send(new ListQueuesCommand({})));
    expect(jsonErr.name).toBe('ThrottlingException');
    expect(jsonErr.$metadata?.attempts).toBe(3);

    const queryErr = await rejection(throughProxy(SNSClient, 3).send(new ListTopicsCommand({})));
    expect(queryErr.name).toBe('Throttling');
    expect(queryErr.$metadata?.attempts).toBe(3);

    expect(proxy.stats().byOperation).toEqual({ 'sqs:ListQueues': 3, 'sns:ListTopics': 3 });
  });

  it('is ridden out by the shared clients at a 30% rate: 50 writes all land exactly once', async () => {
    const table = 'ridden-out';
    await createTable(table, 'pk');
    proxy.resetStats();
    proxy.setFaults({ throttleRate: 0.3 });

    const ids = Array.from({ length: 50 }, (_, i) => `item-${i}`);
    await Promise.all(
      ids.map((pk) =>
        awsClient(DynamoDBClient).send(new PutItemCommand({ TableName: table, Item: { pk: { S: pk } } })),
      ),
    );

    const stats = proxy.stats();
    expect(stats.throttled).toBeGreaterThan(0);
    expect(stats.forwarded).toBe(50);
    expect(stats.byOperation).toEqual({ 'dynamodb:PutItem': 50 + stats.throttled });
    expect(stats.forwardedByOperation).toEqual({ 'dynamodb:PutItem': 50 });
    const scan = await direct(DynamoDBClient).send(new ScanCommand({ TableName: table }));
    expect(scan.Items?.map((item) => item.pk?.S).sort()).toEqual([...ids].sort());
  });
});

describe('server errors', () => {
  it('answers with HTTP 503 ServiceUnavailable in each protocol and forwards nothing', async () => {
    proxy.setFaults({ serverErrorRate: 1 });
    const jsonErr = await rejection(
      throughProxy(SQSClient, 1).send(new CreateQueueCommand({ QueueName: 'nope' })),
    );
    expect(jsonErr.name).toBe('ServiceUnavailable');
    expect(jsonErr.$metadata?.httpStatusCode).toBe(503);

    const queryErr = await rejection(
      throughProxy(SNSClient, 1).send(new CreateTopicCommand({ Name: 'nope' })),
    );
    expect(queryErr.name).toBe('ServiceUnavailable');
    expect(queryErr.$metadata?.httpStatusCode).toBe(503);

    const ec2Err = await rejection(throughProxy(EC2Client, 1).send(new DescribeInstancesCommand({})));
    expect(ec2Err.$metadata?.httpStatusCode).toBe(503);

    expect(proxy.stats()).toMatchObject({ total: 3, forwarded: 0, serverErrors: 3, throttled: 0 });
    expect((await direct(SQSClient).send(new ListQueuesCommand({}))).QueueUrls ?? []).toEqual([]);
    expect((await direct(SNSClient).send(new ListTopicsCommand({}))).Topics).toEqual([]);
  });

  it('is retried by the SDK as a transient error', async () => {
    proxy.setFaults({ serverErrorRate: 1 });
    const err = await rejection(throughProxy(DynamoDBClient, 2).send(new ListTablesCommand({})));
    expect(err.$metadata?.attempts).toBe(2);
    expect(proxy.stats().serverErrors).toBe(2);
  });

  it('faults only the named services, or only the named operations, while the rest answer', async () => {
    proxy.setFaults({ serverErrorRate: 1, services: ['sns'] });
    expect((await rejection(throughProxy(SNSClient, 1).send(new ListTopicsCommand({})))).name).toBe(
      'ServiceUnavailable',
    );
    await throughProxy(SQSClient, 1).send(new ListQueuesCommand({}));

    proxy.setFaults({ services: undefined, operations: ['sqs:CreateQueue'] });
    expect(
      (await rejection(throughProxy(SQSClient, 1).send(new CreateQueueCommand({ QueueName: 'nope' })))).name,
    ).toBe('ServiceUnavailable');
    await throughProxy(SQSClient, 1).send(new ListQueuesCommand({}));
    await throughProxy(SNSClient, 1).send(new ListTopicsCommand({}));
    expect(proxy.stats()).toMatchObject({ total: 5, forwarded: 3, serverErrors: 2 });
  });
});

describe('ambiguous faults: applied, then the answer is lost or late', () => {
  const table = 'ambiguous';
  const createTable = () =>
    direct(DynamoDBClient).send(
      new CreateTableCommand({
        TableName: table,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      }),
    );
  const stored = async () =>
    ((await direct(DynamoDBClient).send(new ScanCommand({ TableName: table }))).Items ?? [])
      .map((item) => item.pk?.S)
      .sort();

  it('applies a call whose response is then lost: the caller sees a 503 or a reset, the emulator has the write', async () => {
    await createTable();
    proxy.setFaults({ lostResponseRate: 1 });
    const seen = new Set<string>();
    for (const pk of ['a', 'b', 'c', 'd', 'e', 'f']) {
      const err = await rejection(
        throughProxy(DynamoDBClient, 1).send(
          new PutItemCommand({ TableName: table, Item: { pk: { S: pk } } }),
        ),
      );
      seen.add(err.$metadata?.httpStatusCode === 503 ? '503' : 'reset');
    }
    expect(await stored()).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
    expect([...seen].sort()).toEqual(['503', 'reset']);
    expect(proxy.stats()).toMatchObject({ lostResponses: 6, forwarded: 6 });
  });

  it('counts a call the SDK retried after a lost answer once as applied, twice as forwarded', async () => {
    await createTable();
    proxy.resetStats();
    // One lost answer, then the proxy answers: the SDK's second attempt is the same call.
    proxy.setFaults({ lostResponseRate: 1 });
    const call = throughProxy(DynamoDBClient, 2).send(
      new PutItemCommand({ TableName: table, Item: { pk: { S: 'twice' } } }),
    );
    const stop = setInterval(() => {
      if (proxy.stats().lostResponses > 0) proxy.setFaults({ lostResponseRate: 0 });
    }, 1);
    await call.finally(() => clearInterval(stop));
    const stats = proxy.stats();
    expect(stats.forwardedByOperation['dynamodb:PutItem']).toBe(2);
    expect(stats.appliedCallsByOperation['dynamodb:PutItem']).toBe(1);
  });

  it('holds a response past the SDK request timeout: the call times out, the emulator has the write', async () => {
    await createTable();
    proxy.setFaults({ slowResponseRate: 1, slowResponseMs: 600 });
    const client = new DynamoDBClient({
      ...clientConfig(),
      maxAttempts: 1,
      requestHandler: { requestTimeout: 200, connectionTimeout: 1_000, throwOnRequestTimeout: true },
    });
    const err = await rejection(
      client.send(new PutItemCommand({ TableName: table, Item: { pk: { S: 'late' } } })),
    );
    expect(err.name).toBe('TimeoutError');
    expect(await stored()).toEqual(['late']);
    expect(proxy.stats()).toMatchObject({ slowResponses: 1 });
  });

  it('turns the retry of a conditional write that had succeeded into ConditionalCheckFailed: the code must read back', async () => {
    await createTable();
    const write = () =>
      throughProxy(DynamoDBClient, 1).send(
        new PutItemCommand({
          TableName: table,
          Item: { pk: { S: 'once' } },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    proxy.setFaults({ lostResponseRate: 1 });
    const lost = await rejection(write());
    expect(lost.name).not.toBe('ConditionalCheckFailedException');
    // The retry (the SDK's, or the caller's) finds the item its first attempt wrote.
    proxy.setFaults({ lostResponseRate: 0 });
    const retried = await rejection(write());
    expect(retried.name).toBe('ConditionalCheckFailedException');
    expect(await stored()).toEqual(['once']);
    // The emulator applied the first write (its answer lost) and refused the second on its condition.
    expect(proxy.stats().conditionFailuresByOperation).toEqual({ 'dynamodb:PutItem': 1 });
  });

  it('the shared document client knows its own conditional write after a lost answer, and still refuses a conflict', async () => {
    await createTable();
    const write = (pk: string) =>
      documentClient().send(
        new PutCommand({ TableName: table, Item: { pk }, ConditionExpression: 'attribute_not_exists(pk)' }),
      );
    // The first attempt is applied and its answer lost; the SDK's retry meets the condition it set.
    proxy.setFaults({ lostResponseRate: 1 });
    const lostOnce = setInterval(() => {
      if (proxy.stats().lostResponses > 0) proxy.setFaults({ lostResponseRate: 0 });
    }, 1);
    await write('mine').finally(() => clearInterval(lostOnce));
    expect(proxy.stats().forwardedByOperation['dynamodb:PutItem']).toBe(2);
    // Another call for the same key is a real conflict.
    expect((await rejection(write('mine'))).name).toBe('ConditionalCheckFailedException');
    expect(await stored()).toEqual(['mine']);
  });

  it('the shared document client adds a counter once when the answer of its ADD is lost', async () => {
    await createTable();
    const add = (condition?: string) =>
      documentClient().send(
        new UpdateCommand({
          TableName: table,
          Key: { pk: 'counter' },
          UpdateExpression: 'ADD n :one',
          ExpressionAttributeValues: { ':one': 1 },
          ...(condition ? { ConditionExpression: condition } : {}),
        }),
      );
    let forwarded = 0;
    const loseOneAnswer = async (call: () => Promise<unknown>) => {
      proxy.resetStats();
      proxy.setFaults({ lostResponseRate: 1 });
      const lostOnce = setInterval(() => {
        if (proxy.stats().lostResponses > 0) proxy.setFaults({ lostResponseRate: 0 });
      }, 1);
      await call().finally(() => clearInterval(lostOnce));
      forwarded += proxy.stats().forwardedByOperation['dynamodb:UpdateItem'] ?? 0;
    };
    const count = async () =>
      Number(
        (await direct(DynamoDBClient).send(new ScanCommand({ TableName: table }))).Items?.[0]?.n?.N ?? 0,
      );
    // Unconditional, then with a condition its own first attempt still meets: each applies once.
    await loseOneAnswer(() => add());
    await loseOneAnswer(() => add('attribute_exists(pk)'));
    expect(forwarded).toBe(4);
    expect(await count()).toBe(2);
    // Calls that are not retries add as often as they are made.
    await add();
    await add('attribute_exists(pk)');
    expect(await count()).toBe(4);
  });
});

describe('call counting', () => {
  it('counts each AWS call by signing service and operation, across protocols', async () => {
    const cluster = (await awsClient(ECSClient).send(new CreateClusterCommand({ clusterName: 'counted' })))
      .cluster;
    for (let i = 0; i < 7; i++) {
      await awsClient(ECSClient).send(new ListContainerInstancesCommand({ cluster: cluster?.clusterArn }));
    }
    await awsClient(SNSClient).send(new ListTopicsCommand({}));
    await awsClient(CloudWatchClient).send(
      new PutMetricDataCommand({ Namespace: 'Ops', MetricData: [{ MetricName: 'Drained', Value: 1 }] }),
    );
    await awsClient(ElasticLoadBalancingV2Client).send(new DescribeLoadBalancersCommand({}));
    await awsClient(EC2Client).send(new DescribeInstancesCommand({}));
    await awsClient(SFNClient).send(new ListStateMachinesCommand({}));
    await awsClient(EventBridgeClient).send(new ListRulesCommand({}));

    const expected = {
      'ecs:CreateCluster': 1,
      'ecs:ListContainerInstances': 7,
      'sns:ListTopics': 1,
      'monitoring:PutMetricData': 1,
      'elasticloadbalancing:DescribeLoadBalancers': 1,
      'ec2:DescribeInstances': 1,
      'states:ListStateMachines': 1,
      'events:ListRules': 1,
    };
    expect(proxy.stats()).toEqual({
      total: 14,
      forwarded: 14,
      throttled: 0,
      serverErrors: 0,
      lostResponses: 0,
      slowResponses: 0,
      byOperation: expected,
      forwardedByOperation: expected,
      appliedCallsByOperation: expected,
      conditionFailuresByOperation: {},
    });
  });

  it('passes the emulator control API through without counting or faulting it', async () => {
    await awsClient(SQSClient).send(new CreateQueueCommand({ QueueName: 'dropped' }));
    proxy.resetStats();
    proxy.setFaults({ throttleRate: 1 });
    const res = await fetch(`${proxy.endpoint}/moto-api/reset`, { method: 'POST' });
    expect(res.status).toBe(200);
    expect(proxy.stats().total).toBe(0);
    expect((await direct(SQSClient).send(new ListQueuesCommand({}))).QueueUrls ?? []).toEqual([]);
  });

  it('names the operation from raw requests', () => {
    const scope =
      'AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/ecs/aws4_request, SignedHeaders=host';
    expect(
      identifyOperation(
        'POST',
        '/',
        {
          authorization: scope,
          'x-amz-target': 'AmazonEC2ContainerServiceV20141113.ListContainerInstances',
          'content-type': 'application/x-amz-json-1.1',
        },
        Buffer.from('{}'),
      ),
    ).toEqual({ service: 'ecs', operation: 'ListContainerInstances', protocol: 'json' });
    // Unsigned: the service comes from the target prefix.
    expect(
      identifyOperation('POST', '/', { 'x-amz-target': 'AWSStepFunctions.StartExecution' }, Buffer.alloc(0)),
    ).toEqual({
      service: 'states',
      operation: 'StartExecution',
      protocol: 'json',
    });
    expect(
      identifyOperation(
        'POST',
        '/',
        {
          authorization: scope.replace('/ecs/', '/autoscaling/'),
          'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
        },
        Buffer.from('Action=SetDesiredCapacity&Version=2011-01-01&AutoScalingGroupName=web'),
      ),
    ).toEqual({ service: 'autoscaling', operation: 'SetDesiredCapacity', protocol: 'query' });
  });
});

describe('latency and determinism', () => {
  it('delays each call by the configured latency, fixed or in a range', async () => {
    const sqs = throughProxy(SQSClient, 1);
    proxy.setFaults({ latencyMs: 300 });
    let started = Date.now();
    await sqs.send(new ListQueuesCommand({}));
    const fixed = Date.now() - started;

    proxy.setFaults({ latencyMs: [150, 250] });
    const ranged: number[] = [];
    for (let i = 0; i < 4; i++) {
      started = Date.now();
      await sqs.send(new ListQueuesCommand({}));
      ranged.push(Date.now() - started);
    }
    // Lower bounds are the point; upper bounds only catch a delay that is far off.
    expect(fixed).toBeGreaterThanOrEqual(295);
    expect(fixed).toBeLessThan(5_000);
    for (const ms of ranged) {
      expect(ms).toBeGreaterThanOrEqual(145);
      expect(ms).toBeLessThan(5_000);
    }
  });

  describe('separate proxies', () => {
    const extra: { stop(): Promise<void> }[] = [];
    afterEach(async () => {
      await Promise.all(extra.splice(0).map((p) => p.stop()));
    });

    it('repeats the same faults for the same seed and request order', async () => {
      const outcomes = async (seed: number): Promise<string> => {
        const own = await startFaultProxy({ target: emulator.endpoint, throttleRate: 0.5, seed });
        extra.push(own);
        const sqs = new SQSClient({ ...clientConfig(), endpoint: own.endpoint, maxAttempts: 1 });
        let pattern = '';
        for (let i = 0; i < 24; i++) {
          pattern += await sqs.send(new ListQueuesCommand({})).then(
            () => '.',
            () => 'T',
          );
        }
        expect(own.stats().throttled).toBe([...pattern].filter((c) => c === 'T').length);
        return pattern;
      };
      const first = await outcomes(7);
      expect(await outcomes(7)).toBe(first);
      expect(await outcomes(8)).not.toBe(first);
      expect(first).toContain('T');
      expect(first).toContain('.');
    });

    it('refuses a target that is not a loopback http address, and rates outside 0..1', async () => {
      await expect(startFaultProxy({ target: 'http://10.0.0.1:4566' })).rejects.toThrow(/loopback/);
      await expect(startFaultProxy({ target: 'http://example.com' })).rejects.toThrow(/loopback/);
      await expect(
        startFaultProxy({ target: `https://127.0.0.1:${new URL(emulator.endpoint).port}` }),
      ).rejects.toThrow(/loopback/);
      await expect(startFaultProxy({ target: emulator.endpoint, throttleRate: 1.5 })).rejects.toThrow(
        RangeError,
      );
      expect(() => proxy.setFaults({ serverErrorRate: -0.1 })).toThrow(RangeError);
      expect(() => proxy.setFaults({ throttleRate: 0.6, lostResponseRate: 0.6 })).toThrow(/add up to/);
      expect(new URL(proxy.endpoint).hostname).toBe('127.0.0.1');
    });
  });
});
