// `ops remediate` and `ops approve` as a user runs them: separate processes, their own emulator
// daemon (in a temp state dir), the remediate-alarm workflow run from the synthesized definition.
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudWatchClient, SetAlarmStateCommand } from '@aws-sdk/client-cloudwatch';
import { DescribeContainerInstancesCommand, ECSClient } from '@aws-sdk/client-ecs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../local/python-env.ts';
import { putCpuAlarm } from '../../local/seed.ts';
import { runOps } from '../support/ops-process.ts';

const stateDir = mkdtempSync(join(tmpdir(), 'ops-remediate-'));
const childEnv = { ...process.env, OPS_STATE_DIR: stateDir, AWS_ENDPOINT_URL: '' };
const OPS = join(REPO_ROOT, 'bin', 'ops.mjs');

const ops = (...args: string[]) => runOps(args, { env: childEnv });

describe('ops remediate', () => {
  let cloudwatch: CloudWatchClient;
  let ecs: ECSClient;
  let instance: { ec2InstanceId: string; containerInstanceArn: string };
  const client = { region: 'us-east-1', credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } };

  const alarm = async (name: string, state: 'OK' | 'ALARM', dimensions: Record<string, string> = {}) => {
    await putCpuAlarm(cloudwatch, name, dimensions);
    await cloudwatch.send(
      new SetAlarmStateCommand({ AlarmName: name, StateValue: state, StateReason: 'test' }),
    );
  };

  beforeAll(async () => {
    const started = JSON.parse((await ops('emulator', 'start', '--json')).stdout) as { endpoint: string };
    const seeded = await ops('seed', '--instances', '4', '--json');
    expect(seeded.code).toBe(0);
    instance = (JSON.parse(seeded.stdout) as { containerInstances: (typeof instance)[] })
      .containerInstances[0] as typeof instance;
    cloudwatch = new CloudWatchClient({ ...client, endpoint: started.endpoint });
    ecs = new ECSClient({ ...client, endpoint: started.endpoint });
  }, 240_000);
  afterAll(async () => {
    await ops('emulator', 'stop');
  });

  it('plans on --dry-run, acts and escalates when the alarm stays, then refuses inside the cooldown', async () => {
    await alarm('web-api-cpu-high', 'ALARM');
    const dry = await ops('remediate', '--alarm', 'web-api-cpu-high', '--dry-run');
    expect(dry.code).toBe(0);
    expect(dry.stdout.split('\n')[0]).toMatch(
      /^alarm web-api-cpu-high is in ALARM .*: runbook api-cpu-scale-out \(scale-out on web\/api\)$/,
    );
    expect(dry.stdout).toContain('  - dry run: nothing was changed');

    // Nothing makes the emulator's alarm recover: the runbook acts once, then a human is called.
    const acted = await ops('remediate', '--alarm', 'web-api-cpu-high', '--json');
    expect(acted.code).toBe(1);
    const result = JSON.parse(acted.stdout) as { status: string; error: string; cause: string };
    expect(result).toMatchObject({ status: 'FAILED', error: 'NotRemediated' });
    expect(result.cause).toContain('escalated to a human, no second attempt');

    const again = await ops('remediate', '--alarm', 'web-api-cpu-high');
    expect(again.code).toBe(3);
    expect(again.stdout).toMatch(
      /did nothing because runbook api-cpu-scale-out is cooling down until \d\d:\d\d:\d\d UTC/,
    );
  }, 180_000);

  it('waits for ops approve from another terminal before a risky runbook acts', async () => {
    const name = `web-instance-impaired-${instance.ec2InstanceId}`;
    await alarm(name, 'ALARM', { InstanceId: instance.ec2InstanceId });
    const child = spawn(process.execPath, [OPS, 'remediate', '--alarm', name, '--gate-wait', '90s'], {
      cwd: REPO_ROOT,
      env: childEnv,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += String(d);
    });
    const exited = new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? -1)));
    const execution = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no approval prompt; stderr: ${stderr}`)), 90_000);
      child.stderr.on('data', (d) => {
        stderr += String(d);
        const m = /waiting for approval: ops approve (\S+)/.exec(stderr);
        if (m?.[1]) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
    });
    const status = async () =>
      (
        await ecs.send(
          new DescribeContainerInstancesCommand({
            cluster: 'web',
            containerInstances: [instance.containerInstanceArn],
          }),
        )
      ).containerInstances?.[0]?.status;
    expect(await status()).toBe('ACTIVE');
    const approved = await ops('approve', execution, '--reason', 'instance is degraded');
    expect(approved.code).toBe(0);
    expect(approved.stdout).toContain(`approved runbook impaired-instance-drain for alarm ${name}`);
    const twice = await ops('reject', execution);
    expect(twice.code).toBe(3);
    expect(twice.stdout).toContain('was already answered (approve by');
    // It drained once; the emulator's alarm never recovers, so it ends escalated, not retried.
    expect(await exited).toBe(1);
    expect(await status()).toBe('DRAINING');
    expect(stdout).toContain('is still ALARM after runbook impaired-instance-drain: escalated to a human');
  }, 180_000);

  it('fails clearly: no --alarm exits 2, an alarm that does not exist exits 1 naming the field', async () => {
    const usage = await ops('remediate');
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('UsageError: --alarm is required');
    const missing = await ops('remediate', '--alarm', 'no-such-alarm');
    expect(missing.code).toBe(1);
    expect(missing.stdout).toContain('InvalidInput: alarmName: no CloudWatch alarm of this name exists');
  }, 120_000);
});
