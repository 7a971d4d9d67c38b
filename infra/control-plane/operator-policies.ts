// Who may operate: two customer-managed policies to attach to people's roles (SSO
// permission sets, federated roles). The viewer reads workflows, the journal, locks,
// alarms and topics; the operator also starts, approves, rejects and aborts workflows and
// manages silences. Both are scoped to this environment's state machines, tables, topics
// and alarms; what remains "*" is what the API cannot scope, acknowledged below.
import { ArnFormat, Stack, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { alarmArnPattern } from '../shared/alarms.ts';
import { acknowledgeWildcardResources } from '../shared/nag-findings.ts';

export interface OperatorPoliciesProps {
  /** ecs-ops-<env>: managed policy names and the alarm-name scope. */
  readonly namePrefix: string;
  readonly stateMachines: readonly sfn.StateMachine[];
  /** Read by both: journal, locks, operation records. */
  readonly tables: readonly dynamodb.ITable[];
  /** Where silences live (`ops silence`): operators may write these items of this table, nothing else. */
  readonly silences?: { readonly table: dynamodb.ITable; readonly itemKeys: readonly string[] };
  readonly topics: readonly sns.ITopic[];
  /**
   * Where `ops approve|reject|abort|rollback` claim their answer before sending it (and where an ECS
   * deployment's lifecycle hook takes it), and where `ops train abort` stops a train's line: these
   * items of the operations table, nothing else.
   */
  readonly answers?: { readonly table: dynamodb.ITable; readonly keyPatterns: readonly string[] };
  /** Listeners and rules of the rolled-out services: `ops abort` and `ops rollback` put traffic back on blue there. */
  readonly routeArns?: readonly string[];
  /** The action journal: `ops abort` and `ops rollback` journal what the operator did there. */
  readonly journal?: dynamodb.ITable;
}

/** Read-only actions per resource type; the operator policy repeats them (policies are attached alone). */
const READ = {
  stateMachine: ['states:DescribeStateMachine', 'states:ListExecutions'],
  execution: [
    'states:DescribeExecution',
    'states:GetExecutionHistory',
    'states:DescribeStateMachineForExecution',
  ],
  table: [
    'dynamodb:DescribeTable',
    'dynamodb:GetItem',
    'dynamodb:BatchGetItem',
    'dynamodb:Query',
    'dynamodb:Scan',
  ],
  topic: ['sns:GetTopicAttributes', 'sns:ListSubscriptionsByTopic'],
  alarm: ['cloudwatch:DescribeAlarms', 'cloudwatch:DescribeAlarmHistory'],
  /** No resource-level permissions exist for these. */
  unscoped: ['states:ListStateMachines', 'cloudwatch:GetMetricData', 'cloudwatch:ListMetrics'],
} as const;

export class OperatorPolicies extends Construct {
  readonly viewer: iam.ManagedPolicy;
  readonly operator: iam.ManagedPolicy;

  constructor(scope: Construct, id: string, props: OperatorPoliciesProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const stateMachineArns = props.stateMachines.map((m) => m.stateMachineArn);
    const executionArns = props.stateMachines.map((m) =>
      stack.formatArn({
        service: 'states',
        resource: 'execution',
        resourceName: `${m.stateMachineName}:*`,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      }),
    );
    const tableArns = props.tables.flatMap((t) => [t.tableArn, `${t.tableArn}/index/*`]);
    const alarmArns = [alarmArnPattern(stack, `${props.namePrefix}-*`)];

    const readStatements = (): iam.PolicyStatement[] => [
      new iam.PolicyStatement({
        sid: 'ReadWorkflows',
        actions: [...READ.stateMachine],
        resources: stateMachineArns,
      }),
      new iam.PolicyStatement({
        sid: 'ReadWorkflowRuns',
        actions: [...READ.execution],
        resources: executionArns,
      }),
      new iam.PolicyStatement({
        sid: 'ReadJournalLocksAndRecords',
        actions: [...READ.table],
        resources: tableArns,
      }),
      new iam.PolicyStatement({
        sid: 'ReadAlertTopics',
        actions: [...READ.topic],
        resources: props.topics.map((t) => t.topicArn),
      }),
      new iam.PolicyStatement({ sid: 'ReadAlarms', actions: [...READ.alarm], resources: alarmArns }),
      new iam.PolicyStatement({ sid: 'ListAndReadMetrics', actions: [...READ.unscoped], resources: ['*'] }),
    ];

    this.viewer = new iam.ManagedPolicy(this, 'Viewer', {
      managedPolicyName: `${props.namePrefix}-viewer`,
      description: `ecs-ops ${props.namePrefix}: read workflows, journal, locks, alarms and alert topics`,
      statements: readStatements(),
    });

    const operatorStatements = [
      ...readStatements(),
      new iam.PolicyStatement({
        sid: 'StartWorkflows',
        actions: ['states:StartExecution'],
        resources: stateMachineArns,
      }),
      new iam.PolicyStatement({
        sid: 'AbortAndRedriveWorkflowRuns',
        actions: ['states:StopExecution', 'states:RedriveExecution'],
        resources: executionArns,
      }),
      // Approve and reject answer a task token; SendTask* has no resource-level permissions.
      new iam.PolicyStatement({
        sid: 'ApproveOrRejectGates',
        actions: ['states:SendTaskSuccess', 'states:SendTaskFailure'],
        resources: ['*'],
      }),
      ...(props.answers
        ? [
            new iam.PolicyStatement({
              sid: 'ClaimGateAnswersAndAborts',
              actions: ['dynamodb:UpdateItem'],
              resources: [props.answers.table.tableArn],
              // Only rollout records, remediation gates and release trains (`ops train abort`): the
              // rest of the table is the workflows' state.
              conditions: {
                'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [...props.answers.keyPatterns] },
              },
            }),
          ]
        : []),
      ...(props.journal
        ? [
            new iam.PolicyStatement({
              sid: 'JournalOperatorActions',
              actions: ['dynamodb:BatchWriteItem'],
              resources: [props.journal.tableArn],
            }),
          ]
        : []),
      ...(props.routeArns && props.routeArns.length > 0
        ? [
            new iam.PolicyStatement({
              sid: 'PutTrafficBackOnBlue',
              actions: ['elasticloadbalancing:ModifyListener', 'elasticloadbalancing:ModifyRule'],
              resources: [...props.routeArns],
            }),
            // The weights are read back after the change; Describe* has no resource-level permissions.
            new iam.PolicyStatement({
              sid: 'ReadBackWeights',
              actions: ['elasticloadbalancing:DescribeListeners', 'elasticloadbalancing:DescribeRules'],
              resources: ['*'],
            }),
          ]
        : []),
      ...(props.silences
        ? [
            new iam.PolicyStatement({
              // `ops silence`, `ops unsilence` and `ops ack` (acknowledgements live in the same item).
              sid: 'ManageSilences',
              actions: ['dynamodb:PutItem', 'dynamodb:UpdateItem'],
              resources: [props.silences.table.tableArn],
              // Only the silence items: the rest of the table is the alert router's state.
              conditions: {
                'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': [...props.silences.itemKeys] },
              },
            }),
          ]
        : []),
    ];
    this.operator = new iam.ManagedPolicy(this, 'Operator', {
      managedPolicyName: `${props.namePrefix}-operator`,
      description: `ecs-ops ${props.namePrefix}: operate workflows (start, approve, reject, abort, roll back) and silences`,
      statements: operatorStatements,
    });

    if (props.routeArns && props.routeArns.length > 0)
      acknowledgeWildcardResources(
        this.operator,
        [...props.routeArns],
        'Listener and rule ids are generated; the grant covers the listeners and rules of the rolled-out services’ load balancers, by name.',
      );
    for (const policy of [this.viewer, this.operator]) {
      acknowledgeWildcardResources(
        policy,
        executionArns,
        'Executions are named at start; the grant covers the executions of this environment’s state machines only.',
      );
      acknowledgeWildcardResources(
        policy,
        props.tables.map((t) => `${t.tableArn}/index/*`),
        'Journal queries go through its indexes; the grant covers these tables’ indexes only.',
      );
      acknowledgeWildcardResources(
        policy,
        alarmArns,
        'Alarms are named <prefix>-<what>; the grant covers this environment’s alarms only.',
      );
      Validations.of(policy).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'states:ListStateMachines, cloudwatch:GetMetricData/ListMetrics and states:SendTaskSuccess/SendTaskFailure support no resource-level permissions.',
      });
    }
  }
}
