// `ops scale`: turns `--service S --to N | --by +N|-N|+P% [--dry-run]` into the scale-service
// workflow's input, and the workflow's output back into lines a person reads.
import { userInfo } from 'node:os';
import type { ScaleInputDraft, ScalePlan } from '../events/scale-input.ts';
import * as z from '../events/zod.ts';
import { GuardrailsSchema } from '../functions/scale-service-step/config.ts';
import type { DeployedStack } from '../local/deploy.ts';
import type { WorkflowResult } from '../local/workflow-runner.ts';
import { UsageError } from './usage.ts';

export interface ScaleFlags {
  service?: string;
  cluster?: string;
  to?: string;
  by?: string;
  'dry-run'?: boolean;
  reason?: string;
  /** Scale in inside a freeze window, with this reason (journaled and alerted). */
  'break-glass'?: string;
}

export const SCALE_USAGE =
  'ops scale --service [CLUSTER/]SERVICE (--to N | --by +N|-N|+P%|-P%) [--dry-run] [--reason "..."] [--break-glass "..."]';

/** The services the deployed stack scales, from the decision step's environment. */
export function scaledServices(stack: DeployedStack): { cluster: string; service: string }[] {
  const raw = stack.functions['scale-service-step']?.environment.SCALED_SERVICES;
  if (!raw)
    throw new UsageError(
      'the deployed control plane scales no service (no config/scaling/<environment>.json)',
    );
  return z.array(GuardrailsSchema).parse(JSON.parse(raw));
}

export function scaleInputFromFlags(
  flags: ScaleFlags,
  scaled: readonly { cluster: string; service: string }[],
  operator = userInfo().username,
): ScaleInputDraft {
  if (!flags.service) throw new UsageError(`--service is required: ${SCALE_USAGE}`);
  const [first, second] = flags.service.split('/');
  const service = (second ?? first) as string;
  const clusters = second
    ? [first as string]
    : flags.cluster
      ? [flags.cluster]
      : [...new Set(scaled.filter((s) => s.service === service).map((s) => s.cluster))];
  if (clusters.length !== 1) {
    const known = scaled.map((s) => `${s.cluster}/${s.service}`).join(', ');
    throw new UsageError(
      clusters.length === 0
        ? `--service ${flags.service} is not a scaled service (scaled: ${known})`
        : `--service ${service} is scaled in several clusters: name one as CLUSTER/SERVICE (scaled: ${known})`,
    );
  }
  if ((flags.to === undefined) === (flags.by === undefined)) {
    throw new UsageError(`give exactly one of --to and --by: ${SCALE_USAGE}`);
  }
  const input: ScaleInputDraft = {
    cluster: clusters[0] as string,
    service,
    reason: flags.reason ?? `manual scale by ${operator} (ops scale)`,
    dryRun: flags['dry-run'] ?? false,
    trigger: { kind: 'operator', id: operator },
    ...(flags['break-glass'] ? { breakGlass: { reason: flags['break-glass'] } } : {}),
  };
  if (flags.to !== undefined) {
    if (!/^\d+$/.test(flags.to)) throw new UsageError(`--to takes a whole number of tasks (got ${flags.to})`);
    return { ...input, desiredCount: Number(flags.to) };
  }
  const by = /^([+-])(\d+(?:\.\d+)?)(%?)$/.exec(flags.by ?? '');
  if (!by) throw new UsageError(`--by takes +N, -N, +P% or -P% (got ${flags.by})`);
  const amount = Number(`${by[1]}${by[2]}`);
  if (by[3]) return { ...input, percent: amount };
  if (!Number.isInteger(amount)) throw new UsageError(`--by ${flags.by}: a count of tasks is whole`);
  return { ...input, delta: amount };
}

/** The workflow's own words: summary, every decision, and where the execution is. */
export function describeScaleRun(result: WorkflowResult): string {
  const plan = result.output as ScalePlan | undefined;
  if (result.status !== 'SUCCEEDED' && !plan?.summary) {
    return [
      `${result.status}: ${lambdaErrorText(result.error, result.cause)}`,
      `execution: ${result.executionArn}`,
    ].join('\n');
  }
  return [
    plan?.summary ?? '',
    ...(plan?.explanation ?? []).map((line) => `  - ${line}`),
    `execution: ${result.executionArn} (${result.status}, ${result.transitions} state transitions)`,
  ].join('\n');
}

/** A failed Lambda step's cause is Lambda's JSON error: show its name and message. */
function lambdaErrorText(error: string | undefined, cause: string | undefined): string {
  try {
    const parsed = JSON.parse(cause ?? '') as { errorType?: string; errorMessage?: string };
    if (parsed.errorMessage) return `${parsed.errorType ?? error}: ${parsed.errorMessage}`;
  } catch {
    // Not JSON: a Fail state's own cause.
  }
  return `${error ?? 'error'}: ${cause ?? ''}`;
}

/** What --json prints: the decision and the plan, not the executor's event log. */
export function scaleRunJson(result: WorkflowResult) {
  return {
    status: result.status,
    executionArn: result.executionArn,
    ...(result.error ? { error: result.error, cause: result.cause } : {}),
    plan: result.output,
  };
}
