// `ops doctor [--env NAME] [--aws]`: is every cluster and service a control-plane-only environment
// references ready for the control plane, and what to change where it is not. With --env it
// checks config/NAME.json (and the alarms its capability files name); without, locally, the
// seeded world as such a config would describe it (local/seeded-estate.ts). Read-only.
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { EC2Client } from '@aws-sdk/client-ec2';
import { ECSClient } from '@aws-sdk/client-ecs';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { IAMClient } from '@aws-sdk/client-iam';
import { awsClient, resetClients } from '../../functions/shared/clients.ts';
import {
  loadRemediationConfig,
  loadRolloutConfig,
  loadScalingConfig,
} from '../../infra/capability-configs.ts';
import { type ControlPlaneOnlyConfig, loadEnvironmentConfig } from '../../infra/control-plane-only-config.ts';
import { seededEstateConfig } from '../../local/seeded-estate.ts';
import { loadLocalState } from '../local-state.ts';
import { onAws, type TargetFlags } from '../target.ts';
import { type Out, UsageError } from '../usage.ts';
import { CHECKS, diagnose, estateReferences, type Finding, type NamedAlarm } from './checks.ts';
import { observeEstate } from './estate.ts';

export interface DoctorFlags extends TargetFlags {
  env?: string;
}

/** Every alarm an environment's capability files name that something else must have created. */
export function namedAlarms(environmentName: string): NamedAlarm[] {
  const named: NamedAlarm[] = [];
  // A scaling alarm with `create` is the control plane's own; the others are the user's.
  for (const s of loadScalingConfig(environmentName) ?? [])
    for (const alarm of s.alarms.filter((a) => !a.create))
      named.push({
        name: alarm.alarmName,
        namedBy: `config/scaling/${environmentName}.json ${s.cluster}/${s.service}`,
      });
  const remediation = loadRemediationConfig(environmentName);
  for (const name of remediation?.guardAlarms ?? [])
    named.push({ name, namedBy: `config/remediation/${environmentName}.json guardAlarms` });
  for (const runbook of remediation?.runbooks ?? []) {
    for (const name of runbook.guardAlarms)
      named.push({
        name,
        namedBy: `config/remediation/${environmentName}.json runbook ${runbook.id} guardAlarms`,
      });
    const match = runbook.match as { alarmName?: string };
    // A pattern names no one alarm; an exact name must exist for the runbook ever to run.
    if (match.alarmName && !match.alarmName.includes('*'))
      named.push({
        name: match.alarmName,
        namedBy: `config/remediation/${environmentName}.json runbook ${runbook.id}`,
      });
  }
  const rollouts = loadRolloutConfig(environmentName);
  for (const s of rollouts?.services ?? [])
    for (const name of (s.defaults.analysis as { alarms?: string[] } | undefined)?.alarms ?? [])
      named.push({ name, namedBy: `config/rollouts/${environmentName}.json ${s.cluster}/${s.service}` });
  return named;
}

/** Runs every check of one config against the estate the SDK reaches. */
export async function runDoctor(
  config: ControlPlaneOnlyConfig,
  alarms: readonly NamedAlarm[],
): Promise<Finding[]> {
  const clients = {
    ecs: awsClient(ECSClient),
    autoScaling: awsClient(AutoScalingClient),
    ec2: awsClient(EC2Client),
    elb: awsClient(ElasticLoadBalancingV2Client),
    cloudWatch: awsClient(CloudWatchClient),
    iam: awsClient(IAMClient),
  };
  const estate = await observeEstate(clients, estateReferences(config, alarms));
  return diagnose(config, alarms, estate);
}

export async function doctorCommand(flags: DoctorFlags, out: Out): Promise<number> {
  let config: ControlPlaneOnlyConfig;
  let environmentName: string;
  let what: string;
  if (flags.env) {
    const loaded = loadEnvironmentConfig(flags.env);
    if (!loaded.controlPlaneOnly)
      throw new UsageError(
        `config/${flags.env}.json deploys the whole stack, which creates what doctor would check: doctor checks control-plane-only environments ("mode": "control-plane-only")`,
      );
    config = loaded.controlPlaneOnly;
    environmentName = flags.env;
    what = `config/${flags.env}.json`;
    if (onAws(flags)) {
      if (flags.profile) process.env.AWS_PROFILE = flags.profile;
      process.env.AWS_REGION = config.region;
      resetClients();
    } else await loadLocalState();
  } else {
    if (onAws(flags))
      throw new UsageError('--aws needs --env NAME (config/NAME.json, a control-plane-only environment)');
    const state = await loadLocalState();
    environmentName = state.stack.functions['rollout-step']?.environment.OPS_ENVIRONMENT ?? 'local';
    config = seededEstateConfig(state.seed, environmentName);
    what = 'the seeded world';
  }
  const findings = await runDoctor(config, namedAlarms(environmentName));
  const failed = findings.filter((f) => !f.ok);
  out(doctorReport(what, findings), { checked: what, ok: failed.length === 0, findings });
  return failed.length === 0 ? 0 : 1;
}

/** The report: one line per check and subject, each failure with its fix below it. */
export function doctorReport(what: string, findings: readonly Finding[]): string {
  const lines = [`ops doctor: ${what}`];
  const subjects = [...new Set(findings.map((f) => f.subject))];
  for (const subject of subjects) {
    lines.push('', subject);
    const ofSubject = findings.filter((f) => f.subject === subject);
    for (const check of CHECKS)
      for (const f of ofSubject.filter((x) => x.check === check)) {
        lines.push(`  ${f.ok ? 'ok  ' : 'FAIL'} ${f.check}: ${f.says}`);
        if (f.fix) lines.push(`       fix: ${f.fix}`);
      }
  }
  const failed = findings.filter((f) => !f.ok).length;
  lines.push(
    '',
    failed === 0
      ? 'ready: the control plane can operate everything this config references'
      : `${failed} problem${failed === 1 ? '' : 's'} to fix before the control plane can operate this estate (docs/adoption.md)`,
  );
  return lines.join('\n');
}
