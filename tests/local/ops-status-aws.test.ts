// `ops status` and the `--aws` path of the workflow commands, as a user runs them: separate
// processes against an emulator daemon. With --aws the CLI only starts and follows the deployed
// state machines (StartExecution, DescribeExecution polling) and reads the stack's tables; the
// emulator's Step Functions records executions without running them, so each one is stopped by
// the test after the CLI was seen polling it. A counting proxy in front of the emulator shows
// which calls the CLI made, and that it made no ECS or load balancer call of its own.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import {
  DescribeExecutionCommand,
  ListExecutionsCommand,
  SFNClient,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONTROL_PLANE_OUTPUTS } from '../../infra/shared/stack-outputs.ts';
import { type FaultProxy, startFaultProxy } from '../../local/fault-proxy.ts';
import { REPO_ROOT } from '../../local/python-env.ts';
import { putCpuAlarm } from '../../local/seed.ts';
import { runOps } from '../support/ops-process.ts';

const stateDir = mkdtempSync(join(tmpdir(), 'ops-status-'));
const OPS = join(REPO_ROOT, 'bin', 'ops.mjs');
const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };

let proxy: FaultProxy;
let endpoint: string;
let outputsFile: string;
let outputs: Record<string, string>;

const localEnv = { ...process.env, OPS_STATE_DIR: stateDir, AWS_ENDPOINT_URL: '' };
/** What a real account looks like to the CLI: an endpoint (the proxy), credentials, a region. */
const awsEnv = () => ({
  ...process.env,
  OPS_STATE_DIR: stateDir,
  AWS_ENDPOINT_URL: proxy.endpoint,
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'testing',
  AWS_SECRET_ACCESS_KEY: 'testing',
  OPS_POLL_MS: '200',
});

const ops = (env: NodeJS.ProcessEnv, ...args: string[]) => runOps(args, { env });

function background(env: NodeJS.ProcessEnv, ...args: string[]) {
  const child = spawn(process.execPath, [OPS, ...args], { cwd: REPO_ROOT, env });
  const io = { stdout: '', stderr: '' };
  child.stdout.on('data', (d) => {
    io.stdout += String(d);
  });
  child.stderr.on('data', (d) => {
    io.stderr += String(d);
  });
  const exited = new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? -1)));
  return { io, exited };
}

async function until<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  what: string,
  ms = 90_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value as T;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const sfn = () => new SFNClient({ endpoint, region: 'us-east-1', credentials });
const calls = (op: string) => proxy.stats().forwardedByOperation[op] ?? 0;
const localOps = () =>
  Object.keys(proxy.stats().byOperation).filter((op) => /^(ecs|elasticloadbalancing|autoscaling):/.test(op));

/** Runs an --aws workflow command until it polled, checks what it started, stops it, and returns its exit. */
async function followedOnAws(workflowOutput: string, args: string[]) {
  proxy.resetStats();
  const cli = background(awsEnv(), ...args);
  await until(() => calls('states:DescribeExecution') >= 2, 'DescribeExecution polling');
  const listed = await sfn().send(
    new ListExecutionsCommand({ stateMachineArn: outputs[workflowOutput], statusFilter: 'RUNNING' }),
  );
  expect(listed.executions).toHaveLength(1);
  const executionArn = listed.executions?.[0]?.executionArn as string;
  const described = await sfn().send(new DescribeExecutionCommand({ executionArn }));
  const status = JSON.parse(
    (await ops(awsEnv(), 'status', '--aws', '--outputs', outputsFile, '--json')).stdout,
  );
  await sfn().send(new StopExecutionCommand({ executionArn }));
  const code = await cli.exited;
  return { code, io: cli.io, input: JSON.parse(described.input ?? '{}'), status, executionArn };
}

describe('ops status and --aws', () => {
  beforeAll(async () => {
    endpoint = (
      JSON.parse((await ops(localEnv, 'emulator', 'start', '--json')).stdout) as { endpoint: string }
    ).endpoint;
    const seeded = await ops(localEnv, 'seed', '--instances', '4', '--json');
    expect(seeded.code).toBe(0);
    outputs = (JSON.parse(seeded.stdout) as { outputs: Record<string, string> }).outputs;
    outputsFile = join(stateDir, 'cdk-outputs.json');
    writeFileSync(outputsFile, JSON.stringify({ 'EcsOps-local-ControlPlane': outputs }));
    proxy = await startFaultProxy({ target: endpoint });
    await putCpuAlarm(
      new CloudWatchClient({ endpoint, region: 'us-east-1', credentials }),
      'web-api-cpu-high',
    );
  }, 240_000);
  afterAll(async () => {
    await proxy?.stop();
    await ops(localEnv, 'emulator', 'stop');
  });

  it('lists a held lock and the rollout in flight while a local rollout waits at its gate', async () => {
    const rollout = background(
      localEnv,
      'rollout',
      '--service',
      'api',
      '--image',
      'registry.local/api:2',
      '--strategy',
      'canary:10:5m',
      '--approval',
      'before-traffic',
      '--gate-wait',
      '90s',
    );
    const status = await until(async () => {
      const s = JSON.parse((await ops(localEnv, 'status', '--json')).stdout) as {
        rollouts: { execution: string; phase: string; gate?: string }[];
        locks: { resource: string; owner: string }[];
      };
      return s.rollouts.some((r) => r.phase === 'gate') ? s : undefined;
    }, 'the rollout at its gate');
    const [inFlight] = status.rollouts;
    expect(inFlight).toMatchObject({ phase: 'gate', gate: 'before-traffic' });
    const lock = status.locks.find((l) => l.resource === 'service/web/api');
    expect(lock?.owner.endsWith(`:${inFlight?.execution}`)).toBe(true);
    const human = await ops(localEnv, 'status');
    expect(human.stdout).toContain('held locks (1)');
    expect(human.stdout).toContain(`service/web/api`);
    expect(human.stdout).toMatch(/rollouts in flight \(1\)\n {2}web\/api +rollout-api-/);

    expect((await ops(localEnv, 'reject', inFlight?.execution as string)).code).toBe(0);
    expect(await rollout.exited).toBe(1);
    const after = JSON.parse((await ops(localEnv, 'status', '--json')).stdout);
    expect(after.locks).toEqual([]);
    expect(after.rollouts).toEqual([]);
  }, 180_000);

  it('ops scale --aws starts the deployed workflow with the flags as input and polls it, running nothing here', async () => {
    const { code, io, input, status, executionArn } = await followedOnAws(
      CONTROL_PLANE_OUTPUTS.scaleStateMachineArn,
      [
        'scale',
        '--aws',
        '--outputs',
        outputsFile,
        '--service',
        'web/api',
        '--to',
        '6',
        '--reason',
        'campaign at noon',
      ],
    );
    expect(input).toMatchObject({
      cluster: 'web',
      service: 'api',
      desiredCount: 6,
      reason: 'campaign at noon',
      trigger: { kind: 'operator' },
    });
    expect(calls('states:StartExecution')).toBe(1);
    expect(status.executions).toEqual([expect.objectContaining({ workflow: 'scale-service', executionArn })]);
    expect(code).toBe(1);
    expect(io.stdout).toContain('ABORTED');
    expect(localOps()).toEqual([]);
  }, 180_000);

  it('ops remediate --aws and ops rollout --aws start their deployed workflows the same way', async () => {
    const remediation = await followedOnAws(CONTROL_PLANE_OUTPUTS.remediationStateMachineArn, [
      'remediate',
      '--aws',
      '--outputs',
      outputsFile,
      '--alarm',
      'web-api-cpu-high',
      '--dry-run',
    ]);
    expect(remediation.input).toMatchObject({
      alarmName: 'web-api-cpu-high',
      dryRun: true,
      trigger: { kind: 'operator' },
    });
    expect(remediation.code).toBe(1);
    expect(localOps()).toEqual([]);

    const rollout = await followedOnAws(CONTROL_PLANE_OUTPUTS.rolloutStateMachineArn, [
      'rollout',
      '--aws',
      '--outputs',
      outputsFile,
      '--service',
      'api',
      '--cluster',
      'web',
      '--image',
      'registry.example.com/api:2.4.0',
      '--strategy',
      'canary:10:5m',
      '--watch',
    ]);
    expect(rollout.input).toMatchObject({
      service: 'api',
      image: 'registry.example.com/api:2.4.0',
      strategy: { type: 'canary', percent: 10, bakeSeconds: 300 },
    });
    expect(rollout.code).toBe(1);
    expect(localOps()).toEqual([]);
  }, 240_000);

  it('reads the journal and silences of the deployed stack with --aws, and refuses --aws without outputs', async () => {
    const silenced = await ops(
      awsEnv(),
      'silence',
      '--aws',
      '--outputs',
      outputsFile,
      '--service',
      'api',
      '--for',
      '1h',
      '--reason',
      'maintenance',
    );
    expect(silenced.code).toBe(0);
    const status = JSON.parse(
      (await ops(awsEnv(), 'status', '--aws', '--outputs', outputsFile, '--json')).stdout,
    );
    expect(status.silences.map((s: { reason: string }) => s.reason)).toEqual(['maintenance']);
    expect((await ops(awsEnv(), 'journal', '--aws', '--outputs', outputsFile, '--json')).code).toBe(0);
    const missing = await ops(awsEnv(), 'status', '--aws');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--aws needs --outputs <file>');
  }, 120_000);

  it("ops metrics --aws reads the stack's journal a day at a time through its byDay index, never a scan, and agrees with the local figures", async () => {
    const local = JSON.parse((await ops(localEnv, 'metrics', '--since', '7d', '--json')).stdout);
    expect(local.overall.rollouts).toBeGreaterThan(0);
    proxy.resetStats();
    const onAws = await ops(
      awsEnv(),
      'metrics',
      '--aws',
      '--outputs',
      outputsFile,
      '--since',
      '7d',
      '--json',
    );
    expect(onAws.code, onAws.stderr).toBe(0);
    expect(JSON.parse(onAws.stdout).overall).toEqual(local.overall);
    // The 7 days and the 7 before them (a rollout that ended in the window may have started then).
    expect(calls('dynamodb:Query')).toBeGreaterThanOrEqual(14);
    expect(calls('dynamodb:Scan')).toBe(0);
    for (const since of ['a while', '500d']) {
      const refused = await ops(localEnv, 'metrics', '--since', since);
      expect(refused.code, since).toBe(2);
      expect(refused.stderr).toContain(`--since takes 12h, 30d or 8w, at most 400d (got ${since})`);
    }
  }, 120_000);
});
