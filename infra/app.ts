// The CDK app. `tsx infra/app.ts` (or `cdk synth`, see cdk.json) writes cdk.out; tests call
// buildApp()/synthesizeApp() in-process. cdk-nag's AwsSolutions and Serverless packs check
// every stack at synth: an unacknowledged finding fails synthesis.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { App, Validations } from 'aws-cdk-lib';
import type { CloudAssembly } from 'aws-cdk-lib/cx-api';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import type { ManagedCluster } from '../functions/spot-interruption/config.ts';
import { ControlPlaneStack } from './control-plane-stack.ts';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Until the typed per-environment config lands: the one web cluster with its spot and on-demand groups. */
export const DEFAULT_MANAGED_CLUSTERS: readonly ManagedCluster[] = [
  { name: 'web', rebalance: 'surge', spotAsg: 'web-spot', onDemandAsg: 'web-on-demand' },
];
export const DEFAULT_ENVIRONMENT_NAME = 'dev';

export interface AppOptions {
  /** Cloud assembly directory; default $CDK_OUTDIR (set by the cdk CLI) or ./cdk.out. */
  readonly outdir?: string;
  /** Default: context `environment` (`cdk synth -c environment=prod`), else "dev". */
  readonly environmentName?: string;
  readonly managedClusters?: readonly ManagedCluster[];
  /** Override of dist/functions for the function bundles. */
  readonly assetRoot?: string;
}

export const controlPlaneStackName = (environmentName: string) => `EcsOps-${environmentName}-ControlPlane`;

/** The app and its stack, not yet synthesized (tests inspect the construct tree). */
export function buildApp(options: AppOptions = {}): { app: App; stack: ControlPlaneStack } {
  const app = new App({ outdir: options.outdir ?? process.env.CDK_OUTDIR ?? join(REPO_ROOT, 'cdk.out') });
  const contextEnvironment: unknown = app.node.tryGetContext('environment');
  const environmentName =
    options.environmentName ??
    (typeof contextEnvironment === 'string' ? contextEnvironment : DEFAULT_ENVIRONMENT_NAME);

  const stack = new ControlPlaneStack(app, controlPlaneStackName(environmentName), {
    environmentName,
    managedClusters: options.managedClusters ?? DEFAULT_MANAGED_CLUSTERS,
    // Environment-agnostic unless the cdk CLI resolved an account and region.
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
    ...(options.assetRoot ? { assetRoot: options.assetRoot } : {}),
  });

  // cdk-nag 3 packs are policy-validation plugins (they replaced the v2 Aspects);
  // acknowledgements sit next to the constructs they concern, each with a reason.
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
  return { app, stack };
}

export function synthesizeApp(options: AppOptions = {}): CloudAssembly {
  return buildApp(options).app.synth();
}

const invokedPath = process.argv[1] ? resolve(process.argv[1]) : '';
if (invokedPath === fileURLToPath(import.meta.url)) {
  const started = performance.now();
  try {
    const assembly = synthesizeApp();
    const stacks = assembly.stacks.map((s) => s.stackName).join(', ');
    process.stderr.write(
      `synthesized ${stacks} to ${assembly.directory} in ${Math.round(performance.now() - started)} ms\n`,
    );
  } catch (err) {
    process.stderr.write(`synth failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  }
}
