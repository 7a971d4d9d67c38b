// cdk-nag names an IAM5 finding after the wildcard resource as it appears in the template
// (tokens flattened to <LogicalId.Attr>). Acknowledgements are derived from the same ARNs the
// grants use, flattened by cdk-nag's own function, so an id can never drift from its finding.
import { ArnFormat, Fn, Stack, Validations } from 'aws-cdk-lib';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { flattenCfnReference } from 'cdk-nag/lib/utils/flatten-cfn-reference.js';
import type { IConstruct } from 'constructs';

/** Acknowledges AwsSolutions-IAM5 for each wildcard ARN (same-stack tokens only: resolved here). */
export function acknowledgeWildcardResources(
  scope: IConstruct,
  arns: readonly string[],
  reason: string,
): void {
  const stack = Stack.of(scope);
  const ids = new Set(
    arns.map((arn) => `AwsSolutions-IAM5[Resource::${flattenCfnReference(stack.resolve(arn))}]`),
  );
  for (const id of ids) Validations.of(scope).acknowledge({ id, reason });
}

/**
 * What CDK grants a state machine that runs `child` as a nested .sync execution: DescribeExecution
 * and StopExecution on the child's executions, whose names are only known at run time.
 */
export function acknowledgeNestedExecutions(scope: IConstruct, child: IStateMachine, reason: string): void {
  const stack = Stack.of(scope);
  const childName = Fn.select(6, Fn.split(':', child.stateMachineArn));
  acknowledgeWildcardResources(
    scope,
    [
      stack.formatArn({
        service: 'states',
        resource: 'execution',
        resourceName: `${childName}*`,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      }),
    ],
    reason,
  );
}
