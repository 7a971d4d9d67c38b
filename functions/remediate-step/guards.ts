// The remediation's rules, with no I/O: given what decide read (the alarm's configuration, the
// guard alarms' states, the runbook's past runs, the service, the rollout record, the tasks), each
// says whether a runbook may act and what it would touch, or why not, in plain words. decide.ts
// reads and writes; the rules live here.
import type { RemediationPlan, RunbookPlan } from '../../events/remediation-input.ts';
import { iso } from '../shared/clock.ts';
import { alarmNameMatches, type Runbook } from './config.ts';

const HOUR = 3_600_000;
/** How long a runbook's runs are remembered: longer than any cooldown or hourly count needs. */
export const HISTORY_KEEP_MS = 25 * HOUR;

const clock = (ms: number) => `${iso(ms).slice(11, 19)} UTC`;

/** A runbook was asked to do something its guards forbid; the message says why. */
export class RunbookRefusedError extends Error {
  override readonly name = 'RunbookRefused';
}

/** Why a runbook did not run, and whether people should hear of it. */
export interface Refusal {
  why: string[];
  alert: boolean;
}

export interface BlastRadius {
  maxTasks: number;
  maxPercent: number;
  /** Tasks this execution may touch: the smaller of maxTasks and maxPercent of the running tasks. */
  allowed: number;
  /** Tasks the runbook would touch if unbounded. */
  wanted: number;
}

export function blastRadius(runbook: Runbook, running: number, wanted: number): BlastRadius {
  const { maxTasks, maxPercent } = runbook.blastRadius;
  return {
    maxTasks,
    maxPercent,
    allowed: Math.min(maxTasks, Math.floor((running * maxPercent) / 100)),
    wanted,
  };
}

/** The runbook the registry names for this alarm by name, if any (tag matches need the alarm's tags). */
export function runbookByName(runbooks: readonly Runbook[], alarmName: string): Runbook | undefined {
  return runbooks.find((r) => 'alarmName' in r.match && alarmNameMatches(r.match.alarmName, alarmName));
}

/** The first runbook whose tags the alarm carries. */
export function runbookByTags(
  runbooks: readonly Runbook[],
  tags: Record<string, string>,
): Runbook | undefined {
  return runbooks.find(
    (r) => 'tags' in r.match && Object.entries(r.match.tags).every(([k, v]) => tags[k] === v),
  );
}

/** Whether this transition could be deploy noise, so that the alarm's configuration is worth reading. */
export function mayBeDeployNoise(plan: RemediationPlan, runbook: Runbook): boolean {
  return !runbook.actOnFirstTransition && plan.alarm.previousState?.value === 'INSUFFICIENT_DATA';
}

/** An alarm's first transition out of INSUFFICIENT_DATA right after it was (re)configured is deploy noise. */
export function deployNoise(
  plan: RemediationPlan,
  configuredAtMs: number | undefined,
  settleSeconds: number,
): string | undefined {
  const at = Date.parse(plan.alarm.state.timestamp);
  if (configuredAtMs === undefined || Number.isNaN(at) || at - configuredAtMs > settleSeconds * 1000)
    return undefined;
  return `alarm ${plan.alarm.name} left INSUFFICIENT_DATA for the first time ${Math.round((at - configuredAtMs) / 1000)} s after it was configured (settle time ${settleSeconds} s): treated as deploy noise, no runbook (set actOnFirstTransition to act)`;
}

/** Guard alarms in ALARM stop the runbook before any change. */
export function guardAlarmsRefusal(runbook: Runbook, firing: readonly string[]): Refusal | undefined {
  if (firing.length === 0) return undefined;
  return {
    why: [
      `guard alarm${firing.length > 1 ? 's' : ''} ${firing.join(', ')} ${firing.length > 1 ? 'are' : 'is'} in ALARM: runbook ${runbook.id} aborted before any change`,
    ],
    alert: true,
  };
}

export interface PastRun {
  at: number;
  execution: string;
}

/** Cooldown and runs per hour, counted per runbook over other executions that acted (dry runs do not). */
export function rateRefusal(
  runbook: Runbook,
  pastRuns: readonly PastRun[],
  execution: string,
  now: number,
): Refusal | undefined {
  const runs = pastRuns.filter((r) => r.execution !== execution);
  const last = runs.at(-1);
  if (last && now < last.at + runbook.cooldownSeconds * 1000) {
    return {
      why: [
        `did nothing because runbook ${runbook.id} is cooling down until ${clock(last.at + runbook.cooldownSeconds * 1000)} (it last ran at ${clock(last.at)}, ${last.execution.split(':').pop()})`,
      ],
      alert: false,
    };
  }
  const inHour = runs.filter((r) => r.at > now - HOUR);
  if (inHour.length >= runbook.maxPerHour) {
    return {
      why: [
        `did nothing because runbook ${runbook.id} already ran ${inHour.length} times in the last hour (at most ${runbook.maxPerHour}); the next run is allowed at ${clock((inHour[0] as PastRun).at + HOUR)}`,
      ],
      alert: true,
    };
  }
  return undefined;
}

/** The runbook's runs with this execution counted (before it acts: a run that crashes counts too). */
export function runsWith(pastRuns: readonly PastRun[], execution: string, now: number): PastRun[] {
  return pastRuns
    .filter((r) => r.execution !== execution && r.at > now - HISTORY_KEEP_MS)
    .concat({ at: now, execution })
    .slice(-200);
}

/** How long the runbook's lease must last: the approval wait, the verification window, and a margin. */
export function leaseMs(runbook: Runbook, marginMs: number): number {
  return (
    (runbook.requiresApproval ? runbook.approval.timeoutSeconds * 1000 : 0) +
    runbook.verify.windowSeconds * 1000 +
    marginMs
  );
}

/** The rollout's record, as far as a rollback needs it. */
export interface RolloutView {
  execution: string;
  executionName: string;
  phase: string;
  windowEndsAt?: string | undefined;
  inFlight: boolean;
}

/** What rollback-rollout rolls back: a rollout in flight, or one inside its rollback window. */
export function rollbackTargets(
  cluster: string,
  service: string,
  record: RolloutView | undefined,
  now: number,
): string[] {
  const inWindow =
    record?.phase === 'window' && record.windowEndsAt !== undefined && now < Date.parse(record.windowEndsAt);
  if (!record || (!record.inFlight && !inWindow)) {
    throw new RunbookRefusedError(
      record
        ? `no rollout of ${cluster}/${service} to roll back: the last one (${record.executionName}) is ${record.phase}${record.windowEndsAt ? `, its rollback window closed at ${record.windowEndsAt}` : ''}`
        : `no rollout of ${cluster}/${service} to roll back`,
    );
  }
  return [record.execution];
}

/** The service as force-new-deployment weighs it. */
export interface DeploymentView {
  controller?: string | undefined;
  running: number;
  minimumHealthyPercent: number;
}

/** A rolling deployment replaces up to (100 - minimumHealthyPercent)% of the tasks at once. */
export function newDeploymentRadius(
  runbook: Runbook,
  cluster: string,
  service: string,
  view: DeploymentView,
): BlastRadius {
  if (view.controller === 'EXTERNAL') {
    throw new RunbookRefusedError(
      `${cluster}/${service} uses the EXTERNAL deployment controller: a new deployment is a rollout (ops rollout), not force-new-deployment`,
    );
  }
  const atOnce = Math.max(1, Math.ceil((view.running * (100 - view.minimumHealthyPercent)) / 100));
  const radius = blastRadius(runbook, view.running, atOnce);
  if (atOnce > radius.allowed) {
    throw new RunbookRefusedError(
      `a new deployment would replace ${atOnce} of ${view.running} tasks at once (minimumHealthyPercent ${view.minimumHealthyPercent}); the blast radius allows ${radius.allowed}: did nothing`,
    );
  }
  return radius;
}

/** The unhealthy tasks this run may stop, within the blast radius. */
export function unhealthyTargets(
  runbook: Runbook,
  cluster: string,
  service: string,
  running: number,
  unhealthy: readonly string[],
): { targets: string[]; radius: BlastRadius } {
  const radius = blastRadius(runbook, running, unhealthy.length);
  if (unhealthy.length === 0)
    throw new RunbookRefusedError(
      `no task of ${cluster}/${service} is behind an unhealthy target: nothing to replace`,
    );
  if (radius.allowed < 1) {
    throw new RunbookRefusedError(
      `the blast radius (${runbook.blastRadius.maxTasks} tasks, ${runbook.blastRadius.maxPercent}% of ${running} running) allows no task to be stopped`,
    );
  }
  return { targets: unhealthy.slice(0, radius.allowed), radius };
}

/** Draining moves every task on the instance: at most maxTasks of them. */
export function drainRadius(runbook: Runbook, instanceId: string, tasks: number): BlastRadius {
  const radius = { ...blastRadius(runbook, tasks, tasks), allowed: runbook.blastRadius.maxTasks };
  if (tasks > radius.allowed) {
    throw new RunbookRefusedError(
      `draining ${instanceId} would move ${tasks} tasks at once; the blast radius allows ${radius.allowed}: did nothing`,
    );
  }
  return radius;
}

/** What the plan would do, in words, for the journal and the approval request. */
export function describePlan(p: RunbookPlan): string[] {
  switch (p.kind) {
    case 'notify-only':
      return [`notify-only: a ${p.severity} alert, no change`];
    case 'scale-out':
      return [
        `scale out ${p.cluster}/${p.service} by ${p.scaleInput?.delta !== undefined ? `+${String(p.scaleInput.delta)}` : `${String(p.scaleInput?.percent)}%`} through the scale-service workflow (its guardrails apply)`,
      ];
    case 'rollback-rollout':
      return [`roll back the rollout ${p.targets?.[0]?.split(':').pop() ?? ''} of ${p.cluster}/${p.service}`];
    case 'force-new-deployment':
      return [
        `force a new deployment of ${p.cluster}/${p.service} (up to ${p.blastRadius?.wanted} tasks replaced at once, blast radius ${p.blastRadius?.allowed})`,
      ];
    case 'replace-unhealthy-tasks':
      return [
        `stop ${p.targets?.length} of ${p.blastRadius?.wanted} tasks behind unhealthy targets (blast radius: ${p.blastRadius?.allowed} of this run)${(p.blastRadius?.wanted ?? 0) > (p.targets?.length ?? 0) ? '; the rest wait for the next run' : ''}`,
      ];
    case 'drain-instance':
      return [
        `drain container instance ${p.instanceId} in ${p.cluster} (${p.blastRadius?.wanted} tasks move)`,
      ];
  }
}
