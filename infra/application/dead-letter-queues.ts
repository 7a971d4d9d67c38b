// Which queues are dead-letter queues: found from what names them (a queue's redrive policy, a
// function's async DLQ, an EventBridge rule target's or a schedule's DLQ, a subscription's
// redrive policy), so a DLQ added later is found, and alarmed, without anyone remembering to.
import { CfnResource, Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { IConstruct } from 'constructs';

/** Where each resource type names its dead-letter queue, read from its resolved L1 properties. */
function namedDeadLetterArns(resource: CfnResource): unknown[] {
  const resolve = (value: unknown) =>
    Stack.of(resource).resolve(value) as Record<string, unknown> | undefined;
  if (resource instanceof sqs.CfnQueue || resource instanceof sns.CfnSubscription)
    return [resolve(resource.redrivePolicy)?.deadLetterTargetArn];
  if (resource instanceof lambda.CfnFunction) return [resolve(resource.deadLetterConfig)?.targetArn];
  if (resource instanceof events.CfnRule)
    return ((resolve(resource.targets) ?? []) as { deadLetterConfig?: { arn?: unknown } }[]).map(
      (t) => t.deadLetterConfig?.arn,
    );
  if (resource instanceof scheduler.CfnSchedule)
    return [(resolve(resource.target)?.deadLetterConfig as { arn?: unknown } | undefined)?.arn];
  return [];
}

/** Every queue in `scope` that something in `scope` names as its dead-letter queue. */
export function deadLetterQueuesOf(scope: IConstruct): sqs.Queue[] {
  const all = scope.node.findAll();
  const named = new Set<string>();
  for (const c of all) {
    if (!CfnResource.isCfnResource(c)) continue;
    for (const arn of namedDeadLetterArns(c)) {
      const getAtt = (arn as { 'Fn::GetAtt'?: [string, string] } | undefined)?.['Fn::GetAtt'];
      if (getAtt?.[1] === 'Arn') named.add(getAtt[0]);
    }
  }
  return all.filter(
    (c): c is sqs.Queue =>
      c instanceof sqs.Queue && named.has(Stack.of(c).getLogicalId(c.node.defaultChild as sqs.CfnQueue)),
  );
}
