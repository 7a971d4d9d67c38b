// The stack the workflow runner is proven on: a few small workflows built with the real CDK
// constructs, each exercising one kind of task, synthesized as `cdk synth` would.
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { CfnTemplateLike } from '../../local/template.ts';

export const REGION = 'us-east-1';
export const ACCOUNT = '123456789012';
export const TABLE_NAME = 'runner-inventory';
export const CLUSTER_NAME = 'runner-cluster';
export const CHILD_MACHINE = 'runner-child';

// ---------------------------------------------------------------------------------------------
// The stack under test: a few small workflows, each exercising one kind of task.

export function buildTemplate(): CfnTemplateLike {
  // The cdk CLI adds aws:cdk:path metadata; findByPath relies on it.
  const app = new App({ context: { 'aws:cdk:enable-path-metadata': true } });
  const stack = new Stack(app, 'RunnerTest', { env: { account: ACCOUNT, region: REGION } });
  const code = lambda.Code.fromInline('exports.handler = async () => ({});');
  const fn = (id: string) =>
    new lambda.Function(stack, id, {
      runtime: lambda.Runtime.NODEJS_22_X,
      handler: 'index.handler',
      code,
      environment: { TABLE_NAME: table.tableName, TOPIC_ARN: topic.topicArn, REGION: stack.region },
    });
  const table = new dynamodb.Table(stack, 'Inventory', {
    partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
  });
  const topic = new sns.Topic(stack, 'Events');
  const pricing = fn('Pricing');
  const checker = fn('Checker');
  const clockReader = fn('ClockReader');
  const approvals = fn('Approvals');
  const machine = (id: string, definition: sfn.IChainable, timeout?: Duration) =>
    new sfn.StateMachine(stack, id, {
      definitionBody: sfn.DefinitionBody.fromChainable(definition),
      ...(timeout ? { timeout } : {}),
    });

  // Orders: LambdaInvoke with payload in/out, retry on a named error, catch of a named error, a Fail state.
  {
    const price = new tasks.LambdaInvoke(stack, 'Price order', {
      lambdaFunction: pricing,
      payload: sfn.TaskInput.fromObject({ 'sku.$': '$.sku', 'qty.$': '$.qty' }),
      resultSelector: {
        'total.$': '$.Payload.total',
        'statusCode.$': '$.StatusCode',
        'version.$': '$.ExecutedVersion',
      },
      resultPath: '$.price',
      retryOnServiceExceptions: false,
    });
    price.addRetry({
      errors: ['PriceServiceBusy'],
      interval: Duration.seconds(30),
      maxAttempts: 2,
      backoffRate: 2,
    });
    const check = new tasks.LambdaInvoke(stack, 'Check order', {
      lambdaFunction: checker,
      payloadResponseOnly: true,
      resultPath: '$.check',
      retryOnServiceExceptions: false,
    });
    check.addCatch(new sfn.Pass(stack, 'Rejected'), { errors: ['InvalidInput'], resultPath: '$.rejection' });
    const route = new sfn.Choice(stack, 'Route')
      .when(
        sfn.Condition.stringEquals('$.mode', 'fail'),
        new sfn.Fail(stack, 'Give up', { error: 'GaveUp', cause: 'asked to fail' }),
      )
      .otherwise(price.next(check).next(new sfn.Succeed(stack, 'Accepted')));
    machine('Orders', route);
  }

  // Inventory: DynamoDB through the AWS SDK integration and the optimized one.
  {
    const save = new tasks.CallAwsService(stack, 'Save item', {
      service: 'dynamodb',
      action: 'putItem',
      parameters: { TableName: table.tableName, Item: { pk: { 'S.$': '$.id' }, qty: { 'N.$': '$.qty' } } },
      iamResources: [table.tableArn],
      resultPath: sfn.JsonPath.DISCARD,
    });
    const load = new tasks.CallAwsService(stack, 'Load item', {
      service: 'dynamodb',
      action: 'getItem',
      parameters: { TableName: table.tableName, Key: { pk: { 'S.$': '$.id' } } },
      iamResources: [table.tableArn],
      resultSelector: { 'qty.$': '$.Item.qty.N' },
      resultPath: '$.loaded',
    });
    const insertSdk = new tasks.CallAwsService(stack, 'Insert once (SDK)', {
      service: 'dynamodb',
      action: 'putItem',
      parameters: {
        TableName: table.tableName,
        Item: { pk: { 'S.$': '$.id' } },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
      iamResources: [table.tableArn],
      resultPath: sfn.JsonPath.DISCARD,
    });
    const insertOptimized = new tasks.DynamoPutItem(stack, 'Insert once', {
      table,
      item: { pk: tasks.DynamoAttributeValue.fromString(sfn.JsonPath.stringAt('$.id')) },
      conditionExpression: 'attribute_not_exists(pk)',
      resultPath: sfn.JsonPath.DISCARD,
    });
    const done = new sfn.Succeed(stack, 'Stocked');
    insertSdk.addCatch(new sfn.Pass(stack, 'Already there (SDK)').next(insertOptimized), {
      errors: ['DynamoDb.ConditionalCheckFailedException'],
      resultPath: '$.sdkConflict',
    });
    insertOptimized.addCatch(new sfn.Pass(stack, 'Already there').next(done), {
      errors: ['DynamoDB.ConditionalCheckFailedException'],
      resultPath: '$.conflict',
    });
    machine('Stock', save.next(load).next(insertSdk).next(insertOptimized).next(done));
  }

  // Fleet: an ECS API (camelCase in the JavaScript SDK) through the PascalCase SDK integration.
  {
    const describe = new tasks.CallAwsService(stack, 'Describe cluster', {
      service: 'ecs',
      action: 'describeClusters',
      parameters: { 'Clusters.$': 'States.Array($.cluster)' },
      iamResources: ['*'],
      resultSelector: { 'name.$': '$.Clusters[0].ClusterName', 'status.$': '$.Clusters[0].Status' },
      resultPath: '$.cluster',
    });
    const scale = new tasks.CallAwsService(stack, 'Scale service', {
      service: 'ecs',
      action: 'updateService',
      parameters: { 'Cluster.$': '$.cluster.name', Service: 'no-such-service', DesiredCount: 2 },
      iamResources: ['*'],
      resultPath: '$.scaled',
    });
    scale.addCatch(new sfn.Pass(stack, 'No such service'), {
      errors: ['Ecs.ServiceNotFoundException'],
      resultPath: '$.scaleError',
    });
    machine('Fleet', describe.next(scale));
  }

  // Notify: SNS publish through the optimized integration.
  machine(
    'Notify',
    new tasks.SnsPublish(stack, 'Publish order', {
      topic,
      message: sfn.TaskInput.fromObject({ 'orderId.$': '$.orderId', kind: 'accepted' }),
      subject: 'order',
      resultPath: '$.published',
    }),
  );

  // Patience: an hour-long Wait, a SecondsPath Wait, then a Lambda that reads the virtual clock.
  machine(
    'Patience',
    new sfn.Wait(stack, 'Wait an hour', { time: sfn.WaitTime.duration(Duration.hours(1)) })
      .next(new sfn.Wait(stack, 'Wait as asked', { time: sfn.WaitTime.secondsPath('$.extraSeconds') }))
      .next(
        new tasks.LambdaInvoke(stack, 'Read clock', {
          lambdaFunction: clockReader,
          payloadResponseOnly: true,
          resultPath: '$.seenAt',
        }),
      ),
    Duration.hours(2),
  );

  // Approval: two callbacks in a row; States.TaskFailed is caught before States.Timeout.
  {
    const ask = new tasks.LambdaInvoke(stack, 'Ask for approval', {
      lambdaFunction: approvals,
      integrationPattern: sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
      payload: sfn.TaskInput.fromObject({ token: sfn.JsonPath.taskToken, 'request.$': '$.request' }),
      taskTimeout: sfn.Timeout.duration(Duration.hours(1)),
      resultPath: '$.approval',
      retryOnServiceExceptions: false,
    });
    ask.addCatch(new sfn.Pass(stack, 'Approval failed'), {
      errors: ['States.TaskFailed'],
      resultPath: '$.failure',
    });
    ask.addCatch(new sfn.Pass(stack, 'Approval timed out'), {
      errors: ['States.Timeout'],
      resultPath: '$.timeout',
    });
    const confirm = new tasks.LambdaInvoke(stack, 'Confirm', {
      lambdaFunction: approvals,
      integrationPattern: sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
      payload: sfn.TaskInput.fromObject({ token: sfn.JsonPath.taskToken, step: 'confirm' }),
      resultPath: '$.confirmation',
      retryOnServiceExceptions: false,
    });
    machine('Approval', ask.next(confirm).next(new sfn.Succeed(stack, 'Approved')));
  }

  // Fanout: tasks and waits inside a Map iterator and Parallel branches, and a plain Lambda ARN resource.
  {
    const perItem = new sfn.Map(stack, 'Each item', { itemsPath: '$.items', resultPath: '$.priced' });
    perItem.itemProcessor(
      new sfn.Wait(stack, 'Pause per item', { time: sfn.WaitTime.duration(Duration.minutes(1)) }).next(
        new tasks.LambdaInvoke(stack, 'Price item', { lambdaFunction: pricing, payloadResponseOnly: true }),
      ),
    );
    const both = new sfn.Parallel(stack, 'Both checks', { resultPath: '$.checks' })
      .branch(new sfn.Pass(stack, 'Static check', { result: sfn.Result.fromObject({ static: true }) }))
      .branch(
        new sfn.CustomState(stack, 'Legacy check', {
          stateJson: { Type: 'Task', Resource: checker.functionArn },
        }),
      );
    machine('Fanout', perItem.next(both));
  }

  // Handoff: SQS send with a task token, EventBridge put, and a child execution.
  {
    const work = new sqs.Queue(stack, 'Work');
    const handOff = new tasks.SqsSendMessage(stack, 'Hand off', {
      queue: work,
      integrationPattern: sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
      messageBody: sfn.TaskInput.fromObject({ token: sfn.JsonPath.taskToken, 'job.$': '$.job' }),
      resultPath: '$.handoff',
    });
    const announce = new tasks.EventBridgePutEvents(stack, 'Announce', {
      entries: [
        {
          source: 'runner.test',
          detailType: 'JobDone',
          detail: sfn.TaskInput.fromObject({ 'job.$': '$.job', 'result.$': '$.handoff' }),
        },
      ],
      resultPath: '$.announced',
    });
    const child = new tasks.StepFunctionsStartExecution(stack, 'Start child', {
      stateMachine: sfn.StateMachine.fromStateMachineName(stack, 'Child', CHILD_MACHINE),
      input: sfn.TaskInput.fromObject({ 'job.$': '$.job' }),
      resultSelector: { 'arn.$': '$.ExecutionArn' },
      resultPath: '$.child',
    });
    machine('Handoff', handOff.next(announce).next(child));
  }

  return Template.fromStack(stack).toJSON() as CfnTemplateLike;
}
