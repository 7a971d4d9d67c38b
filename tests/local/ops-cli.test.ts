// The ops CLI as a user runs it: a separate process, its own emulator daemon (in a temp state dir).
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../local/python-env.ts';
import { localOpsEnv, runOps } from '../support/ops-process.ts';

const stateDir = mkdtempSync(join(tmpdir(), 'ops-cli-'));

const run = promisify(execFile);
const ops = (...args: string[]) => runOps(args, { env: localOpsEnv(stateDir) });

describe('ops CLI', () => {
  beforeAll(async () => {
    const started = await ops('emulator', 'start', '--json');
    expect(started.code).toBe(0);
  });
  afterAll(async () => {
    await ops('emulator', 'stop');
  });

  it('starts the emulator idempotently and reports its status', async () => {
    const again = JSON.parse((await ops('emulator', 'start', '--json')).stdout);
    expect(again.alreadyRunning).toBe(true);
    const status = JSON.parse((await ops('emulator', 'status', '--json')).stdout);
    expect(status).toMatchObject({ running: true, endpoint: again.endpoint });
  });

  it('seeds, invokes, reads alerts and the journal, and fails clearly on bad input', async () => {
    const seeded = await ops('seed', '--instances', '8', '--spot-fraction', '0.5', '--json');
    expect(seeded.code).toBe(0);
    const world = JSON.parse(seeded.stdout);
    const spot = world.containerInstances.filter((c: { spot: boolean }) => c.spot);
    expect(world.containerInstances).toHaveLength(8);
    expect(spot).toHaveLength(4);
    expect(spot[0].containerInstanceArn).toMatch(/^arn:aws:ecs:/);

    const sample = readFileSync(
      join(REPO_ROOT, 'events/samples/aws/ec2-spot-instance-interruption-warning.json'),
      'utf8',
    );
    const eventFile = join(stateDir, 'warning.json');
    writeFileSync(eventFile, sample.split('i-1234567890abcdef0').join(spot[0].ec2InstanceId));
    const invoked = await ops('invoke', 'spot-interruption', '--event', eventFile, '--json');
    expect(invoked.code).toBe(0);
    const report = JSON.parse(invoked.stdout).result;
    expect(report.instances).toEqual([
      expect.objectContaining({ instanceId: spot[0].ec2InstanceId, result: 'drained' }),
    ]);

    const alerts = JSON.parse((await ops('alerts', '--json')).stdout);
    expect(alerts).toHaveLength(1);
    expect(alerts[0].subject).toContain('draining 1 instance');
    const journal = JSON.parse((await ops('journal', '--json')).stdout);
    expect(journal.map((r: { action: string }) => r.action).sort()).toEqual([
      'drain-instance',
      'request-capacity',
    ]);

    const badFile = join(stateDir, 'bad.json');
    writeFileSync(badFile, sample.replace('"instance-action": "terminate"', '"instance-action": "explode"'));
    const bad = await ops('invoke', 'spot-interruption', '--event', badFile);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('InvalidInput: detail.instance-action');
    expect(JSON.parse((await ops('alerts', '--json')).stdout)).toHaveLength(0);
  });

  it('invokes an alarm trigger and runs the executions it started, printing their outcome', async () => {
    expect((await ops('seed', '--instances', '4', '--json')).code).toBe(0);
    const sample = JSON.parse(
      readFileSync(join(REPO_ROOT, 'events/samples/aws/cloudwatch-alarm-state-change.json'), 'utf8'),
    ) as { time: string; detail: { state: { timestamp: string } } };
    sample.time = new Date().toISOString();
    sample.detail.state.timestamp = sample.time;
    const eventFile = join(stateDir, 'alarm-sqs.json');
    writeFileSync(
      eventFile,
      JSON.stringify({ Records: [{ messageId: 'm-1', body: JSON.stringify(sample) }] }),
    );
    const invoked = await ops('invoke', 'remediation-trigger', '--event', eventFile, '--json');
    const shown = JSON.parse(invoked.stdout) as {
      result: { batchItemFailures: unknown[] };
      executions: { workflow: string; name: string; status: string; error?: string; cause?: string }[];
    };
    expect(shown.result.batchItemFailures).toEqual([]);
    // The trigger started one execution; it ran here, and its first state refused the alarm,
    // which CloudWatch does not have: the outcome is printed and the exit code says so.
    expect(shown.executions).toEqual([
      expect.objectContaining({ workflow: 'remediate-alarm', status: 'FAILED', error: 'InvalidInput' }),
    ]);
    expect(shown.executions[0]?.name).toMatch(/^remediate-ServerCpuTooHigh-[0-9a-f]{32}$/);
    expect(shown.executions[0]?.cause).toContain('alarmName: no CloudWatch alarm of this name exists');
    expect(invoked.code).toBe(1);
    // It ended here, so the emulator no longer lists it as running (ops status reads that).
    const status = JSON.parse((await ops('status', '--json')).stdout) as { executions: { name: string }[] };
    expect(status.executions.map((e) => e.name)).not.toContain(shown.executions[0]?.name);
    // Delivered again: the trigger starts nothing, so nothing runs and nothing failed.
    const again = await ops('invoke', 'remediation-trigger', '--event', eventFile);
    expect(again.code).toBe(0);
    expect(again.stdout).not.toContain('remediate-alarm remediate-');
  });

  it('silences alerts by kind: not published, journaled, listed; unsilence ends it', async () => {
    const world = JSON.parse(
      (await ops('seed', '--instances', '4', '--spot-fraction', '1', '--json')).stdout,
    );
    const usage = await ops('silence', '--kind', 'spot-interruption', '--for', '2h');
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('--reason');
    const created = await ops(
      'silence',
      '--kind',
      'spot-interruption',
      '--for',
      '2h',
      '--reason',
      'spot capacity game day',
      '--json',
    );
    expect(created.code).toBe(0);
    const silence = JSON.parse(created.stdout);
    expect(silence).toMatchObject({
      matcher: { kind: 'spot-interruption' },
      reason: 'spot capacity game day',
    });
    const listed = JSON.parse((await ops('silences', '--json')).stdout);
    expect(listed).toEqual([expect.objectContaining({ id: silence.id, active: true })]);

    const sample = readFileSync(
      join(REPO_ROOT, 'events/samples/aws/ec2-spot-instance-interruption-warning.json'),
      'utf8',
    );
    const eventFile = join(stateDir, 'silenced-warning.json');
    writeFileSync(
      eventFile,
      sample.split('i-1234567890abcdef0').join(world.containerInstances[0].ec2InstanceId),
    );
    expect((await ops('invoke', 'spot-interruption', '--event', eventFile)).code).toBe(0);
    // Only the silence's own notice is published, on the info topic.
    expect(
      (
        JSON.parse((await ops('alerts', '--json')).stdout) as { alert: { dedupKey: string; kind: string } }[]
      ).map((a) => [a.alert.kind, a.alert.dedupKey]),
    ).toEqual([['silence', `silence/${silence.id}`]]);
    const journal = JSON.parse((await ops('journal', '--json')).stdout) as {
      action: string;
      reason: string;
    }[];
    const silenced = journal.filter((r) => r.action === 'silence-alert');
    expect(silenced).toHaveLength(1);
    expect(silenced[0]?.reason).toContain(silence.id);

    expect((await ops('unsilence', silence.id)).code).toBe(0);
    const after = JSON.parse((await ops('silences', '--json')).stdout);
    expect(after).toEqual([expect.objectContaining({ id: silence.id, active: false })]);
    const help = await ops('help');
    expect(help.stdout).toContain('ops silence (--service S | --kind K | --dedup-key D)');
  });

  it('runs a workflow and exits non-zero when it fails', async () => {
    const input = join(stateDir, 'surge.json');
    writeFileSync(input, JSON.stringify({ cluster: 'nope', instances: [], replacements: 1 }));
    const failed = await ops('run', 'spot-surge', '--input', input);
    expect(failed.code).toBe(1);
    expect(failed.stdout).toContain('FAILED');
    expect(failed.stdout).toContain('input.instances');
  });

  it('explains usage errors and unknown commands', async () => {
    const unknown = await ops('frobnicate');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command "frobnicate"');
    const help = await ops('help');
    expect(help.stdout).toContain('ops seed');
    // A gate's answer carries its reason into the workflow's state: too long is a usage error.
    const long = await ops('approve', 'rollout-x', '--reason', 'x'.repeat(501));
    expect(long.code).toBe(2);
    expect(long.stderr).toContain('--reason: is 501 characters; at most 500');
  });

  it("runs on the project's Node however it is started, with no engine or runtime warnings", async () => {
    const projectNode = realpathSync(join(REPO_ROOT, 'node_modules/node/bin/node'));
    const { version } = JSON.parse(readFileSync(join(REPO_ROOT, 'node_modules/node/package.json'), 'utf8'));
    // A user's shell: the machine's node, npm and npx first, none of the project's bins.
    const PATH = (process.env.PATH ?? '')
      .split(delimiter)
      .filter((dir) => !dir.includes('node_modules'))
      .join(delimiter);
    const env: NodeJS.ProcessEnv = { ...process.env, PATH, OPS_STATE_DIR: stateDir };
    for (const key of Object.keys(env))
      if (key.startsWith('npm_') || key === 'OPS_ON_PROJECT_NODE') delete env[key];
    // An empty npm cache: npx then installs the project into it, which is when npm checks engines.
    env.npm_config_cache = mkdtempSync(join(tmpdir(), 'ops-npm-cache-'));
    const ways: [string, string[]][] = [
      ['npx', ['ops', '--version', '--json']],
      ['npm', ['run', '--silent', 'ops', '--', '--version', '--json']],
      [join(REPO_ROOT, 'bin/ops.mjs'), ['--version', '--json']],
    ];
    for (const [file, args] of ways) {
      const started = await run(file, args, { cwd: REPO_ROOT, env });
      expect(started.stderr, `${file} ${args.join(' ')}`).toBe('');
      const printed = JSON.parse(started.stdout);
      expect(printed.node, `${file} ${args.join(' ')}`).toBe(`v${version}`);
      expect(realpathSync(printed.nodePath)).toBe(projectNode);
      expect(printed.version).toBe(JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')).version);
    }
    const human = await run(join(REPO_ROOT, 'bin/ops.mjs'), ['--version'], { cwd: REPO_ROOT, env });
    expect(human.stdout.trim()).toBe(
      `ops ${JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')).version} on Node v${version}`,
    );
  });

  it('doctor: passes the seeded world (exit 0) and refuses a full environment (exit 2)', async () => {
    // The world the silences test seeded (as `runs a workflow` above, no seed of its own).
    const seeded = await ops('doctor');
    expect(seeded.stdout).toMatch(/^ops doctor: the seeded world/);
    expect(seeded.stdout).toContain('ok   deployment controller: EXTERNAL');
    expect(seeded.stdout).toMatch(/ok {3}alarms: all 3 named alarms exist/);
    expect(seeded.code, seeded.stdout).toBe(0);
    const full = await ops('doctor', '--env', 'dev');
    expect(full.code).toBe(2);
    expect(full.stderr).toContain('config/dev.json deploys the whole stack');
  });
});
