// Shared by the infra tests: synthesize the app once per file, in-process, the way `npm run synth`
// does, from the bundles the test command built before vitest started (dist/functions).
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { App } from 'aws-cdk-lib';
import type { CloudAssembly } from 'aws-cdk-lib/cx-api';
import { afterAll, beforeAll } from 'vitest';
import { DIST_FUNCTIONS_DIR } from '../../esbuild.config.mjs';
import { type AppOptions, type BuiltEnvironment, buildApp } from '../../infra/app.ts';
import { ConfigError } from '../../infra/config.ts';
import { CHECKOV_ENV, ensurePythonEnv, REPO_ROOT } from '../../local/python-env.ts';

export interface Synthesized {
  app: App;
  assembly: CloudAssembly;
  environments: BuiltEnvironment[];
  workDir: string;
  assetRoot: string;
  cleanup(): void;
}

/**
 * A fresh temp dir for the cloud assembly, and the function bundles as assetRoot: those `npm test`
 * and `npm run test:unit` build before vitest starts, read here and never written, so files that
 * synthesize at once share them instead of bundling ten functions each.
 */
export function bundledFunctions(): { workDir: string; assetRoot: string } {
  return { workDir: mkdtempSync(join(tmpdir(), 'infra-app-test-')), assetRoot: DIST_FUNCTIONS_DIR };
}

/**
 * For a file that builds the app many times (config variants): one work dir for the file, removed
 * after it, and a `buildApp` that writes each cloud assembly into a directory of its own there.
 */
export function useAppBuilder(): (
  options: Omit<AppOptions, 'outdir' | 'assetRoot'>,
) => ReturnType<typeof buildApp> {
  let work: { workDir: string; assetRoot: string } | undefined;
  beforeAll(() => {
    work = bundledFunctions();
  });
  afterAll(() => {
    if (work) rmSync(work.workDir, { recursive: true, force: true });
  });
  return (options) => {
    if (!work) throw new Error('useAppBuilder: build is called from a test or hook, after beforeAll');
    return buildApp({
      ...options,
      outdir: mkdtempSync(join(work.workDir, 'cdk.out-')),
      assetRoot: work.assetRoot,
    });
  };
}

/** Synthesizes; synthesis runs cdk-nag and throws on any unacknowledged finding. */
export async function synthesize(options: Omit<AppOptions, 'outdir' | 'assetRoot'>): Promise<Synthesized> {
  const { workDir, assetRoot } = bundledFunctions();
  const { app, environments } = buildApp({ ...options, outdir: join(workDir, 'cdk.out'), assetRoot });
  const assembly = app.synth();
  return {
    app,
    assembly,
    environments,
    workDir,
    assetRoot,
    cleanup: () => rmSync(workDir, { recursive: true, force: true }),
  };
}

/** The ConfigError `run` throws (any other error, or none, fails the test). */
export function configError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

export interface LintMatch {
  level: string;
  rule: string;
  message: string;
  file: string;
}

/**
 * cfn-lint's documented exit codes: 0 clean, else the OR of 2 (errors), 4 (warnings) and
 * 8 (informational matches) found. Anything else is the tool failing (1 for bad arguments or
 * configuration, 32 for unsupported regions, a signal), never "no findings".
 */
const LEVEL_BITS: Record<string, number> = { Error: 2, Warning: 4, Informational: 8 };
const FINDING_BITS = 2 | 4 | 8;

/**
 * Runs the pinned cfn-lint over the given templates in one process and returns its matches.
 * Rejects, with cfn-lint's stderr, on an exit code that is not a combination of the finding bits,
 * on output that is not its JSON, and when the exit code and the matches disagree.
 */
export async function cfnLint(
  templateFiles: readonly string[],
  ignoreChecks: readonly string[],
  extraArgs: readonly string[] = [],
): Promise<LintMatch[]> {
  const python = await ensurePythonEnv({ quiet: true });
  const args = [
    '--format',
    'json',
    // An empty --ignore-checks is an argument error (exit 1), not "ignore nothing".
    ...(ignoreChecks.length > 0 ? ['--ignore-checks', ...ignoreChecks] : []),
    ...extraArgs,
    '--',
    ...templateFiles,
  ];
  const run = await promisify(execFile)(python.bin('cfn-lint'), args, { maxBuffer: 64 * 1024 * 1024 }).then(
    (out) => ({ code: 0 as number | string | undefined, signal: undefined, ...out }),
    (err: { code?: number | string; signal?: string; stdout?: string; stderr?: string }) => ({
      code: err.code,
      signal: err.signal,
      stdout: err.stdout ?? '',
      stderr: err.stderr ?? '',
    }),
  );
  const failed = (why: string) =>
    new Error(`cfn-lint ${why}: ${run.stderr.trim() || run.stdout.trim() || '(no output)'}`);
  if (typeof run.code !== 'number' || (run.code & ~FINDING_BITS) !== 0) {
    throw failed(`failed (exit ${run.code ?? `signal ${run.signal}`})`);
  }
  let raw: { Level: string; Rule: { Id: string }; Message: string; Filename: string }[];
  try {
    raw = JSON.parse(run.stdout);
  } catch {
    throw failed(`exited ${run.code} without its JSON output`);
  }
  if (!Array.isArray(raw)) throw failed(`exited ${run.code} with output that is not a list of matches`);
  const bits = raw.reduce((b, m) => b | (LEVEL_BITS[m.Level] ?? 0), 0);
  if (bits !== run.code) {
    throw failed(
      `exited ${run.code} but reported levels ${[...new Set(raw.map((m) => m.Level))].join(', ') || 'none'}`,
    );
  }
  return raw.map((m) => ({ level: m.Level, rule: m.Rule.Id, message: m.Message, file: m.Filename }));
}

export interface CheckovFinding {
  check: string;
  /** `<CloudFormation type>.<logical id>`. */
  resource: string;
  file: string;
}

/**
 * Runs the pinned checkov (its own venv) over the CloudFormation templates in `dir` and returns
 * the failed checks. checkov exits 0 with none and 1 with some; anything else, or output that is
 * not its JSON report, is the tool failing and rejects with its stderr. Nothing is downloaded:
 * the checks are the ones that ship with the pinned version.
 */
export async function checkov(dir: string): Promise<CheckovFinding[]> {
  const env = await ensurePythonEnv({ quiet: true, spec: CHECKOV_ENV });
  const args = ['-d', dir, '--framework', 'cloudformation', '--output', 'json', '--compact', '--quiet'];
  const run = await promisify(execFile)(env.bin('checkov'), [...args, '--skip-download'], {
    maxBuffer: 64 * 1024 * 1024,
  }).then(
    (out) => ({ code: 0 as number | string | undefined, ...out }),
    (err: { code?: number | string; stdout?: string; stderr?: string }) => ({
      code: err.code,
      stdout: err.stdout ?? '',
      stderr: err.stderr ?? '',
    }),
  );
  const failed = (why: string) => new Error(`checkov ${why}: ${run.stderr.trim() || '(no stderr)'}`);
  if (run.code !== 0 && run.code !== 1) throw failed(`failed (exit ${run.code})`);
  type Report = { results?: { failed_checks?: { check_id: string; resource: string; file_path: string }[] } };
  let reports: Report[];
  try {
    const parsed = JSON.parse(run.stdout) as Report | Report[];
    reports = Array.isArray(parsed) ? parsed : [parsed];
  } catch {
    throw failed(`exited ${run.code} without its JSON report`);
  }
  const findings = reports.flatMap((r) =>
    (r.results?.failed_checks ?? []).map((f) => ({
      check: f.check_id,
      resource: f.resource,
      file: f.file_path,
    })),
  );
  if (findings.length > 0 !== (run.code === 1))
    throw failed(`exited ${run.code} with ${findings.length} findings`);
  return findings;
}

const SDK_HELPERS = join(REPO_ROOT, 'node_modules/aws-cdk-lib/custom-resources/lib/helpers-internal');
let sdkNames: { v2ToV3: Record<string, string>; v3: Record<string, unknown> } | undefined;

/**
 * The AWS SDK v3 client an AwsCustomResource's `service` names, resolved as its provider does
 * (`@aws-sdk/client-<name>`), or undefined when no such client exists and the call would fail.
 */
export function sdkClientOf(service: string): string | undefined {
  sdkNames ??= {
    v2ToV3: JSON.parse(readFileSync(join(SDK_HELPERS, 'sdk-v2-to-v3.json'), 'utf8')),
    v3: JSON.parse(readFileSync(join(SDK_HELPERS, 'sdk-v3-metadata.json'), 'utf8')),
  };
  const name = service.toLowerCase().replace(/^@aws-sdk\/client-/, '');
  const client = sdkNames.v2ToV3[name] ?? name;
  return client in sdkNames.v3 ? client : undefined;
}
