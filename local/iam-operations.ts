// What AWS authorizes for each API operation the project calls: the IAM action, the resource ARNs
// it is checked on, and the condition keys the request carries. One table, read by the rig's IAM
// enforcement (iam-enforcement.ts) for every call a function or a state machine makes, and tested
// against AWS's authorization data (tests/unit/iam-operations.test.ts). An operation missing
// here fails the call that needs it: nothing goes through unevaluated.
import type { AuthorizationRequest } from './iam.ts';

/** Where a call is made: ARNs built from names use the caller's region and account. */
export interface CallPlace {
  region: string;
  accountId: string;
}

/** What the rig knows of the deployment beyond the request (a queue's or a topic's KMS key). */
export interface DeploymentFacts {
  keyOf(resourceArn: string): string | undefined;
}

// biome-ignore lint/suspicious/noExplicitAny: operation inputs are the SDK's, read by field name
type Input = Record<string, any>;
type Rule = (input: Input, at: CallPlace, facts: DeploymentFacts) => AuthorizationRequest[];

/** The client name as the SDK reports it (`ECSClient`) without `Client`, then the operation. */
export type OperationKey = `${string}.${string}`;

const NO_RESOURCE = '*';

// ---- ARN builders: a name or an ARN in, the ARN AWS authorizes on out -------------------------

const isArn = (value: unknown): value is string => typeof value === 'string' && value.startsWith('arn:');

function ecsClusterName(cluster: unknown): string {
  if (typeof cluster !== 'string' || cluster === '') return 'default';
  return isArn(cluster) ? (cluster.split(':cluster/')[1] ?? cluster) : cluster;
}

const ecsArn = (at: CallPlace, resource: string) => `arn:aws:ecs:${at.region}:${at.accountId}:${resource}`;

function ecsClusterArn(at: CallPlace, cluster: unknown): string {
  return isArn(cluster) ? cluster : ecsArn(at, `cluster/${ecsClusterName(cluster)}`);
}

/** A child of a cluster (service, task, container instance, task set) in the long ARN format. */
function ecsChildArn(at: CallPlace, kind: string, cluster: unknown, idOrArn: unknown): string {
  const clusterName = ecsClusterName(cluster);
  const value = String(idOrArn);
  if (!isArn(value)) return ecsArn(at, `${kind}/${clusterName}/${value}`);
  const path = value.split(`:${kind}/`)[1] ?? '';
  // Short ARNs (kind/id, from before the long format) are named in the cluster they belong to.
  return path.includes('/') ? value : ecsArn(at, `${kind}/${clusterName}/${path}`);
}

function ecsServiceName(service: unknown): string {
  const value = String(service);
  return isArn(value) ? (value.split('/').pop() ?? value) : value;
}

/** The task set an operation names, or a stand-in in its service when it names none (all sets). */
function ecsTaskSetArn(at: CallPlace, cluster: unknown, service: unknown, taskSet?: unknown): string {
  const clusterName = ecsClusterName(cluster);
  if (isArn(taskSet)) return taskSet;
  return ecsArn(at, `task-set/${clusterName}/${ecsServiceName(service)}/${taskSet ?? 'any-task-set'}`);
}

const ecsContext = (at: CallPlace, cluster: unknown, extra: Record<string, string> = {}) => ({
  'ecs:cluster': ecsClusterArn(at, cluster),
  ...extra,
});

const tableArn = (at: CallPlace, table: unknown) =>
  isArn(table) ? table : `arn:aws:dynamodb:${at.region}:${at.accountId}:table/${String(table)}`;

function queueArn(at: CallPlace, queueUrl: unknown): string {
  // https://sqs.<region>.amazonaws.com/<account>/<name> (or the emulator's host)
  const [account, name] = new URL(String(queueUrl)).pathname.split('/').filter(Boolean);
  return `arn:aws:sqs:${at.region}:${account ?? at.accountId}:${name ?? ''}`;
}

const alarmArn = (at: CallPlace, name: string) =>
  `arn:aws:cloudwatch:${at.region}:${at.accountId}:alarm:${name}`;

// The group's id is in its ARN but not in the request: policies name groups by their name part.
const autoScalingGroupArn = (at: CallPlace, name: unknown) =>
  `arn:aws:autoscaling:${at.region}:${at.accountId}:autoScalingGroup:00000000-0000-0000-0000-000000000000:autoScalingGroupName/${String(name)}`;

// ---- the table -------------------------------------------------------------------------------

const one = (action: string, resource: string, context?: AuthorizationRequest['context']) => [
  { action, resource, ...(context ? { context } : {}) },
];

/** Writing to (or reading from) a KMS-encrypted queue or topic also needs the key. */
function withKey(facts: DeploymentFacts, resource: string, keyActions: string[]): AuthorizationRequest[] {
  const key = facts.keyOf(resource);
  return key ? keyActions.map((action) => ({ action, resource: key })) : [];
}

function dynamo(action: string): Rule {
  return (input, at) => one(`dynamodb:${action}`, tableArn(at, input.TableName));
}

function dynamoBatch(action: string): Rule {
  return (input, at) =>
    Object.keys(input.RequestItems ?? {}).map((table) => ({
      action: `dynamodb:${action}`,
      resource: tableArn(at, table),
    }));
}

/**
 * A write transaction has no action of its own: each item needs the action it takes (PutItem,
 * UpdateItem, DeleteItem, ConditionCheckItem) on its table, with the enclosing operation named.
 */
const TRANSACT_ITEM_ACTIONS: Record<string, string> = {
  Put: 'PutItem',
  Update: 'UpdateItem',
  Delete: 'DeleteItem',
  ConditionCheck: 'ConditionCheckItem',
};

function dynamoTransaction(input: Input, at: CallPlace): AuthorizationRequest[] {
  return ((input.TransactItems ?? []) as Record<string, { TableName?: string }>[]).flatMap((item) =>
    Object.entries(item).map(([kind, request]) => {
      const action = TRANSACT_ITEM_ACTIONS[kind];
      if (!action) throw new Error(`TransactWriteItems: unknown item kind ${kind}`);
      return {
        action: `dynamodb:${action}`,
        resource: tableArn(at, request.TableName),
        context: { 'dynamodb:EnclosingOperation': 'TransactWriteItems' },
      };
    }),
  );
}

/** An ECS operation on each child of a cluster the input lists (services, tasks, instances). */
function eachEcsChild(action: string, kind: string, field: string): Rule {
  return (input, at) =>
    (input[field] ?? []).map((child: string) => ({
      action,
      resource: ecsChildArn(at, kind, input.cluster, child),
      context: ecsContext(at, input.cluster),
    }));
}

/** An ECS operation on a task set (the input's, or any of the service's), in its service. */
function onTaskSet(action: string): Rule {
  return (input, at) =>
    (input.taskSets?.length ? input.taskSets : [input.taskSet]).map((taskSet: string | undefined) => ({
      action,
      resource: ecsTaskSetArn(at, input.cluster, input.service, taskSet),
      context: ecsContext(at, input.cluster, {
        'ecs:service': ecsChildArn(at, 'service', input.cluster, input.service),
      }),
    }));
}

/** Sending one message or a batch: the queue, and its key when it has one. */
const sqsSend: Rule = (input, at, facts) => {
  const queue = queueArn(at, input.QueueUrl);
  return [...one('sqs:SendMessage', queue), ...withKey(facts, queue, ['kms:GenerateDataKey', 'kms:Decrypt'])];
};

/** Roles a task definition hands to ECS: each is passed (iam:PassRole) to ecs-tasks. */
function passedTaskRoles(input: Input): AuthorizationRequest[] {
  return [input.taskRoleArn, input.executionRoleArn]
    .filter((role): role is string => typeof role === 'string' && role !== '')
    .map((role) => ({
      action: 'iam:PassRole',
      resource: role,
      context: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' },
    }));
}

export const OPERATIONS: Record<OperationKey, Rule> = {
  // DynamoDB (the document client sends these under the hood)
  'DynamoDB.GetItem': dynamo('GetItem'),
  'DynamoDB.PutItem': dynamo('PutItem'),
  'DynamoDB.UpdateItem': dynamo('UpdateItem'),
  'DynamoDB.DeleteItem': dynamo('DeleteItem'),
  'DynamoDB.Scan': dynamo('Scan'),
  'DynamoDB.Query': (input, at) =>
    one(
      'dynamodb:Query',
      input.IndexName
        ? `${tableArn(at, input.TableName)}/index/${input.IndexName}`
        : tableArn(at, input.TableName),
    ),
  'DynamoDB.BatchGetItem': dynamoBatch('BatchGetItem'),
  'DynamoDB.BatchWriteItem': dynamoBatch('BatchWriteItem'),
  'DynamoDB.TransactWriteItems': dynamoTransaction,

  // ECS
  'ECS.DescribeServices': eachEcsChild('ecs:DescribeServices', 'service', 'services'),
  'ECS.UpdateService': (input, at) =>
    one(
      'ecs:UpdateService',
      ecsChildArn(at, 'service', input.cluster, input.service),
      ecsContext(
        at,
        input.cluster,
        input.taskDefinition ? { 'ecs:task-definition': input.taskDefinition } : {},
      ),
    ),
  'ECS.CreateTaskSet': (input, at) => [
    ...one(
      'ecs:CreateTaskSet',
      ecsTaskSetArn(at, input.cluster, input.service, 'new-task-set'),
      ecsContext(at, input.cluster, {
        'ecs:service': ecsChildArn(at, 'service', input.cluster, input.service),
        ...(input.taskDefinition ? { 'ecs:task-definition': String(input.taskDefinition) } : {}),
      }),
    ),
    ...((input.tags ?? []).length > 0
      ? one('ecs:TagResource', ecsTaskSetArn(at, input.cluster, input.service, 'new-task-set'), {
          'ecs:CreateAction': 'CreateTaskSet',
        })
      : []),
  ],
  'ECS.UpdateTaskSet': onTaskSet('ecs:UpdateTaskSet'),
  'ECS.DeleteTaskSet': onTaskSet('ecs:DeleteTaskSet'),
  'ECS.DescribeTaskSets': onTaskSet('ecs:DescribeTaskSets'),
  'ECS.UpdateServicePrimaryTaskSet': (input, at) =>
    one(
      'ecs:UpdateServicePrimaryTaskSet',
      ecsChildArn(at, 'service', input.cluster, input.service),
      ecsContext(at, input.cluster),
    ),
  'ECS.DescribeTaskDefinition': () => one('ecs:DescribeTaskDefinition', NO_RESOURCE),
  'ECS.RegisterTaskDefinition': (input, at) => {
    // The revision is not known before the call: policies grant a family's revisions (family:*).
    const definition = ecsArn(at, `task-definition/${String(input.family)}:next-revision`);
    return [
      ...one('ecs:RegisterTaskDefinition', definition),
      ...((input.tags ?? []).length > 0
        ? one('ecs:TagResource', definition, { 'ecs:CreateAction': 'RegisterTaskDefinition' })
        : []),
      ...passedTaskRoles(input),
    ];
  },
  'ECS.TagResource': (input) => one('ecs:TagResource', String(input.resourceArn)),
  'ECS.ListTasks': (input, at) =>
    one(
      'ecs:ListTasks',
      input.containerInstance
        ? ecsChildArn(at, 'container-instance', input.cluster, input.containerInstance)
        : ecsArn(at, `container-instance/${ecsClusterName(input.cluster)}/any-container-instance`),
      ecsContext(at, input.cluster),
    ),
  'ECS.DescribeTasks': eachEcsChild('ecs:DescribeTasks', 'task', 'tasks'),
  'ECS.StopTask': (input, at) =>
    one('ecs:StopTask', ecsChildArn(at, 'task', input.cluster, input.task), ecsContext(at, input.cluster)),
  'ECS.ListContainerInstances': (input, at) =>
    one('ecs:ListContainerInstances', ecsClusterArn(at, input.cluster)),
  'ECS.DescribeContainerInstances': eachEcsChild(
    'ecs:DescribeContainerInstances',
    'container-instance',
    'containerInstances',
  ),
  'ECS.UpdateContainerInstancesState': eachEcsChild(
    'ecs:UpdateContainerInstancesState',
    'container-instance',
    'containerInstances',
  ),

  // Elastic Load Balancing: the describes take no resource
  'ElasticLoadBalancingV2.DescribeListeners': () =>
    one('elasticloadbalancing:DescribeListeners', NO_RESOURCE),
  'ElasticLoadBalancingV2.DescribeRules': () => one('elasticloadbalancing:DescribeRules', NO_RESOURCE),
  'ElasticLoadBalancingV2.DescribeTargetHealth': () =>
    one('elasticloadbalancing:DescribeTargetHealth', NO_RESOURCE),
  'ElasticLoadBalancingV2.DescribeTargetGroups': () =>
    one('elasticloadbalancing:DescribeTargetGroups', NO_RESOURCE),
  'ElasticLoadBalancingV2.DescribeLoadBalancers': () =>
    one('elasticloadbalancing:DescribeLoadBalancers', NO_RESOURCE),
  'ElasticLoadBalancingV2.ModifyListener': (input) =>
    one('elasticloadbalancing:ModifyListener', String(input.ListenerArn)),
  'ElasticLoadBalancingV2.ModifyRule': (input) =>
    one('elasticloadbalancing:ModifyRule', String(input.RuleArn)),

  // CloudWatch
  'CloudWatch.DescribeAlarms': (input, at) =>
    (input.AlarmNames?.length ? input.AlarmNames : [`${input.AlarmNamePrefix ?? ''}any-alarm`]).map(
      (name: string) => ({ action: 'cloudwatch:DescribeAlarms', resource: alarmArn(at, name) }),
    ),
  'CloudWatch.GetMetricData': () => one('cloudwatch:GetMetricData', NO_RESOURCE),
  'CloudWatch.ListTagsForResource': (input) =>
    one('cloudwatch:ListTagsForResource', String(input.ResourceARN)),

  // Auto Scaling
  'AutoScaling.DescribeAutoScalingGroups': () => one('autoscaling:DescribeAutoScalingGroups', NO_RESOURCE),
  'AutoScaling.DescribeAutoScalingInstances': () =>
    one('autoscaling:DescribeAutoScalingInstances', NO_RESOURCE),
  'AutoScaling.SetDesiredCapacity': (input, at) =>
    one('autoscaling:SetDesiredCapacity', autoScalingGroupArn(at, input.AutoScalingGroupName)),
  'ApplicationAutoScaling.DescribeScalableTargets': () =>
    one('application-autoscaling:DescribeScalableTargets', NO_RESOURCE),
  'ApplicationAutoScaling.RegisterScalableTarget': (input, at) => {
    // The target's ARN carries an id AWS assigns; policies grant scalable-target/* and condition.
    const register = one(
      'application-autoscaling:RegisterScalableTarget',
      `arn:aws:application-autoscaling:${at.region}:${at.accountId}:scalable-target/any-scalable-target`,
      {
        'application-autoscaling:service-namespace': String(input.ServiceNamespace),
        'application-autoscaling:scalable-dimension': String(input.ScalableDimension),
      },
    );
    // Application Auto Scaling validates the caller's permissions on the target before it registers
    // it; for an ECS service (`service/<cluster>/<service>`) those are DescribeServices and UpdateService.
    const [kind, cluster, service] = String(input.ResourceId ?? '').split('/');
    if (input.ServiceNamespace !== 'ecs' || kind !== 'service' || !cluster || !service) return register;
    const serviceArn = ecsArn(at, `service/${cluster}/${service}`);
    return [
      ...register,
      ...one('ecs:DescribeServices', serviceArn, ecsContext(at, cluster)),
      ...one('ecs:UpdateService', serviceArn, ecsContext(at, cluster)),
    ];
  },

  // SQS and SNS (writes to an encrypted queue or topic use its key)
  'SQS.SendMessage': sqsSend,
  'SQS.SendMessageBatch': sqsSend,
  'SQS.ReceiveMessage': (input, at, facts) => {
    const queue = queueArn(at, input.QueueUrl);
    return [...one('sqs:ReceiveMessage', queue), ...withKey(facts, queue, ['kms:Decrypt'])];
  },
  'SQS.DeleteMessage': (input, at) => one('sqs:DeleteMessage', queueArn(at, input.QueueUrl)),
  'SQS.DeleteMessageBatch': (input, at) => one('sqs:DeleteMessage', queueArn(at, input.QueueUrl)),
  'SQS.ChangeMessageVisibility': (input, at) =>
    one('sqs:ChangeMessageVisibility', queueArn(at, input.QueueUrl)),
  'SQS.GetQueueAttributes': (input, at) => one('sqs:GetQueueAttributes', queueArn(at, input.QueueUrl)),
  'SNS.Publish': (input, _at, facts) => {
    const topic = String(input.TopicArn);
    return [...one('sns:Publish', topic), ...withKey(facts, topic, ['kms:GenerateDataKey', 'kms:Decrypt'])];
  },

  // Step Functions: task-token answers take no resource
  'SFN.StartExecution': (input) => one('states:StartExecution', String(input.stateMachineArn)),
  'SFN.DescribeExecution': (input) => one('states:DescribeExecution', String(input.executionArn)),
  'SFN.StopExecution': (input) => one('states:StopExecution', String(input.executionArn)),
  'SFN.ListExecutions': (input) => one('states:ListExecutions', String(input.stateMachineArn)),
  'SFN.SendTaskSuccess': () => one('states:SendTaskSuccess', NO_RESOURCE),
  'SFN.SendTaskFailure': () => one('states:SendTaskFailure', NO_RESOURCE),
  'SFN.SendTaskHeartbeat': () => one('states:SendTaskHeartbeat', NO_RESOURCE),

  // Secrets Manager (the API's origin-verify authorizer): a secret named by its ARN
  'SecretsManager.GetSecretValue': (input) => one('secretsmanager:GetSecretValue', String(input.SecretId)),
};

/**
 * What a state machine's role needs for service integrations that are not SDK calls: invoking a
 * function, and starting a nested execution and waiting for it (.sync), which Step Functions does
 * through a managed EventBridge rule.
 */
export const INTEGRATIONS = {
  invokeFunction: (functionArn: string): AuthorizationRequest[] => one('lambda:InvokeFunction', functionArn),
  startExecutionSync: (
    at: CallPlace,
    stateMachineArn: string,
    executionArn: string,
  ): AuthorizationRequest[] => {
    const rule = `arn:aws:events:${at.region}:${at.accountId}:rule/StepFunctionsGetEventsForStepFunctionsExecutionRule`;
    return [
      ...one('states:StartExecution', stateMachineArn),
      ...one('states:DescribeExecution', executionArn),
      ...one('states:StopExecution', executionArn),
      ...one('events:PutTargets', rule),
      ...one('events:PutRule', rule),
      ...one('events:DescribeRule', rule),
    ];
  },
  /** Lambda's poller reads and deletes a queue's messages with the function's own role. */
  pollQueue: (queue: string, facts: DeploymentFacts): AuthorizationRequest[] => [
    ...one('sqs:ReceiveMessage', queue),
    ...one('sqs:DeleteMessage', queue),
    ...one('sqs:GetQueueAttributes', queue),
    ...withKey(facts, queue, ['kms:Decrypt']),
  ],
};
