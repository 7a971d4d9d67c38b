// Synth: the time to bundle the functions and to synthesize every environment's stacks, each in
// a fresh Node process (the module cache of one run must not hide the next one's import cost),
// with the number of stacks and resources per environment; and the wall time of both test
// commands (`npm test`, `npm run test:unit`), run here from spawn to exit on every run.
// The child processes run this file with `--child`: see child() at the end.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { FILE_DURATIONS } from '../../tests/support/file-durations.ts';
import { type Cell, median, type SuiteContext, type SuiteResult } from '../run.ts';

export const name = 'synth';
export const description =
  'Time to bundle the functions (esbuild) and to synthesize all stacks of each environment (buildApp + app.synth(), cdk-nag included), each in a fresh Node process; stacks and resources per environment; the test suite wall time.';

const SELF = fileURLToPath(import.meta.url);
const REPO_ROOT = join(dirname(SELF), '..', '..');
const RESULT_MARK = 'BENCH_SYNTH_RESULT ';
/** Set to 1 to leave the two test commands out of this run (they are then not reported). */
export const SKIP_TEST_SUITES_ENV = 'BENCH_SKIP_TEST_SUITES';

/** The test commands the README gives, with the wall time each must stay within on this machine. */
export const TEST_COMMANDS = [
  { script: 'test', command: 'npm test', budgetSeconds: 8 * 60 },
  { script: 'test:unit', command: 'npm run test:unit', budgetSeconds: 60 },
] as const;

/** `all` is what `npm run synth` builds: every environment with a config file, in one assembly. */
export const ENVIRONMENTS = ['local', 'dev', 'prod', 'adopted', 'all'] as const;
type Target = (typeof ENVIRONMENTS)[number];

interface SynthRun {
  importMs: number;
  buildMs: number;
  synthMs: number;
  stacks: { name: string; resources: number }[];
}

interface BundleRun {
  importMs: number;
  buildMs: number;
  bundles: number;
  bytes: number;
}

/** Runs this file in a fresh Node process (tsx loader) and returns its result and wall time. */
function inChild<T>(args: string[]): { result: T; wallMs: number } {
  const t = performance.now();
  let out: string;
  try {
    out = execFileSync(process.execPath, ['--import', 'tsx', SELF, '--child', ...args], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
      // CDK warnings go to stderr; only the result line on stdout matters, stderr only on failure.
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, POWERTOOLS_LOG_LEVEL: 'SILENT' },
    });
  } catch (error) {
    const stderr = String((error as { stderr?: unknown }).stderr ?? '').slice(-2000);
    throw new Error(`child ${args.join(' ')} failed: ${stderr}`);
  }
  const wallMs = performance.now() - t;
  const line = out
    .split('\n')
    .reverse()
    .find((l) => l.startsWith(RESULT_MARK));
  if (!line) throw new Error(`child ${args.join(' ')} printed no result`);
  return { result: JSON.parse(line.slice(RESULT_MARK.length)) as T, wallMs };
}

export interface TestSuiteRecord {
  /** ISO date of the run. */
  date: string;
  command: string;
  wallSeconds: number;
  budgetSeconds: number;
  files: number;
  tests: number;
  failedTests: number;
  exitCode: number | null;
}

/** Runs one of the README's test commands in a child, timed from spawn to exit (bundling included). */
export function measureTestCommand(ctx: SuiteContext, test: (typeof TEST_COMMANDS)[number]): TestSuiteRecord {
  const outputFile = join(mkdtempSync(join(os.tmpdir(), 'bench-vitest-')), 'results.json');
  ctx.log(`running ${test.command} (budget ${test.budgetSeconds} s)`);
  const started = new Date();
  const t = performance.now();
  // Arguments after `--` reach the script's last command, `vitest run`.
  const child = spawnSync(
    'npm',
    ['run', '--silent', test.script, '--', '--reporter=json', `--outputFile=${outputFile}`],
    { cwd: REPO_ROOT, stdio: 'ignore' },
  );
  const wallSeconds = (performance.now() - t) / 1000;
  const report = existsSync(outputFile)
    ? (JSON.parse(readFileSync(outputFile, 'utf8')) as {
        numTotalTests?: number;
        numFailedTests?: number;
        testResults?: { name: string; startTime: number; endTime: number }[];
      })
    : {};
  // The full run's file durations order the next runs, longest first (tests/support/file-order.ts).
  // A run that finished with failing tests still timed every file (exit 1); one that crashed did not.
  if (test.script === 'test' && (child.status === 0 || child.status === 1) && report.testResults?.length)
    writeFileSync(
      FILE_DURATIONS,
      `${JSON.stringify(
        Object.fromEntries(
          report.testResults
            .map(
              (r) =>
                [relative(REPO_ROOT, r.name), Number(((r.endTime - r.startTime) / 1000).toFixed(1))] as const,
            )
            .sort(([a], [b]) => a.localeCompare(b)),
        ),
        null,
        2,
      )}\n`,
    );
  return {
    date: started.toISOString(),
    command: test.command,
    wallSeconds,
    budgetSeconds: test.budgetSeconds,
    files: report.testResults?.length ?? 0,
    tests: report.numTotalTests ?? 0,
    failedTests: report.numFailedTests ?? 0,
    exitCode: child.status,
  };
}

const seconds = (ms: number) => Number((ms / 1000).toFixed(1));
const spread = (values: number[]) =>
  `${(Math.min(...values) / 1000).toFixed(1)}–${(Math.max(...values) / 1000).toFixed(1)}`;

export async function run(ctx: SuiteContext): Promise<SuiteResult> {
  const rows: Record<string, Cell>[] = [];
  const checks: SuiteResult['checks'] = [];
  const load = os.loadavg().map((l) => l.toFixed(1));

  ctx.log(`bundling the functions, ${ctx.runs} fresh processes`);
  const bundles: { result: BundleRun; wallMs: number; outdir: string }[] = [];
  for (let i = 0; i < ctx.runs; i++) {
    const outdir = mkdtempSync(join(os.tmpdir(), 'bench-bundles-'));
    bundles.push({ ...inChild<BundleRun>(['bundle', outdir]), outdir });
  }
  const firstBundle = bundles[0] as (typeof bundles)[number];
  rows.push({
    step: 'bundle functions (esbuild.config.mjs buildFunctions)',
    runs: ctx.runs,
    wallS: seconds(median(bundles.map((b) => b.wallMs))),
    range: spread(bundles.map((b) => b.wallMs)),
    importS: seconds(median(bundles.map((b) => b.result.importMs))),
    workS: seconds(median(bundles.map((b) => b.result.buildMs))),
    synthS: null,
    stacks: null,
    resources: null,
    controlPlane: null,
    output: `${firstBundle.result.bundles} bundles, ${(firstBundle.result.bytes / 1024).toFixed(0)} KB`,
  });

  const counts = new Map<Target, SynthRun['stacks']>();
  for (const env of ENVIRONMENTS) {
    ctx.log(`synthesizing ${env}, ${ctx.runs} fresh processes`);
    const runs: { result: SynthRun; wallMs: number }[] = [];
    for (let i = 0; i < ctx.runs; i++) {
      const outdir = mkdtempSync(join(os.tmpdir(), 'bench-synth-'));
      runs.push(inChild<SynthRun>(['synth', env, firstBundle.outdir, outdir]));
    }
    const first = (runs[0] as (typeof runs)[number]).result;
    counts.set(env, first.stacks);
    const resources = first.stacks.reduce((n, s) => n + s.resources, 0);
    const controlPlane = first.stacks
      .filter((s) => s.name.endsWith('ControlPlane'))
      .reduce((n, s) => n + s.resources, 0);
    ctx.log(`${env}: ${first.stacks.length} stacks, ${resources} resources`);
    rows.push({
      step:
        env === 'all'
          ? 'synth all configured environments (dev, prod and adopted in one assembly, as npm run synth)'
          : `synth ${env}`,
      runs: ctx.runs,
      wallS: seconds(median(runs.map((r) => r.wallMs))),
      range: spread(runs.map((r) => r.wallMs)),
      importS: seconds(median(runs.map((r) => r.result.importMs))),
      workS: seconds(median(runs.map((r) => r.result.buildMs))),
      synthS: seconds(median(runs.map((r) => r.result.synthMs))),
      stacks: first.stacks.length,
      resources,
      controlPlane,
      output: first.stacks.map((s) => `${s.name.replace(/^EcsOps-/, '')} ${s.resources}`).join(', '),
    });
    checks.push({
      name: `synth ${env}: every run produced the same stacks and resources`,
      ok: runs.every((r) => JSON.stringify(r.result.stacks) === JSON.stringify(first.stacks)),
    });
  }
  const total = (env: Target) => (counts.get(env) ?? []).reduce((n, s) => n + s.resources, 0);
  const configured = ['dev', 'prod', 'adopted'] as const;
  checks.push({
    name: 'the assembly of every configured environment holds exactly the dev, prod and adopted stacks',
    ok:
      total('all') === configured.reduce((n, env) => n + total(env), 0) &&
      (counts.get('all')?.length ?? 0) ===
        configured.reduce((n, env) => n + (counts.get(env)?.length ?? 0), 0),
    detail: `${total('all')} = ${configured.map((env) => total(env)).join(' + ')} resources`,
  });
  const controlPlaneAlone = (env: Target) =>
    counts.get(env)?.length === 1 && counts.get(env)?.[0]?.name.endsWith('ControlPlane') === true;
  checks.push({ name: 'local synthesizes the control plane alone', ok: controlPlaneAlone('local') });
  checks.push({
    name: 'adopted (control-plane-only) synthesizes the control plane alone',
    ok: controlPlaneAlone('adopted'),
  });

  const skipTests = process.env[SKIP_TEST_SUITES_ENV] === '1';
  const testFiles = countTestFiles(join(REPO_ROOT, 'tests'));
  const measured = skipTests ? [] : TEST_COMMANDS.map((test) => measureTestCommand(ctx, test));
  for (const m of measured) {
    rows.push({
      step: `test suite: ${m.command}`,
      runs: 1,
      wallS: Number(m.wallSeconds.toFixed(0)),
      range: null,
      importS: null,
      workS: null,
      synthS: null,
      stacks: null,
      resources: null,
      controlPlane: null,
      output: `${m.files} of ${testFiles} files, ${m.tests} tests, ${m.failedTests} failed, exit ${m.exitCode}`,
    });
    checks.push({
      name: `${m.command} passes within ${m.budgetSeconds} s of wall time on this machine`,
      ok: m.exitCode === 0 && m.failedTests === 0 && m.wallSeconds <= m.budgetSeconds,
      detail: `${m.wallSeconds.toFixed(0)} s, exit ${m.exitCode}, ${m.failedTests} failed`,
    });
  }
  const full = measured.find((m) => m.command === 'npm test');
  if (full) {
    checks.push({
      name: 'npm test runs every test file',
      ok: full.files === testFiles,
      detail: `${full.files} of ${testFiles}`,
    });
  }

  const notes = [
    `Each figure is the median of ${ctx.runs} runs, each in a fresh \`node --import tsx\` process (import + construct + synth, timed inside the child; "wall" is the child from spawn to exit as the parent saw it, Node and tsx start-up included). tsx keeps its transform cache on disk between runs, as it does for \`npm run synth\`.`,
    'Bundling: buildFunctions into a fresh temporary directory (all functions in parallel, minified, with source maps and metafiles); its output is the asset root the synth runs use. `npm test` and `npm run synth` both bundle first.',
    'Synth: buildApp (constructs, config validation) then app.synth() (templates, assets, and the cdk-nag AwsSolutions and Serverless packs as validation plugins). local and test have no config file, and adopted is control-plane-only, so they get the control plane alone; dev and prod get their application stacks too.',
    `Machine load while timing: load average ${load.join(', ')} (1, 5, 15 min) on ${os.cpus().length} cores; other work on the machine slows these figures, the range column shows how much they varied.`,
    skipTests
      ? `Test suites: left out of this run (${SKIP_TEST_SUITES_ENV}=1).`
      : "Test suites: each of the README's two test commands run once here, timed from spawn to exit as a developer waits for it (bundling included), on this machine as it was loaded at the time. The budgets (8 minutes for `npm test`, 60 s for `npm run test:unit`) are the inner-loop targets.",
  ];
  return {
    title: 'bundle and synth time per environment; test suite time',
    columns: [
      { key: 'step', label: 'step' },
      { key: 'runs', label: 'runs' },
      { key: 'wallS', label: 'wall s (median)' },
      { key: 'range', label: 'wall s (min–max)', align: 'right' },
      { key: 'importS', label: 'import s' },
      { key: 'workS', label: 'build / construct s' },
      { key: 'synthS', label: 'app.synth() s' },
      { key: 'stacks', label: 'stacks' },
      { key: 'resources', label: 'resources' },
      { key: 'controlPlane', label: 'control-plane resources' },
      { key: 'output', label: 'output' },
    ],
    rows,
    notes,
    checks,
    details: {
      stacks: Object.fromEntries(counts),
      bundles: bundles.map((b) => ({ ...b.result, wallMs: b.wallMs })),
      loadAverage: os.loadavg(),
      testSuites: measured,
    },
  };
}

function countTestFiles(dir: string): number {
  let n = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) n += countTestFiles(join(dir, entry.name));
    else if (entry.name.endsWith('.test.ts')) n++;
  }
  return n;
}

// ---------------------------------------------------------------------------------------------
// The child: `node --import tsx bench/suites/synth.ts --child synth <env> <assetRoot> <outdir>`
// or `... --child bundle <outdir>`; prints one result line.

async function child(args: string[]): Promise<void> {
  const [mode, ...rest] = args;
  if (mode === 'bundle') {
    const [outdir] = rest;
    let t = performance.now();
    const config = (await import(pathToFileURL(join(REPO_ROOT, 'esbuild.config.mjs')).href)) as {
      buildFunctions(o: { outdir?: string }): Promise<{ bytes: number }[]>;
    };
    const importMs = performance.now() - t;
    t = performance.now();
    const built = await config.buildFunctions({ ...(outdir ? { outdir } : {}) });
    const result: BundleRun = {
      importMs,
      buildMs: performance.now() - t,
      bundles: built.length,
      bytes: built.reduce((n, b) => n + b.bytes, 0),
    };
    process.stdout.write(`${RESULT_MARK}${JSON.stringify(result)}\n`);
    return;
  }
  if (mode === 'synth') {
    const [env, assetRoot, outdir] = rest as [Target, string, string];
    let t = performance.now();
    const { buildApp } = await import('../../infra/app.ts');
    const importMs = performance.now() - t;
    t = performance.now();
    const { app } = buildApp({ outdir, assetRoot, ...(env === 'all' ? {} : { environmentName: env }) });
    const buildMs = performance.now() - t;
    t = performance.now();
    const assembly = app.synth();
    const result: SynthRun = {
      importMs,
      buildMs,
      synthMs: performance.now() - t,
      stacks: assembly.stacks.map((s) => ({
        name: s.stackName,
        resources: Object.keys((s.template as { Resources?: object }).Resources ?? {}).length,
      })),
    };
    process.stdout.write(`${RESULT_MARK}${JSON.stringify(result)}\n`);
    return;
  }
  throw new Error(`unknown child mode ${mode}`);
}

if (process.argv[1] === SELF && process.argv[2] === '--child') {
  child(process.argv.slice(3)).then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    },
  );
}
