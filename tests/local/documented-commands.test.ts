// Every `ops` command the README, the docs and `ops help` print, and every console input in
// events/inputs/, run as printed on a freshly seeded world, each in a process of its own as a
// user would run it. A line is one of:
//   - runnable: run in the order printed, one fresh world per page; it must exit 0, or the code its
//     comment starts with (`# exit 1: …`). A rollout with an approval gate is answered from another
//     process once it waits, as the page says an operator would;
//   - a synopsis (`<execution>`, `…`, `[--flag]`, `a|b`): the command and every flag must exist;
//   - on AWS (`--aws`, `--profile`): it must get past the flags and fail only for want of the
//     account (the outputs file or the profile), never as a usage error.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../local/python-env.ts';
import { runOps } from '../support/ops-process.ts';

const stateDir = mkdtempSync(join(tmpdir(), 'ops-docs-'));
// Commands run here, as from the project's root (its paths are made absolute): whatever a command
// writes to the current directory (a report) stays out of the repository.
const workDir = mkdtempSync(join(tmpdir(), 'ops-docs-work-'));
const emptyHome = mkdtempSync(join(tmpdir(), 'ops-docs-home-'));
// Gates and rollback windows wait this long for an answer from another shell.
const GATE_WAIT = '4s';
const env: NodeJS.ProcessEnv = {
  ...process.env,
  OPS_STATE_DIR: stateDir,
  OPS_GATE_WAIT: GATE_WAIT,
  AWS_ENDPOINT_URL: '',
};

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

const ops = (args: readonly string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<Ran> =>
  runOps(args, { env: { ...env, ...extraEnv }, cwd: workDir });

/** One `ops` command as printed, where it was printed, and the exit code its comment documents. */
interface Documented {
  where: string;
  line: string;
  args: string[];
  exit: number;
}

/** A command line split as a shell would (double quotes group words), `npx ops`/`ops` dropped. */
function commandsOf(line: string): { text: string; args: string[] }[] {
  return line
    .split(/\s+(?:&&|;)\s+/)
    .map((text) => text.trim())
    .filter((text) => /^(?:npx )?ops\b/.test(text))
    .map((text) => ({
      text,
      args: (text.match(/"[^"]*"|\S+/g) ?? [])
        .map((w) => w.replace(/^"|"$/g, ''))
        .slice(text.startsWith('npx ') ? 2 : 1),
    }));
}

/** `npx ops …` lines of the sh blocks of the README and every page under docs/, in page order. */
function documentedOnPages(): Documented[] {
  const pages = ['README.md', ...readdirSync(join(REPO_ROOT, 'docs')).map((f) => `docs/${f}`)].filter((f) =>
    f.endsWith('.md'),
  );
  const found: Documented[] = [];
  for (const page of pages) {
    let inShell = false;
    readFileSync(join(REPO_ROOT, page), 'utf8')
      .split('\n')
      .forEach((raw, index) => {
        if (/^```/.test(raw)) inShell = !inShell && /^```(?:sh|bash)\s*$/.test(raw);
        else if (inShell && /^npx ops /.test(raw)) found.push(...parsed(`${page}:${index + 1}`, raw));
      });
  }
  return found;
}

function parsed(where: string, raw: string): Documented[] {
  const [line = '', comment = ''] = raw.split(/\s+#\s+/, 2);
  const exit = Number(/^exit (\d)\b/.exec(comment)?.[1] ?? 0);
  return commandsOf(line).map((c) => ({ where, line: c.text, args: c.args, exit }));
}

const isSynopsis = (d: Documented) => d.args.some((a) => /<[^>]*>|…|^\[|\[--|^[a-z-]+\|[a-z-]+/.test(a));
const isOnAws = (d: Documented) => d.args.includes('--aws') || d.args.includes('--profile');
/** The state dir the docs call `.ops/` is this test's; the project's own paths are made absolute. */
const localPaths = (args: string[]) =>
  args.map((a) => a.replace(/^\.ops\//, `${stateDir}/`).replace(/^events\//, `${REPO_ROOT}/events/`));

let help = '';

/** Answers every rollout gate while `child` runs, as an operator in another shell would. */
function approveGatesOf(child: ChildProcess): Promise<string[]> {
  const state = JSON.parse(readFileSync(join(stateDir, 'local.json'), 'utf8')) as {
    endpoint: string;
    stack: { outputs: Record<string, string> };
  };
  const db = DynamoDBDocumentClient.from(
    new DynamoDBClient({
      endpoint: state.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    }),
  );
  const answered: string[] = [];
  let running = true;
  child.on('exit', () => {
    running = false;
  });
  return (async () => {
    while (running) {
      const out = await db.send(new ScanCommand({ TableName: state.stack.outputs.OperationsTableName }));
      for (const record of out.Items ?? []) {
        const gate = record.gate as { kind?: string; token?: string } | undefined;
        const key = `${record.executionName}/${gate?.kind}`;
        if (record.phase !== 'gate' || !gate || gate.kind === 'window' || answered.includes(key)) continue;
        answered.push(key);
        const approved = await ops([
          'approve',
          String(record.executionName),
          '--reason',
          'documented example',
        ]);
        expect(approved.code, approved.stdout + approved.stderr).toBe(0);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    return answered;
  })();
}

/** Runs a command that may wait at a gate, answering it; resolves with its outcome. */
async function runAnswered(args: string[]): Promise<Ran & { approved: string[] }> {
  const child = spawn(process.execPath, [join(REPO_ROOT, 'bin/ops.mjs'), ...args], { cwd: workDir, env });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => {
    stdout += c.toString();
  });
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const exited = new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? 1)));
  const approved = await approveGatesOf(child);
  return { code: await exited, stdout, stderr, approved };
}

async function freshWorld(): Promise<void> {
  const seeded = await ops(['seed']);
  expect(seeded.code, seeded.stderr).toBe(0);
}

describe('documented commands run as printed on a freshly seeded world', () => {
  beforeAll(async () => {
    const started = await ops(['emulator', 'start']);
    expect(started.code, started.stderr).toBe(0);
    help = (await ops(['help'])).stdout;
  });
  afterAll(async () => {
    await ops(['emulator', 'stop']);
  });

  const onPages = documentedOnPages();
  const inHelp = () =>
    help
      .slice(help.indexOf('\nExamples'))
      .split('\n')
      .slice(1)
      .filter((l) => /^ {2}ops /.test(l))
      .flatMap((l) => parsed('ops help', l.trim()));

  it('finds the documented commands (pages and ops help)', () => {
    expect(onPages.length).toBeGreaterThan(25);
    expect(new Set(onPages.map((d) => d.where.split(':')[0])).size).toBeGreaterThanOrEqual(5);
    expect(inHelp().length).toBeGreaterThanOrEqual(8);
  });

  it('synopses name real commands and flags', () => {
    const usage = help.slice(0, help.indexOf('\nExamples'));
    const synopses = [...onPages, ...inHelp()].filter(isSynopsis);
    expect(synopses.length).toBeGreaterThan(3);
    for (const d of synopses) {
      const [command = ''] = d.args;
      for (const name of command.split('|'))
        expect(usage, `${d.where}: ${d.line}`).toMatch(new RegExp(`\\bops ${name}\\b|\\|${name}\\b`));
      for (const flag of d.args.flatMap((a) => a.match(/--[a-z-]+/g) ?? []))
        expect(usage, `${d.where}: ${d.line}: ${flag}`).toContain(flag);
    }
  });

  it('commands on AWS get past their flags and fail only for want of the account', async () => {
    const onAws = [...onPages, ...inHelp()].filter((d) => isOnAws(d) && !isSynopsis(d));
    expect(onAws.length).toBeGreaterThanOrEqual(2);
    // No account here: no credentials, no profiles, no outputs file.
    const noAccount = {
      HOME: emptyHome,
      AWS_CONFIG_FILE: join(emptyHome, 'none'),
      AWS_SHARED_CREDENTIALS_FILE: join(emptyHome, 'none'),
    };
    for (const d of onAws) {
      const ran = await ops(d.args, noAccount);
      expect(ran.code, `${d.where}: ${d.line}\n${ran.stderr}`).toBe(1);
      expect(ran.stderr, `${d.where}: ${d.line}`).not.toMatch(/UsageError|unknown|Unknown option/);
      expect(ran.stderr, `${d.where}: ${d.line}`).toMatch(/cdk-outputs\.json|profile|credentials/i);
    }
  });

  const runnable = (docs: Documented[]) => docs.filter((d) => !isSynopsis(d) && !isOnAws(d));
  const pages = [...new Set(onPages.map((d) => d.where.split(':')[0] as string))];

  /** Runs a page's commands in order on one fresh world; a command already run there is not run twice. */
  async function runInOrder(docs: Documented[]): Promise<void> {
    await freshWorld();
    const ran = new Set<string>();
    for (const d of docs) {
      const args = localPaths(d.args);
      const key = JSON.stringify(args);
      if (ran.has(key)) continue;
      ran.add(key);
      const result = args.includes('--approval') ? await runAnswered(args) : await ops(args);
      expect(result.code, `${d.where}: ${d.line}\n${result.stdout.slice(-2000)}\n${result.stderr}`).toBe(
        d.exit,
      );
    }
  }

  // The CLI reference (docs/cli.md) and `ops help` print the same tour of commands: one world.
  for (const page of pages.filter((p) => p !== 'docs/cli.md')) {
    it(`${page}: every command runs as printed`, async () => {
      const docs = runnable(onPages.filter((d) => d.where.startsWith(`${page}:`)));
      if (docs.length > 0) await runInOrder(docs);
    }, 300_000);
  }

  it('docs/cli.md, then ops help: every command runs as printed', async () => {
    const reference = runnable(onPages.filter((d) => d.where.startsWith('docs/cli.md:')));
    const examples = runnable(inHelp());
    expect(reference.length).toBeGreaterThanOrEqual(10);
    expect(examples.length).toBeGreaterThanOrEqual(8);
    await runInOrder([...reference, ...examples]);
  }, 300_000);

  it('every console input in events/inputs runs on the seeded world', async () => {
    const inputs = readdirSync(join(REPO_ROOT, 'events/inputs')).filter((f) => f.endsWith('.json'));
    expect(inputs.length).toBeGreaterThanOrEqual(12);
    await freshWorld();
    expect((await ops(['traffic'])).code).toBe(0);
    for (const file of inputs.sort()) {
      const path = join(REPO_ROOT, 'events/inputs', file);
      const input = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
      if (file.startsWith('rollout-')) {
        const ran = await runAnswered(['rollout', '--input', path]);
        if (input.preTraffic && (input.preTraffic as { hookFunctionArn?: string }).hookFunctionArn) {
          // Documented: the emulator cannot run a hook's Lambda code, so ops rollout refuses it.
          expect(ran.code, file).toBe(2);
          expect(ran.stderr).toContain('a pre-traffic hook runs on AWS only');
          continue;
        }
        expect(ran.code, `${file}\n${ran.stdout.slice(-2000)}\n${ran.stderr}`).toBe(0);
        expect(ran.stdout, file).toContain('green is primary');
        expect(ran.approved.length, file).toBe(input.approval ? 1 : 0);
        continue;
      }
      if (file.startsWith('release-train')) {
        // As docs/cli.md says: start it, then its status and its report from other processes.
        const ran = await ops(['train', 'start', '--file', path, '--watch']);
        expect(ran.code, `${file}\n${ran.stdout.slice(-2000)}\n${ran.stderr}`).toBe(0);
        expect(ran.stdout, file).toMatch(/: SUCCEEDED\nrelease train .*: completed/);
        const status = await ops(['train', 'status']);
        expect(status.code, status.stderr).toBe(0);
        expect(status.stdout).toMatch(/web\/api +succeeded/);
        const report = await ops(['train', 'report', '--out', join(workDir, 'train.html')]);
        expect(report.code, report.stderr).toBe(0);
        expect(readFileSync(join(workDir, 'train.html'), 'utf8')).toContain(
          'Train completed: 1 of 1 services rolled out',
        );
        continue;
      }
      const workflow = file.startsWith('scale-')
        ? 'scale-service'
        : file.startsWith('remediate-')
          ? 'remediate-alarm'
          : 'spot-surge';
      // The spot-surge input names instances no seed has (EC2 picks the IDs): ops seed writes the
      // same input naming one of its own, which must differ from the original in that alone.
      const runPath = workflow === 'spot-surge' ? join(stateDir, 'examples', file) : path;
      if (runPath !== path) {
        const local = JSON.parse(readFileSync(runPath, 'utf8')) as Record<string, unknown>;
        expect({ ...local, instances: [] }).toEqual({ ...input, instances: [] });
        expect(Object.keys((local.instances as object[])[0] ?? {}).sort()).toEqual(
          Object.keys((input.instances as object[])[0] ?? {}).sort(),
        );
      }
      const ran = await ops(['run', workflow, '--input', runPath]);
      expect(ran.code, `${file}\n${ran.stdout.slice(-2000)}\n${ran.stderr}`).toBe(0);
      expect(ran.stdout, file).toContain(`${workflow}: SUCCEEDED`);
    }
  }, 600_000);
});
