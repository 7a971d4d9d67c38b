// `ops rollout --watch` and `ops approve|reject|abort|rollback` as an operator runs them: separate
// processes, their own emulator daemon (in a temp state dir), the rollout workflow run from the
// synthesized definition in the `ops rollout` process, answers relayed through the rollout's
// record. Asserts what each command prints and its exit code (0 done, 1 failed, 2 usage, 3 refused).
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../local/python-env.ts';
import { runOps } from '../support/ops-process.ts';

const stateDir = mkdtempSync(join(tmpdir(), 'ops-rollout-'));
const env = { ...process.env, OPS_STATE_DIR: stateDir, AWS_ENDPOINT_URL: '' };
const cli = join(REPO_ROOT, 'bin', 'ops.mjs');
const operator = `ops-cli/${userInfo().username}`;

interface Done {
  code: number;
  stdout: string;
  stderr: string;
}

const ops = (...args: string[]): Promise<Done> => runOps(args, { env });

/** A long-running `ops` command (a rollout that waits at a gate) whose output is read as it comes. */
function opsInBackground(...args: string[]) {
  const child: ChildProcess = spawn(process.execPath, [cli, ...args], { cwd: REPO_ROOT, env });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const done = new Promise<Done>((resolve) => {
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
  return {
    done,
    /** The first line of output matching `pattern`, waiting for it (or for the process to end). */
    async line(pattern: RegExp, timeoutMs = 90_000): Promise<RegExpMatchArray> {
      let ended = false;
      void done.then(() => {
        ended = true;
      });
      for (const until = Date.now() + timeoutMs; ; ) {
        const match = stdout
          .split('\n')
          .map((l) => l.match(pattern))
          .find((m) => m !== null);
        if (match) return match;
        if (ended || Date.now() > until)
          throw new Error(
            `no line matching ${pattern} (${ended ? 'ended' : 'timed out'}):\n${stdout}\n${stderr}`,
          );
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    kill: () => child.kill(),
  };
}

const GATE = /waiting at the before-traffic gate until \S+ \(then: reject\): ops approve\|reject (\S+)$/;

/** A canary that waits at the before-traffic gate (up to two real minutes) for an answer. */
const gatedRollout = (image: string) =>
  opsInBackground(
    'rollout',
    '--service',
    'web/api',
    '--image',
    image,
    '--strategy',
    'canary:10:5m',
    '--approval',
    'before-traffic',
    '--gate-wait',
    '120s',
    '--watch',
  );

interface JournalLine {
  action: string;
  reason: string;
  after?: { blue: number; green: number };
  details?: { execution?: string };
}

async function journalOf(executionName: string): Promise<JournalLine[]> {
  const all = JSON.parse((await ops('journal', '--json')).stdout) as JournalLine[];
  return all.filter((r) => r.details?.execution?.endsWith(`:${executionName}`));
}

describe('ops rollout, approve, reject, abort, rollback', () => {
  const background: { kill(): void }[] = [];
  beforeAll(async () => {
    expect((await ops('emulator', 'start')).code).toBe(0);
    expect((await ops('seed', '--instances', '4')).code).toBe(0);
    // Healthy traffic for both target groups: no data is not a pass.
    const traffic = await ops('traffic', '--hours', '6');
    expect(traffic.code, traffic.stderr).toBe(0);
    expect(traffic.stdout).toMatch(/^wrote \d+ datapoints for web\/api until \S+: blue healthy/);
  }, 240_000);
  afterAll(async () => {
    for (const b of background) b.kill();
    await ops('emulator', 'stop');
  });

  it('--watch shows the plan, every verdict, the window and the end; rollback after it refuses (exit 3)', async () => {
    const run = await ops(
      'rollout',
      '--service',
      'api',
      '--image',
      'registry.local/api:2',
      '--strategy',
      'linear:50:5m',
      '--gate-wait',
      '1s',
      '--watch',
    );
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    // Before anything runs: the plan and what each step's analysis will judge (defaults applied).
    expect(lines.slice(0, 8)).toEqual([
      'plan for web/api: 50%/300s -> 100%',
      '  alarms that must be OK after every bake: none named',
      "  green 5xx rate at most max(1%, 2x blue's) once 5 or more fail",
      "  green p95 latency at most max(50 ms, 2x blue's) and 1000 ms",
      '  compared with blue (errorRate, latency): one-sided Mann-Whitney at 0.95, at least 5 samples a side, tolerance 10%',
      '  no green requests, or a window shorter than 60s: inconclusive (a human decides within 1h, else reject)',
      '  step 1: 50% for 5m, all of the above',
      '  step 2: 100%, no bake: alarms only',
    ]);
    const name = lines[8]?.match(/^(rollout-api-\d{8}T\d{6}-[0-9a-f]{4}): 50%\/300s -> 100%$/)?.[1];
    if (!name) throw new Error(`no execution line after the plan:\n${run.stdout}`);
    expect(lines).toContain('  verdict step 1 at 50%: pass');
    expect(lines.some((l) => l.startsWith('  verdict step 2 at 100%: pass'))).toBe(true);
    expect(lines).toContainEqual(expect.stringMatching(/^window\s+blue {3}0% \/ green 100% step 2\/2$/));
    expect(lines).toContainEqual(
      expect.stringMatching(/^ {2}rollback window open until \S+: ops rollback web\/api$/),
    );
    expect(lines).toContainEqual(expect.stringMatching(/^finalized\s+blue {3}0% \/ green 100% step 2\/2$/));
    expect(lines.slice(-3)).toEqual([
      expect.stringMatching(new RegExp(`^${name}: SUCCEEDED after \\d+ state transitions$`)),
      'green is primary; blue was retired',
      '(gates and the rollback window wait 1 s here; bakes are compressed; see ops journal)',
    ]);
    const journal = await journalOf(name);
    expect(journal.filter((r) => r.action === 'shift-traffic').map((r) => r.after?.green)).toEqual([50, 100]);

    // The window has closed and blue is gone: rollback refuses, says why, changes nothing.
    const refused = await ops('rollback', 'api');
    expect(refused.code).toBe(3);
    expect(refused.stdout).toMatch(
      new RegExp(
        `^refused: the rollback window of rollout ${name} closed at \\S+; blue was retired \\(\\S+\\)\\. Roll forward instead: ops rollout --service api --image public\\.ecr\\.aws/nginx/nginx:stable\\n$`,
      ),
    );
    const asJson = await ops('rollback', 'web/api', '--json');
    expect(asJson.code).toBe(3);
    expect(JSON.parse(asJson.stdout)).toMatchObject({
      refused: true,
      message: expect.stringContaining(name),
    });
    expect((await journalOf(name)).some((r) => r.action === 'operator-rollback')).toBe(false);
  }, 180_000);

  it('approve answers the gate of a rollout in another process; rollback inside the window puts 100% back on blue', async () => {
    const rollout = gatedRollout('registry.local/api:3');
    background.push(rollout);
    const name = (await rollout.line(GATE))[1] as string;

    const approved = await ops('approve', name, '--reason', 'looks good');
    expect(approved.code, approved.stderr).toBe(0);
    expect(approved.stdout).toMatch(
      new RegExp(
        `^arn:aws:states:\\S+:execution:\\S+:${name}: approved the before-traffic gate of ${name}\\n$`,
      ),
    );
    // The gate took its answer: a second one is refused (which words depends on how far it got).
    const again = await ops('approve', name);
    expect(again.code).toBe(3);
    expect(again.stdout).toMatch(
      new RegExp(
        `the before-traffic gate of ${name} was already answered|rollout ${name} is (not waiting at a gate|in its rollback window, not at a gate: use ops rollback web/api to go back)`,
      ),
    );

    await rollout.line(/^ {2}rollback window open until \S+: ops rollback web\/api$/);
    const rolledBack = await ops('rollback', 'web/api');
    expect(rolledBack.code, rolledBack.stderr).toBe(0);
    expect(rolledBack.stdout).toContain(
      'traffic is 100% on blue again (read back: blue 100% / green 0%); the rollout removes green',
    );

    const done = await rollout.done;
    expect(done.code).toBe(1);
    expect(done.stdout).toContain(`RolledBack: ${operator} rolled back inside the rollback window`);
    expect(done.stdout).toMatch(/^rolled-back\s+blue 100% \/ green {3}0% step 2\/2$/m);
    const journal = await journalOf(name);
    expect(journal.find((r) => r.action === 'gate-answered')?.reason).toBe(
      `before-traffic gate: approve by ${operator} (looks good)`,
    );
    expect(journal.find((r) => r.action === 'operator-rollback')?.after).toEqual({ blue: 100, green: 0 });
  }, 240_000);

  it('reject rolls a waiting rollout back before any traffic; abort stops another; a second abort refuses', async () => {
    const rejected = gatedRollout('registry.local/api:4');
    background.push(rejected);
    const first = (await rejected.line(GATE))[1] as string;
    const no = await ops('reject', first, '--reason', 'not today');
    expect(no.code, no.stderr).toBe(0);
    expect(no.stdout).toContain(`: rejected the before-traffic gate of ${first}`);
    const rejectedDone = await rejected.done;
    expect(rejectedDone.code).toBe(1);
    expect(rejectedDone.stdout).toContain(
      `RolledBack: ${operator} rejected the rollout at the before-traffic gate: not today`,
    );
    expect((await journalOf(first)).filter((r) => r.action === 'shift-traffic')).toEqual([]);

    const aborted = gatedRollout('registry.local/api:5');
    background.push(aborted);
    const second = (await aborted.line(GATE))[1] as string;
    const stop = await ops('abort', second, '--reason', 'wrong image');
    expect(stop.code, stop.stderr).toBe(0);
    expect(stop.stdout).toContain(`: abort requested; the rollout removes green and releases the service`);
    const abortedDone = await aborted.done;
    expect(abortedDone.code).toBe(1);
    expect(abortedDone.stdout).toContain(`RolledBack: aborted by ${operator} at the before-traffic gate`);
    const journal = await journalOf(second);
    expect(journal.find((r) => r.action === 'operator-abort')?.reason).toBe(
      `${operator} aborted the rollout: wrong image`,
    );

    const late = await ops('abort', second);
    expect(late.code).toBe(3);
    expect(late.stdout).toContain(`rollout ${second} already ended (rolled back: aborted by ${operator}`);
  }, 300_000);

  it('explains usage errors (exit 2), unknown rollouts (exit 3) and rejected input (exit 1)', async () => {
    const noRef = await ops('approve');
    expect(noRef.code).toBe(2);
    expect(noRef.stderr).toContain('UsageError: ops approve <execution> (name or ARN)');
    const badStrategy = await ops(
      'rollout',
      '--service',
      'api',
      '--image',
      'x',
      '--strategy',
      'canary:ten:5m',
    );
    expect(badStrategy.code).toBe(2);
    expect(badStrategy.stderr).toContain('--strategy canary percent: expected a whole number (got ten)');

    const unknown = await ops('reject', 'rollout-nope-20000101T000000-0000');
    expect(unknown.code).toBe(3);
    expect(unknown.stdout).toContain('no rollout matches "rollout-nope-20000101T000000-0000"');

    // `ops seed` makes no test listener: test traffic is refused in the first state.
    const file = join(stateDir, 'pre-traffic.json');
    writeFileSync(
      file,
      JSON.stringify({
        cluster: 'web',
        service: 'api',
        image: 'registry.local/api:7',
        strategy: { type: 'all-at-once' },
        preTraffic: { testTraffic: true },
      }),
    );
    const hooked = join(stateDir, 'hooked.json');
    writeFileSync(
      hooked,
      JSON.stringify({
        cluster: 'web',
        service: 'api',
        image: 'registry.local/api:7',
        strategy: { type: 'all-at-once' },
        preTraffic: { hookFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:rollout-hook-smoke' },
      }),
    );
    const local = await ops('rollout', '--input', hooked);
    expect(local.code).toBe(2);
    expect(local.stderr).toContain(
      'UsageError: a pre-traffic hook runs on AWS only (--aws --outputs <file>)',
    );
    const invalid = await ops('rollout', '--input', file, '--gate-wait', '1s');
    expect(invalid.code).toBe(1);
    expect(invalid.stdout).toContain('FAILED after');
    expect(invalid.stdout).toContain(
      'InvalidInput: input.preTraffic.testTraffic: web-alb has no test listener',
    );
  }, 180_000);

  it('the documented command (docs/rollouts.md) against a failing green rolls back by default; --no-analysis runs blind, labelled', async () => {
    const failing = await ops('traffic', '--green', 'errors:50', '--hours', '6');
    expect(failing.code, failing.stderr).toBe(0);
    const run = await ops(
      'rollout',
      '--service',
      'api',
      '--image',
      'registry.local/api:8',
      '--strategy',
      'canary:10:5m',
    );
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(
      /RolledBack: green 5xx rate \d+\.\d\d% \(\d+ of \d+ requests\) is above its limit 1\.00%/,
    );
    const blind = await ops(
      'rollout',
      '--service',
      'api',
      '--image',
      'registry.local/api:9',
      '--strategy',
      'canary:10:5m',
      '--no-analysis',
      '--gate-wait',
      '1s',
    );
    expect(blind.code, blind.stdout).toBe(0);
    expect(blind.stdout).toContain(
      '  analysis OFF: a blind rollout (analysis.enabled is false); only alarms are checked',
    );
    const name = blind.stdout.match(/^(rollout-api-\S+): SUCCEEDED/m)?.[1] as string;
    const journal = await journalOf(name);
    expect(journal.find((r) => r.action === 'analysis-off')?.reason).toContain(
      'blind (analysis.enabled is false)',
    );
    const usage = await ops('traffic', '--green', 'lots');
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('UsageError: --green takes healthy, errors:PERCENT');
  }, 180_000);

  it('rolls out web/shop, which ECS deploys: plan, hook calls and verdicts with --watch; a failing green is rolled back by ECS (exit 1)', async () => {
    const traffic = await ops('traffic', '--service', 'shop', '--hours', '6');
    expect(traffic.code, traffic.stderr).toBe(0);
    expect(traffic.stdout).toMatch(/^wrote \d+ datapoints for web\/shop until /);
    const run = await ops('rollout', '--service', 'web/shop', '--image', 'registry.local/shop:2', '--watch');
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(
      'plan for web/shop: ECS deploys it (CANARY 10% for 5 min, then 100%); the lifecycle hook judges each traffic step',
    );
    expect(lines).toContain(
      '  hook at PRODUCTION_TRAFFIC_SHIFT (green 10%): IN_PROGRESS (call back in 300 s)',
    );
    expect(lines).toContain('  verdict step 2 at 10%: pass');
    expect(lines.some((l) => /^finalized +blue +0% \/ green 100% step 3$/.test(l))).toBe(true);
    expect(lines.at(-3)).toMatch(/^\S+: SUCCESSFUL after 7 lifecycle hook calls$/);
    expect(lines.at(-2)).toBe('green is primary (web-shop:2); ECS retired blue');

    // Green answers 12% 5xx: the hook answers FAILED at the canary, and ECS rolls back.
    expect((await ops('traffic', '--service', 'shop', '--green', 'errors:12', '--hours', '6')).code).toBe(0);
    const failed = await ops('rollout', '--service', 'shop', '--image', 'registry.local/shop:3');
    expect(failed.code, failed.stderr).toBe(1);
    expect(failed.stdout).toMatch(/^\S+: ROLLBACK_SUCCESSFUL after \d+ lifecycle hook calls$/m);
    expect(failed.stdout).toContain(
      'ECS rolled back to web-shop:2: lifecycle hook at PRODUCTION_TRAFFIC_SHIFT answered FAILED',
    );
    const journal = JSON.parse((await ops('journal', '--json')).stdout) as (JournalLine & {
      resource: string;
    })[];
    const ended = journal.filter(
      (r) => r.resource === 'service/web/shop' && r.action === 'rollout-rolled-back',
    );
    expect(ended.map((r) => r.reason)).toEqual([
      // (Both profiles' datapoints add up where ops traffic wrote the same minutes twice.)
      expect.stringMatching(
        /^answered FAILED at PRODUCTION_TRAFFIC_SHIFT \(analysis\): green 5xx rate \d+\.\d\d% \(\d+ of \d+ requests\) is above its limit 1\.00% .*; ECS rolls back$/,
      ),
    ]);

    // Its report, as for a task-set rollout: the verdicts and the outcome.
    const report = await ops('report', 'web/shop', '--json', '--out', join(stateDir, 'shop.html'));
    expect(report.code, report.stderr).toBe(0);
    const page = readFileSync(join(stateDir, 'shop.html'), 'utf8');
    expect(page).toContain('rolled back');
    expect(page).toContain('PRODUCTION_TRAFFIC_SHIFT');

    // Its plan is the service's: a task-set strategy is refused, naming why.
    const refused = await ops('rollout', '--service', 'shop', '--image', 'x', '--strategy', 'canary:10:5m');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('web/shop is deployed by ECS: its strategy, analysis and approval are');
  }, 180_000);
});
