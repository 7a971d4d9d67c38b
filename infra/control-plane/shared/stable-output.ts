// A stack output under a stable logical id: the ops CLI and the rig read outputs by these keys
// (infra/shared/stack-outputs.ts).
import { CfnOutput } from 'aws-cdk-lib';
import type { Construct } from 'constructs';

export function stableOutput(scope: Construct, key: string, value: string, description: string): void {
  new CfnOutput(scope, key, { value, description }).overrideLogicalId(key);
}
