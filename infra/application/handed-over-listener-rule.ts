// A listener rule that CloudFormation creates once and then hands over to the rollout
// workflow. Its forward action (target groups and weights) changes with every rollout; a
// CloudFormation-managed rule would be reset to the template's weights by the next deploy
// that touches it. So the rule is created by a custom resource with no update call: later
// deploys never send its actions again, and deleting the stack still deletes it.
// See docs/ownership.md.
import type { Duration } from 'aws-cdk-lib';
import { Stack } from 'aws-cdk-lib';
import type * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { acknowledgeWildcardResources } from '../shared/nag-findings.ts';

/** Tag on every handed-over rule: the rollout workflow finds and owns rules by it. */
export const ROLLOUT_OWNED_TAG = { key: 'ecs-ops:owner', value: 'rollout' } as const;

export interface HandedOverListenerRuleProps {
  readonly listener: elbv2.IApplicationListener;
  readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  readonly priority: number;
  /** Which requests it takes (a listener rule's conditions); default every path. */
  readonly conditions?: readonly Record<string, unknown>[];
  /** The forward action at creation; the rollout workflow changes it afterwards. */
  readonly initialTargets: readonly { readonly targetGroup: elbv2.ITargetGroup; readonly weight: number }[];
  readonly logGroup: logs.ILogGroup;
  readonly timeout?: Duration;
}

export class HandedOverListenerRule extends Construct {
  readonly ruleArn: string;
  readonly resource: cr.AwsCustomResource;

  constructor(scope: Construct, id: string, props: HandedOverListenerRuleProps) {
    super(scope, id);
    // Rules get their id at creation: the grant covers the rules of this load balancer only.
    const rulesOfLoadBalancer = Stack.of(this).formatArn({
      service: 'elasticloadbalancing',
      resource: 'listener-rule',
      resourceName: `${props.loadBalancer.loadBalancerFullName}/*`,
    });

    this.resource = new cr.AwsCustomResource(this, 'Rule', {
      resourceType: 'Custom::HandedOverListenerRule',
      onCreate: {
        service: '@aws-sdk/client-elastic-load-balancing-v2',
        action: 'CreateRule',
        parameters: {
          ListenerArn: props.listener.listenerArn,
          Priority: props.priority,
          Conditions: props.conditions ?? [{ Field: 'path-pattern', PathPatternConfig: { Values: ['/*'] } }],
          Actions: [
            {
              Type: 'forward',
              ForwardConfig: {
                TargetGroups: props.initialTargets.map((t) => ({
                  TargetGroupArn: t.targetGroup.targetGroupArn,
                  Weight: t.weight,
                })),
                TargetGroupStickinessConfig: { Enabled: false },
              },
            },
          ],
          Tags: [{ Key: ROLLOUT_OWNED_TAG.key, Value: ROLLOUT_OWNED_TAG.value }],
        },
        physicalResourceId: cr.PhysicalResourceId.fromResponse('Rules.0.RuleArn'),
        outputPaths: ['Rules.0.RuleArn'],
      },
      // No onUpdate, on purpose: after creation the rollout workflow owns the rule's actions.
      onDelete: {
        service: '@aws-sdk/client-elastic-load-balancing-v2',
        action: 'DeleteRule',
        parameters: { RuleArn: new cr.PhysicalResourceIdReference() },
        ignoreErrorCodesMatching: 'RuleNotFound',
      },
      policy: cr.AwsCustomResourcePolicy.fromStatements([
        new iam.PolicyStatement({
          actions: ['elasticloadbalancing:CreateRule'],
          resources: [props.listener.listenerArn],
        }),
        new iam.PolicyStatement({
          // CreateRule with Tags also needs AddTags on the new rule; its id is only known afterwards.
          actions: ['elasticloadbalancing:AddTags', 'elasticloadbalancing:DeleteRule'],
          resources: [rulesOfLoadBalancer],
        }),
      ]),
      installLatestAwsSdk: false,
      logGroup: props.logGroup,
      ...(props.timeout ? { timeout: props.timeout } : {}),
    });
    this.ruleArn = this.resource.getResponseField('Rules.0.RuleArn');
    const policy = this.resource.node.tryFindChild('CustomResourcePolicy');
    if (policy) {
      acknowledgeWildcardResources(
        policy,
        [rulesOfLoadBalancer],
        'A rule’s id exists only after CreateRule (AddTags) and DeleteRule acts on it: scoped to this load balancer’s rules.',
      );
    }
  }
}
