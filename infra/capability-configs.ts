// The per-capability config files (config/scaling/, config/remediation/, config/rollouts/,
// one <environment>.json each), read and checked without the CDK: the constructs build from
// them at synth, and `ops doctor` reads the alarms they name (an `ops` command must not pay
// for importing the CDK).
import { join } from 'node:path';
import { RolloutDefaultsSchema } from '../events/rollout-input.ts';
import * as z from '../events/zod.ts';
import { type RemediationConfig, RemediationConfigSchema } from '../functions/remediate-step/config.ts';
import { type ScaledService, ScalingConfigSchema } from '../functions/scale-service-step/scaling-config.ts';
import { FreezeConfigSchema, type FreezeWindow } from '../functions/shared/freeze-windows.ts';
import { type SloConfig, SloConfigSchema } from '../functions/shared/slo/objectives.ts';
import { CONFIG_DIR, loadConfigFile } from './config.ts';

export const SCALING_CONFIG_DIR = join(CONFIG_DIR, 'scaling');
export const REMEDIATION_CONFIG_DIR = join(CONFIG_DIR, 'remediation');
export const ROLLOUT_CONFIG_DIR = join(CONFIG_DIR, 'rollouts');
export const FREEZE_CONFIG_DIR = join(CONFIG_DIR, 'freezes');
export const SLO_CONFIG_DIR = join(CONFIG_DIR, 'slos');

/** config/slos/<environment>.json: the services' SLOs and burn-rate rules; none when absent. */
export function loadSloConfig(environmentName: string, dir = SLO_CONFIG_DIR): SloConfig {
  return (
    loadConfigFile(join(dir, `${environmentName}.json`), SloConfigSchema) ??
    SloConfigSchema.parse({ services: [] })
  );
}

/** config/freezes/<environment>.json: the freeze windows; none when the file is absent. */
export function loadFreezeWindows(environmentName: string, dir = FREEZE_CONFIG_DIR): FreezeWindow[] {
  return loadConfigFile(join(dir, `${environmentName}.json`), FreezeConfigSchema)?.windows ?? [];
}

/** config/scaling/<environment>.json, parsed; undefined when the environment scales nothing. */
export function loadScalingConfig(
  environmentName: string,
  dir = SCALING_CONFIG_DIR,
): ScaledService[] | undefined {
  return loadConfigFile(join(dir, `${environmentName}.json`), ScalingConfigSchema)?.services;
}

/** config/remediation/<environment>.json, parsed; undefined when the environment remediates nothing. */
export function loadRemediationConfig(
  environmentName: string,
  dir = REMEDIATION_CONFIG_DIR,
): RemediationConfig | undefined {
  return loadConfigFile(join(dir, `${environmentName}.json`), RemediationConfigSchema);
}

/** config/rollouts/<env>.json: per service, the defaults every rollout of it starts from. */
export const RolloutConfigSchema = z.strictObject({
  services: z.array(
    z.strictObject({
      cluster: z.string().check(z.minLength(1)),
      service: z.string().check(z.minLength(1)),
      defaults: RolloutDefaultsSchema,
    }),
  ),
});
export type RolloutConfig = z.infer<typeof RolloutConfigSchema>;

/** config/rollouts/<environment>.json, parsed; undefined when the environment has none. */
export function loadRolloutConfig(
  environmentName: string,
  dir = ROLLOUT_CONFIG_DIR,
): RolloutConfig | undefined {
  return loadConfigFile(join(dir, `${environmentName}.json`), RolloutConfigSchema);
}
