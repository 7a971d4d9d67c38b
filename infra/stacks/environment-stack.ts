// Base of the application stacks: the environment (account and region from the config),
// tags, and CDK's recommended feature flags. The flags are set on these stacks only: the
// control-plane stack keeps the behaviour its own tests pin down.
import { CrossStackReferences, ReferenceStrength, Stack, type StackProps, Tags } from 'aws-cdk-lib';
import { CURRENTLY_RECOMMENDED_FLAGS } from 'aws-cdk-lib/cx-api';
import type { Construct } from 'constructs';
import type { EnvironmentConfig } from '../config.ts';

/** App-wide core flags are the app's business; these core flags change only resources. */
const CORE_FLAGS_FOR_STACKS = new Set([
  '@aws-cdk/core:checkSecretUsage',
  '@aws-cdk/core:enablePartitionLiterals',
  '@aws-cdk/core:includePrefixInUniqueNameGeneration',
  '@aws-cdk/core:validateSnapshotRemovalPolicy',
]);

export interface EnvironmentStackProps extends Omit<StackProps, 'env'> {
  readonly config: EnvironmentConfig;
  /** Deploy into another region of the same account (CloudFront's us-east-1 resources). */
  readonly region?: string;
}

export class EnvironmentStack extends Stack {
  readonly config: EnvironmentConfig;

  constructor(scope: Construct, id: string, props: EnvironmentStackProps) {
    const { config, region, ...stackProps } = props;
    super(scope, id, {
      ...stackProps,
      env: { account: config.account, region: region ?? config.region },
      tags: { 'ecs-ops:environment': config.name, ...stackProps.tags },
    });
    this.config = config;
    for (const [flag, value] of Object.entries(CURRENTLY_RECOMMENDED_FLAGS)) {
      if (flag.startsWith('@aws-cdk/core:') && !CORE_FLAGS_FOR_STACKS.has(flag)) continue;
      this.node.setContext(flag, value);
    }
    // Exports protect a producer from deletion while a consumer needs it; stacks that must not be
    // locked (CloudFront's cross-region inputs, the control plane's topics) opt into weak references.
    CrossStackReferences.of(this).consume(ReferenceStrength.STRONG);
    Tags.of(this).add('ecs-ops:stack', id);
  }
}
