// `ops scale` as a user runs it: a separate process, its own emulator daemon (in a temp state
// dir), the workflow run from the synthesized definition, the same words as the workflow output.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localOpsEnv, runOps } from '../support/ops-process.ts';

const stateDir = mkdtempSync(join(tmpdir(), 'ops-scale-'));

const ops = (...args: string[]) => runOps(args, { env: localOpsEnv(stateDir) });

describe('ops scale', () => {
  beforeAll(async () => {
    expect((await ops('emulator', 'start')).code).toBe(0);
    expect((await ops('seed', '--instances', '4')).code).toBe(0);
  }, 240_000);
  afterAll(async () => {
    await ops('emulator', 'stop');
  });

  it('plans on --dry-run, scales with --to, and explains a cooldown on --by -N', async () => {
    const dry = await ops('scale', '--service', 'api', '--by', '+50%', '--dry-run');
    expect(dry.code).toBe(0);
    expect(dry.stdout.split('\n')[0]).toBe('web/api: dry run, would scale out from 4 to 6; changed nothing');
    expect(dry.stdout).toContain('  - dry run: nothing was changed');

    const to = await ops('scale', '--service', 'web/api', '--to', '6', '--reason', 'campaign at noon');
    expect(to.code).toBe(0);
    expect(to.stdout.split('\n')[0]).toBe('web/api: scaled out from 4 to 6 because "campaign at noon"');
    expect(to.stdout).toContain('  - verified: 6 of 6 tasks running after 1 check(s)');
    expect(to.stdout).toMatch(/execution: arn:aws:states:.*\(SUCCEEDED, \d+ state transitions\)/);

    // Scale-in waits 300 s after any scaling (config/scaling/local.json).
    const down = await ops('scale', '--service', 'api', '--by', '-1', '--json');
    expect(down.code).toBe(0);
    const result = JSON.parse(down.stdout);
    expect(result.plan).toMatchObject({ decision: 'no-change', blockedBy: { guardrail: 'cooldown' } });
    expect(result.plan.summary).toMatch(
      /^web\/api: did nothing because the scale-in cooldown ends at \d\d:\d\d:\d\d UTC/,
    );

    const journal = JSON.parse((await ops('journal', '--json')).stdout) as {
      action: string;
      outcome: string;
    }[];
    expect(journal.filter((j) => j.action === 'scale-service').map((j) => j.outcome)).toEqual([
      'unchanged',
      'changed',
      'unchanged',
    ]);
  }, 120_000);

  it('fails clearly: bad flags exit 2, a rejected input exits 1 naming the field', async () => {
    const usage = await ops('scale', '--service', 'api', '--to', 'six');
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('UsageError: --to takes a whole number of tasks (got six)');
    const both = await ops('scale', '--service', 'api');
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('give exactly one of --to and --by');
    // web/worker is configured, but `ops seed` does not create it.
    const missing = await ops('scale', '--service', 'worker', '--to', '3');
    expect(missing.code).toBe(1);
    expect(missing.stdout).toContain('FAILED: InvalidInput: input.service: was not found in cluster web');
  }, 120_000);
});
