// `ops report` on real rollouts: the emulator daemon seeded as `ops seed` does (in a temp state
// dir), two rollouts run from the synthesized definition with load balancer metrics written into
// the emulator's CloudWatch as the ALB would publish them, then the report of each, read back the
// way the command does (local state, or --aws with a cdk outputs file). Asserts the weights,
// verdicts, gate answers and outcome in the report, then renders the pages in headless Chromium
// (Debian's /usr/bin/chromium, driven over the DevTools protocol on a pipe): a screenshot, and not
// one console message, exception or failed load. OPS_REPORT_EXAMPLE=<png> also writes the full-page
// screenshot of the rolled-back report there (docs/rollout-report.png comes from it).
import { copyFileSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { documentClient } from '../../functions/shared/dynamo.ts';
import { answerGate } from '../../functions/shared/rollouts/operator.ts';
import { getRolloutRecord } from '../../functions/shared/rollouts/record.ts';
import type { DeployedStack } from '../../local/deploy.ts';
import { installPercentileStandIn } from '../../local/percentile-stand-in.ts';
import {
  localOperatorDeps,
  type MinuteOfTraffic,
  putTargetGroupMetrics,
  rolloutEnvironment,
  runRollout,
} from '../../local/rollouts.ts';
import type { Seed } from '../../local/seed.ts';
import { VirtualClock } from '../../local/virtual-clock.ts';
import { nextTaskToken, type WorkflowResult } from '../../local/workflow-runner.ts';
import { CHROMIUM, inChromium, NO_CHROMIUM } from '../support/chromium.ts';
import { useSeededDaemon } from '../support/seeded-daemon.ts';

const daemon = useSeededDaemon('report', { instances: 12, spotFraction: 0.5 });
const { work } = daemon;

/** The chart's size as laid out. */
const CHART_BOX = `(() => { const svg = document.querySelector('svg.chart-svg');
  const box = svg ? svg.getBoundingClientRect() : { width: 0, height: 0 };
  return { width: box.width, height: box.height }; })()`;
const MINUTE = 60_000;

type Cli = typeof import('../../cli/report.ts');
let cli: Cli;
let stack: DeployedStack;
let world: Seed;

interface Printed {
  code: number;
  human: string;
  data: {
    file: string;
    execution: { name: string; arn: string };
    service: string;
    outcome: { status: string; summary: string; detail?: string };
    weights: { green: number; blue: number; label: string }[];
    verdicts: { step: number; weight: number; verdict: string }[];
    gates: { gate: string; event: string; decision?: string; by?: string }[];
    metrics: { periodSeconds?: number; green?: number; blue?: number; unavailable?: string };
  };
}

async function report(
  ref: string | undefined,
  flags: Parameters<Cli['reportCommand']>[1] = {},
): Promise<Printed> {
  let human = '';
  let data: unknown;
  const code = await cli.reportCommand(ref, flags, (h, d) => {
    human = h;
    data = d;
  });
  return { code, human, data: data as Printed['data'] };
}

beforeAll(async () => {
  stack = daemon.stack;
  world = daemon.world;
  cli = await import('../../cli/report.ts');
});

// ------------------------------------------------------------------------------------------
// Traffic as the ALB would publish it: requests split by the plan's weights, green failing (5xx
// and slower) from its third step on. Bakes are Wait states, so virtual time follows the plan.

/** Green's planned weight at `at` for a plan of [weight, bake seconds] steps started at t0. */
function plannedGreen(plan: [number, number][], t0: number, at: number, until = Number.POSITIVE_INFINITY) {
  if (at < t0 || at >= until) return 0;
  let from = t0;
  for (const [weight, bake] of plan) {
    if (at < from + bake * 1000 || bake === 0) return weight;
    from += bake * 1000;
  }
  return plan.at(-1)?.[0] ?? 0;
}

async function writeTraffic(params: {
  t0: number;
  plan: [number, number][];
  /** From when green answers with 5xx and slowly. */
  failingFrom?: number;
  /** When traffic goes back to blue (a rollback), if it does. */
  until?: number;
}) {
  const { t0, plan } = params;
  const from = t0 - 3 * MINUTE;
  const to = t0 + plan.reduce((s, [, b]) => s + b * 1000, 0) + 10 * MINUTE;
  const total = (minute: number) => 1200 + (minute % 7) * 11;
  const lb = world.loadBalancer;
  // Each datapoint is stamped at the middle of its minute (local/rollouts.ts).
  const greenAt = (at: number) => plannedGreen(plan, t0, at + 30_000, params.until);
  const green = (minute: number, at: number): MinuteOfTraffic => {
    const requests = Math.round((total(minute) * greenAt(at)) / 100);
    const failing = params.failingFrom !== undefined && at + 30_000 >= params.failingFrom;
    return {
      requests,
      errors: failing ? Math.round(requests * 0.075) : minute % 4 === 0 && requests > 0 ? 1 : 0,
      latencyMs: failing ? 140 + (minute % 5) * 3 : 50 + ((minute + 2) % 5),
    };
  };
  const blue = (minute: number, at: number): MinuteOfTraffic => ({
    requests: total(minute) - Math.round((total(minute) * greenAt(at)) / 100),
    errors: 1 + (minute % 3 === 0 ? 1 : 0),
    latencyMs: 50 + (minute % 5),
  });
  await putTargetGroupMetrics({
    loadBalancerArn: lb.arn,
    targetGroupArn: lb.greenTargetGroupArn,
    from,
    to,
    traffic: green,
  });
  await putTargetGroupMetrics({
    loadBalancerArn: lb.arn,
    targetGroupArn: lb.blueTargetGroupArn,
    from,
    to,
    traffic: blue,
  });
}

const ANALYSIS = {
  maxErrorRate: 0.02,
  maxP95LatencyMs: 400,
  baseline: { enabled: true, confidence: 0.95, minSamples: 5 },
};

/** Runs a rollout whose first gate an operator answers as soon as it opens. */
async function rolloutAnsweredBy(
  clock: VirtualClock,
  input: Record<string, unknown>,
  by: string,
  reason: string,
): Promise<WorkflowResult & { executionName: string }> {
  const run = runRollout(stack, input, { clock, taskTokenTimeoutMs: 60_000 });
  const token = await nextTaskToken({ stateName: 'Wait for approval', timeoutMs: 60_000 });
  // The token exists once the task starts; the gate is open once its record names the token.
  const table = rolloutEnvironment(stack).OPERATIONS_TABLE as string;
  for (const until = Date.now() + 30_000; ; ) {
    const record = await getRolloutRecord(documentClient(), table, 'web', 'api');
    if (record?.gate?.token === token.token) break;
    if (Date.now() > until) throw new Error(`the gate of ${token.executionName} never opened`);
    await new Promise((r) => setTimeout(r, 25));
  }
  await answerGate(localOperatorDeps(stack, clock), token.executionName, 'approve', by, reason);
  return run;
}

const STEPS: [number, number][] = [
  [10, 300],
  [25, 300],
  [50, 300],
  [100, 300],
];
const CANARY: [number, number][] = [
  [20, 300],
  [100, 0],
];

let rolledBack: WorkflowResult & { executionName: string };
let promoted: WorkflowResult & { executionName: string };

describe('ops report', () => {
  beforeAll(async () => {
    // A steps rollout approved before traffic whose green starts failing at 50%: rolled back.
    // The virtual clock also runs in real time: the third shift comes a second or two after
    // t0 + 10m, so green fails from 5 s after it, inside the third bake only.
    const first = new VirtualClock();
    const t0 = first.now();
    await writeTraffic({ t0, plan: STEPS, failingFrom: t0 + 10 * MINUTE + 5_000, until: t0 + 15 * MINUTE });
    rolledBack = await rolloutAnsweredBy(
      first,
      {
        cluster: 'web',
        service: 'api',
        image: 'registry.local/api:2.4.0',
        strategy: { type: 'steps', steps: STEPS.map(([weight, bakeSeconds]) => ({ weight, bakeSeconds })) },
        analysis: ANALYSIS,
        approval: { gate: 'before-traffic', timeoutSeconds: 3600, defaultAction: 'reject' },
        requestedBy: 'ops-cli/alice',
      },
      'alice',
      'green answers on the test listener',
    );
    expect(rolledBack.error, rolledBack.cause).toBe('RolledBack');

    // Six hours later, a canary approved at the finalize gate: it succeeds. Its record replaces
    // the first one's, so the first report is found through the journal alone.
    const second = new VirtualClock();
    second.advance(6 * 3_600_000);
    await writeTraffic({ t0: second.now(), plan: CANARY });
    promoted = await rolloutAnsweredBy(
      second,
      {
        cluster: 'web',
        service: 'api',
        image: 'registry.local/api:2.4.1',
        strategy: { type: 'canary', percent: 20, bakeSeconds: 300 },
        analysis: ANALYSIS,
        approval: { gate: 'before-finalize', timeoutSeconds: 1800, defaultAction: 'reject' },
        rollbackWindowSeconds: 0,
        requestedBy: 'ops-cli/bob',
      },
      'bob',
      'canary looks healthy',
    );
    expect(promoted.status, `${promoted.error}: ${promoted.cause}`).toBe('SUCCEEDED');
  }, 300_000);

  it('reports a rolled-back steps rollout by execution name: weights 0→10→25→50→0, pass, pass, fail, approved by alice', async () => {
    const file = join(work, 'rolled-back.html');
    const printed = await report(rolledBack.executionName, { out: file });
    expect(printed.code).toBe(0);
    expect(printed.human.split('\n')[0]).toBe(file);
    expect(printed.data.file).toBe(file);
    expect(printed.data.execution).toEqual({ name: rolledBack.executionName, arn: rolledBack.executionArn });
    expect(printed.data.service).toBe('web/api');
    expect(printed.data.weights.map((w) => w.green)).toEqual([0, 10, 25, 50, 0]);
    expect(printed.data.weights.map((w) => w.label)).toEqual([
      'start',
      'step 1 of 4',
      'step 2 of 4',
      'step 3 of 4',
      'rollback',
    ]);
    expect(printed.data.verdicts.map((v) => [v.weight, v.verdict])).toEqual([
      [10, 'pass'],
      [25, 'pass'],
      [50, 'fail'],
    ]);
    expect(printed.data.gates).toContainEqual(
      expect.objectContaining({
        gate: 'before-traffic',
        event: 'answered',
        decision: 'approve',
        by: 'alice',
      }),
    );
    expect(printed.data.outcome.status).toBe('rolled-back');
    expect(printed.data.outcome.detail).toContain('green 5xx rate');
    // The record now belongs to the next rollout: the target groups came from the journal.
    expect(printed.data.metrics.green).toBeGreaterThanOrEqual(15);
    expect(printed.data.metrics.blue).toBeGreaterThanOrEqual(15);

    const page = readFileSync(file, 'utf8');
    expect(page).toContain(`<title>Rollout of web/api: rolled back — ${rolledBack.executionName}</title>`);
    expect(page).toContain('class="banner banner-rolled-back"');
    expect(page).toContain('registry.local/api:2.4.0');
    expect(page).toMatch(/green 5xx rate \d+\.\d\d% \(\d+ of \d+ requests\) is above its limit 1\.00%/);
    expect(page).toContain('before-traffic: approve (alice)');
    expect(page).toContain('green answers on the test listener');
    const verdicts = page.slice(page.indexOf('id="verdicts-h"'), page.indexOf('id="gates-h"'));
    expect([...verdicts.matchAll(/class="badge badge-(\w+)"/g)].map((m) => m[1])).toEqual([
      'pass',
      'pass',
      'fail',
    ]);
    expect(page).toContain('Read from the local emulator');
  });

  it('reports the latest rollout of web/api (a canary approved by bob at the finalize gate) into the working directory', async () => {
    const cwd = process.cwd();
    process.chdir(work);
    let printed: Printed;
    try {
      printed = await report('web/api');
    } finally {
      process.chdir(cwd);
    }
    const file = join(work, `rollout-report-${promoted.executionName}.html`);
    expect(printed.data.file).toBe(file);
    expect(existsSync(file)).toBe(true);
    expect(printed.data.execution.name).toBe(promoted.executionName);
    expect(printed.data.weights.map((w) => w.green)).toEqual([0, 20, 100]);
    expect(printed.data.verdicts.map((v) => [v.weight, v.verdict])).toEqual([
      [20, 'pass'],
      [100, 'pass'],
    ]);
    expect(printed.data.gates).toContainEqual(
      expect.objectContaining({ gate: 'before-finalize', event: 'answered', decision: 'approve', by: 'bob' }),
    );
    expect(printed.data.outcome.status).toBe('succeeded');
    const page = readFileSync(file, 'utf8');
    expect(page).toContain('class="banner banner-succeeded"');
    expect(page).toContain('blue was retired');
    expect(page).toContain('registry.local/api:2.4.1');
  });

  it('with --aws --outputs, reads the tables a cdk outputs file names (the report of an execution ARN)', async () => {
    const env = rolloutEnvironment(stack);
    const outputs = join(work, 'cdk-outputs.json');
    writeFileSync(
      outputs,
      JSON.stringify({
        'EcsOps-local-ControlPlane': {
          JournalTableName: env.JOURNAL_TABLE,
          OperationsTableName: env.OPERATIONS_TABLE,
        },
      }),
    );
    // The emulator still has no percentiles; on AWS, GetMetricData computes p95 itself.
    installPercentileStandIn();
    const file = join(work, 'aws.html');
    const printed = await report(rolledBack.executionArn, { aws: true, outputs, out: file });
    expect(printed.data.execution.name).toBe(rolledBack.executionName);
    expect(printed.data.weights.map((w) => w.green)).toEqual([0, 10, 25, 50, 0]);
    expect(printed.data.outcome.status).toBe('rolled-back');
    expect(readFileSync(file, 'utf8')).not.toContain('Read from the local emulator');

    await expect(report('rollout-api-19990101T000000-dead', { aws: true, outputs })).rejects.toThrow(
      /no rollout found for "rollout-api-19990101T000000-dead"/,
    );
    await expect(report(undefined, {})).rejects.toThrow(/ops report <execution>/);
    await expect(report('x', { aws: true })).rejects.toThrow(/--aws needs --outputs/);
  });

  it('renders both reports in headless Chromium: the chart is drawn, no console message, exception or failed load', async (ctx) => {
    ctx.skip(!existsSync(CHROMIUM), NO_CHROMIUM);
    for (const [name, file] of [
      ['rolled-back', join(work, 'rolled-back.html')],
      ['promoted', join(work, `rollout-report-${promoted.executionName}.html`)],
    ] as const) {
      const png = join(work, `${name}.png`);
      const shot = await inChromium<{ width: number; height: number }>(file, png, CHART_BOX, {
        fullPage: name === 'rolled-back' ? join(work, 'full.png') : undefined,
      });
      expect(shot.problems, `${name}: ${shot.problems.join('\n')}`).toEqual([]);
      expect(shot.title).toMatch(/^Rollout of web\/api: /);
      // The chart fills the page's width and has its three panels' height.
      expect(shot.value.width).toBeGreaterThan(1000);
      expect(shot.value.height).toBeGreaterThan(450);
      expect(statSync(png).size).toBeGreaterThan(60_000);
      expect(readFileSync(png).subarray(1, 4).toString()).toBe('PNG');
    }
    const example = process.env.OPS_REPORT_EXAMPLE;
    if (example) copyFileSync(join(work, 'full.png'), example);
  });

  it('the Chromium check does see console errors and failed loads (a page made to have them)', async (ctx) => {
    ctx.skip(!existsSync(CHROMIUM), NO_CHROMIUM);
    const bad = join(work, 'bad.html');
    writeFileSync(
      bad,
      '<!doctype html><title>bad</title><p>x</p><img src="missing.png" alt=""><script>console.error("boom")</script>',
    );
    const shot = await inChromium(bad, join(work, 'bad.png'), 'null');
    expect(shot.problems.some((p) => p.includes('boom'))).toBe(true);
    expect(shot.problems.some((p) => p.includes('missing.png'))).toBe(true);
  });
});
