// The CDK app. `tsx infra/app.ts` (or `cdk synth`, see cdk.json) writes cdk.out; tests call
// buildApp()/synthesizeApp() in-process. Every environment with a config/<name>.json (dev,
// prod) gets the application stacks and its control plane, in one assembly with the
// environment in each stack name (`cdk synth -c environment=prod` picks one); environments
// without a config file (local, test) get the control plane alone. cdk-nag's AwsSolutions and
// Serverless packs check every stack at synth: an unacknowledged finding fails synthesis.

import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { App, Validations } from 'aws-cdk-lib';
import type { CloudAssembly } from 'aws-cdk-lib/cx-api';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import type { RemediationConfig } from '../functions/remediate-step/config.ts';
import type { FreezeWindow } from '../functions/shared/freeze-windows.ts';
import type { ManagedCluster } from '../functions/shared/managed-clusters.ts';
import type { SloConfig } from '../functions/shared/slo/objectives.ts';
import { configuredEnvironments, type EnvironmentConfig, hasConfig, parseConfig } from './config.ts';
import {
  type ControlPlaneOnlyConfig,
  isControlPlaneOnly,
  loadEnvironmentConfig,
  managedClustersOf,
  managedServicesOf,
  parseControlPlaneOnlyConfig,
  passableRolesOf,
} from './control-plane-only-config.ts';
import { adoptedControlPlane } from './stacks/adopted-control-plane.ts';
import {
  buildEnvironmentStacks,
  type EnvironmentStacks,
  managedClustersFor,
  rolloutServicesFor,
} from './stacks/application-stacks.ts';
import { ControlPlaneStack } from './stacks/control-plane-stack.ts';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The control plane's clusters in environments without a config file (local, test). */
export const DEFAULT_MANAGED_CLUSTERS: readonly ManagedCluster[] = [
  { name: 'web', rebalance: 'surge', spotAsg: 'web-spot', onDemandAsg: 'web-on-demand' },
];
export const DEFAULT_ENVIRONMENT_NAME = 'dev';

export interface AppOptions {
  /** Cloud assembly directory; default $CDK_OUTDIR (set by the cdk CLI) or ./cdk.out. */
  readonly outdir?: string;
  /**
   * One environment. Default: context `environment` (`cdk synth -c environment=prod`, comma
   * separated for several), else every environment with a config/<name>.json (dev and prod).
   */
  readonly environmentName?: string;
  /** Several environments in one assembly (stack names carry the environment). */
  readonly environmentNames?: readonly string[];
  /**
   * A config object instead of config/<environmentName>.json (tests use modified copies);
   * parsed and validated exactly like the file.
   */
  readonly config?: unknown;
  /** Overrides the control plane's clusters; default: from the config, or DEFAULT_MANAGED_CLUSTERS without one. */
  readonly managedClusters?: readonly ManagedCluster[];
  /** Override of dist/functions for the function bundles. */
  readonly assetRoot?: string;
  /** A runbook registry instead of config/remediation/<environmentName>.json (tests). */
  readonly remediation?: RemediationConfig;
  /** Freeze windows instead of config/freezes/<environmentName>.json (tests). */
  readonly freezeWindows?: readonly FreezeWindow[];
  /** SLOs instead of config/slos/<environmentName>.json (tests). */
  readonly slos?: SloConfig;
}

export const controlPlaneStackName = (environmentName: string) => `EcsOps-${environmentName}-ControlPlane`;

export interface BuiltEnvironment {
  readonly name: string;
  readonly controlPlane: ControlPlaneStack;
  /** Absent for environments without a config file: only the control plane is built. */
  readonly config?: EnvironmentConfig;
  readonly stacks?: EnvironmentStacks;
  /** A control-plane-only environment's config: the control plane over resources it does not own. */
  readonly controlPlaneOnly?: ControlPlaneOnlyConfig;
}

/** The app and its stacks, not yet synthesized (tests inspect the construct tree). */
export function buildApp(options: AppOptions = {}): {
  app: App;
  /** The control-plane stack of the first environment. */
  stack: ControlPlaneStack;
  environments: BuiltEnvironment[];
} {
  const app = new App({ outdir: options.outdir ?? process.env.CDK_OUTDIR ?? join(REPO_ROOT, 'cdk.out') });
  const names = environmentNamesFor(app, options);
  if (options.config !== undefined && names.length !== 1) {
    throw new Error('buildApp: options.config needs exactly one environment (options.environmentName)');
  }

  const environments = names.map((environmentName): BuiltEnvironment => {
    const source = `(config for ${environmentName})`;
    const loaded: { config?: EnvironmentConfig; controlPlaneOnly?: ControlPlaneOnlyConfig } =
      options.config !== undefined
        ? isControlPlaneOnly(options.config)
          ? { controlPlaneOnly: parseControlPlaneOnlyConfig(options.config, source) }
          : { config: parseConfig(options.config, source) }
        : hasConfig(environmentName)
          ? loadEnvironmentConfig(environmentName)
          : {};
    if (loaded.controlPlaneOnly) {
      const adopted = loaded.controlPlaneOnly;
      const controlPlane = new ControlPlaneStack(app, controlPlaneStackName(environmentName), {
        environmentName,
        managedClusters: options.managedClusters ?? managedClustersOf(adopted),
        rolloutServices: managedServicesOf(adopted),
        passableRoles: passableRolesOf(adopted),
        logRetention: adopted.logRetentionDays,
        env: { account: adopted.account, region: adopted.region },
        ...(adopted.alerts.chat ? { chat: adopted.alerts.chat } : {}),
        assetRoot: options.assetRoot,
        ...(options.remediation ? { remediation: options.remediation } : {}),
        ...(options.freezeWindows ? { freezeWindows: options.freezeWindows } : {}),
        ...(options.slos ? { slos: options.slos } : {}),
      });
      adoptedControlPlane(controlPlane, adopted);
      return { name: environmentName, controlPlane, controlPlaneOnly: adopted };
    }
    const config = loaded.config;
    const controlPlane = new ControlPlaneStack(app, controlPlaneStackName(environmentName), {
      environmentName,
      managedClusters:
        options.managedClusters ?? (config ? managedClustersFor(config) : DEFAULT_MANAGED_CLUSTERS),
      // The rollout workflow operates the service the compute stack creates, found by configured names.
      ...(config
        ? { rolloutServices: rolloutServicesFor(config), logRetention: config.logRetentionDays }
        : {}),
      ...(config?.alerts.chat ? { chat: config.alerts.chat } : {}),
      // A configured environment names its account and region; otherwise environment-agnostic
      // unless the cdk CLI resolved an account and region.
      env: config
        ? { account: config.account, region: config.region }
        : { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
      assetRoot: options.assetRoot,
      ...(options.remediation ? { remediation: options.remediation } : {}),
      ...(options.freezeWindows ? { freezeWindows: options.freezeWindows } : {}),
      ...(options.slos ? { slos: options.slos } : {}),
    });
    if (!config) return { name: environmentName, controlPlane };
    return {
      name: environmentName,
      controlPlane,
      config,
      stacks: buildEnvironmentStacks(app, config, controlPlane, { assetRoot: options.assetRoot }),
    };
  });

  // cdk-nag 3 packs are policy-validation plugins (they replaced the v2 Aspects);
  // acknowledgements sit next to the constructs they concern, each with a reason.
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
  const first = environments[0];
  if (!first) throw new Error('buildApp: no environment to build');
  return { app, stack: first.controlPlane, environments };
}

function environmentNamesFor(app: App, options: AppOptions): string[] {
  if (options.environmentName) return [options.environmentName];
  if (options.environmentNames && options.environmentNames.length > 0) return [...options.environmentNames];
  const fromContext: unknown = app.node.tryGetContext('environment');
  if (typeof fromContext === 'string' && fromContext.trim() !== '') {
    return fromContext.split(',').map((n) => n.trim());
  }
  const configured = configuredEnvironments();
  return configured.length > 0 ? configured : [DEFAULT_ENVIRONMENT_NAME];
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
