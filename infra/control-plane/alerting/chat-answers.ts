// Answers from chat: the approve, reject and roll back buttons (Amazon Q Developer custom actions)
// on the notifications that ask for them (a rollout's gate, its rollback window), and the
// chat-answer function they invoke. A button runs `lambda invoke` with the channel's role (or the
// person's own user role), which may invoke this one function and nothing else. With a Slack
// channel in the config, the stack creates the buttons and configures the channel: the three
// topics, the role, a guardrail of the same scope, and the buttons. Without one, only the function.
import { Duration, Validations } from 'aws-cdk-lib';
import * as chatbot from 'aws-cdk-lib/aws-chatbot';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { CHAT_ACTION_CONTEXT, type ChatChoices } from '../../../events/chat-notification.ts';
import type { ChatAnswerEnvInput } from '../../../functions/chat-answer/config.ts';
import { ConfigError } from '../../config.ts';
import { acknowledgeWildcardResources } from '../../shared/nag-findings.ts';
import { BundledFunction, lambdaEnvironment } from '../shared/bundled-function.ts';
import { grantItemActions, SHARED_TABLE_ACCESS, type StateTables } from '../shared/state-tables.ts';
import type { AlertTopics } from './alert-topics.ts';

export interface ChatChannel {
  readonly slackWorkspaceId: string;
  readonly slackChannelId: string;
}

export interface ChatAnswersProps {
  /** ecs-ops-<env>: prefix of the function's and the actions' names. */
  readonly namePrefix: string;
  readonly environmentName: string;
  readonly tables: StateTables;
  readonly topics: AlertTopics;
  /** The managed listeners and rules: a rollback in the window puts traffic back on blue. */
  readonly routeArns: readonly string[];
  readonly chat?: ChatChannel;
  readonly assetRoot?: string;
}

/** Amazon Q Developer runs a command of at most 100 characters (its API's limit). */
export const MAX_COMMAND_LENGTH = 100;

/** Each button: its text, its answer, and the choices of the notifications it goes on. */
export const CHAT_BUTTONS: { id: string; text: string; answer: string; on: ChatChoices }[] = [
  { id: 'Approve', text: 'Approve', answer: 'approve', on: 'approve-reject' },
  { id: 'Reject', text: 'Reject', answer: 'reject', on: 'approve-reject' },
  { id: 'RollBack', text: 'Roll back', answer: 'rollback', on: 'rollback' },
];

/** The command a button runs (`$e` is the execution the notification names). */
export const chatCommand = (functionName: string, answer: string): string =>
  `lambda invoke --function-name ${functionName} --payload {"rollout":"$e","answer":"${answer}"}`;

export class ChatAnswers extends Construct {
  readonly function: BundledFunction;
  readonly actions: chatbot.CfnCustomAction[];
  readonly channel?: chatbot.CfnSlackChannelConfiguration;
  readonly channelRole?: iam.Role;

  constructor(scope: Construct, id: string, props: ChatAnswersProps) {
    super(scope, id);
    const functionName = `${props.namePrefix}-answer`;
    const channelName = `${props.namePrefix}-alerts`;
    for (const button of CHAT_BUTTONS) {
      const command = chatCommand(functionName, button.answer);
      if (command.length > MAX_COMMAND_LENGTH)
        throw new ConfigError(`config/${props.environmentName}.json`, [
          {
            key: 'name',
            message: `the ${button.text} button's command is ${command.length} characters, over Amazon Q Developer's ${MAX_COMMAND_LENGTH}: use a shorter environment name`,
          },
        ]);
    }

    const env: ChatAnswerEnvInput = {
      OPERATIONS_TABLE: props.tables.operations.tableName,
      JOURNAL_TABLE: props.tables.journal.tableName,
      OPS_ENVIRONMENT: props.environmentName,
      CHAT_CHANNEL: props.chat ? channelName : 'chat',
    };
    this.function = new BundledFunction(this, 'Function', {
      name: 'chat-answer',
      functionName,
      description: 'Chat buttons: approve or reject a rollout gate, or roll a rollout back',
      memorySize: 256,
      // A chat command times out after 15 s: the answer must come back before it does.
      timeout: Duration.seconds(12),
      environment: lambdaEnvironment(env),
      assetRoot: props.assetRoot,
      synchronousOnly: {
        reason: 'Only a chat button (lambda invoke, a synchronous RequestResponse call) invokes it.',
      },
    });
    const fn = this.function.function;
    // What ops approve|reject|abort do, and no more (infra/control-plane/operator-policies.ts).
    grantItemActions(fn, props.tables.operations, ['Scan', 'GetItem', 'UpdateItem']);
    props.tables.grant(fn, SHARED_TABLE_ACCESS.journal);
    iam.Grant.addToPrincipal({
      grantee: fn,
      // A task token names no resource: SendTaskSuccess has no resource-level permissions.
      actions: ['states:SendTaskSuccess'],
      resourceArns: ['*'],
    });
    if (props.routeArns.length > 0) {
      iam.Grant.addToPrincipal({
        grantee: fn,
        actions: ['elasticloadbalancing:ModifyListener', 'elasticloadbalancing:ModifyRule'],
        resourceArns: [...props.routeArns],
      });
      iam.Grant.addToPrincipal({
        grantee: fn,
        actions: ['elasticloadbalancing:DescribeListeners', 'elasticloadbalancing:DescribeRules'],
        resourceArns: ['*'],
      });
      acknowledgeWildcardResources(
        this.function.role,
        props.routeArns,
        'The managed load balancers’ listeners and rules (their ids are assigned by ELB): a rollback puts traffic back on blue.',
      );
    }
    Validations.of(this.function.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'xray:PutTraceSegments/PutTelemetryRecords, states:SendTaskSuccess (a task token names no resource) and elasticloadbalancing:Describe* support no resource-level permissions.',
    });

    // The buttons and the channel only where a chat channel is configured: Amazon Q Developer's API
    // is in a few regions only, and a deploy that needs none of it must not depend on it.
    if (!props.chat) {
      this.actions = [];
      return;
    }
    this.actions = CHAT_BUTTONS.map(
      (button) =>
        new chatbot.CfnCustomAction(this, button.id, {
          actionName: `${props.namePrefix}-${button.answer}`,
          definition: { commandText: chatCommand(functionName, button.answer) },
          attachments: [
            {
              notificationType: 'Custom',
              buttonText: button.text,
              variables: {
                e: `event.metadata.additionalContext.${CHAT_ACTION_CONTEXT.execution}`,
                choices: `event.metadata.additionalContext.${CHAT_ACTION_CONTEXT.choices}`,
              },
              criteria: [
                { operator: 'HAS_VALUE', variableName: 'e' },
                { operator: 'EQUALS', variableName: 'choices', value: button.on },
              ],
            },
          ],
        }),
    );

    const invokeAnswer = new iam.PolicyStatement({
      actions: ['lambda:InvokeFunction'],
      resources: [fn.functionArn],
    });
    this.channelRole = new iam.Role(this, 'ChannelRole', {
      assumedBy: new iam.ServicePrincipal('chatbot.amazonaws.com'),
      description: `Amazon Q Developer channel ${channelName}: may press the answer buttons, nothing else`,
    });
    this.channelRole.addToPrincipalPolicy(invokeAnswer);
    // Without guardrails the channel would default to AdministratorAccess for user roles too.
    const guardrail = new iam.ManagedPolicy(this, 'Guardrail', {
      description: `Amazon Q Developer channel ${channelName}: the most any role may do from chat`,
      statements: [invokeAnswer],
    });
    this.channel = new chatbot.CfnSlackChannelConfiguration(this, 'Channel', {
      configurationName: channelName,
      slackWorkspaceId: props.chat.slackWorkspaceId,
      slackChannelId: props.chat.slackChannelId,
      iamRoleArn: this.channelRole.roleArn,
      guardrailPolicies: [guardrail.managedPolicyArn],
      snsTopicArns: [
        props.topics.critical.topicArn,
        props.topics.warning.topicArn,
        props.topics.info.topicArn,
      ],
      customizationResourceArns: this.actions.map((a) => a.attrCustomActionArn),
      loggingLevel: 'ERROR',
    });
  }
}
