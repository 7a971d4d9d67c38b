// Shared by the infra tests: bundle every function into a temp dir (the control-plane stack
// needs its bundles) and synthesize the app once, in-process, the way `npm run synth` does.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { App } from 'aws-cdk-lib';
import type { CloudAssembly } from 'aws-cdk-lib/cx-api';
import { buildFunctions } from '../../esbuild.config.mjs';
import { type AppOptions, type BuiltEnvironment, buildApp } from '../../infra/app.ts';
import { ensurePythonEnv } from '../../local/python-env.ts';

export interface Synthesized {
  app: App;
  assembly: CloudAssembly;
  environments: BuiltEnvironment[];
  workDir: string;
  assetRoot: string;
  cleanup(): void;
}

/** Bundles the functions into a fresh temp dir; returns it (callers pass it as assetRoot). */
export async function bundleFunctions(): Promise<{ workDir: string; assetRoot: string }> {
  const workDir = mkdtempSync(join(tmpdir(), 'infra-app-test-'));
  const assetRoot = join(workDir, 'dist');
  await buildFunctions({ outdir: assetRoot });
  return { workDir, assetRoot };
}

/** Builds and synthesizes; synthesis runs cdk-nag and throws on any unacknowledged finding. */
export async function synthesize(options: Omit<AppOptions, 'outdir' | 'assetRoot'>): Promise<Synthesized> {
  const { workDir, assetRoot } = await bundleFunctions();
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

export interface LintMatch {
  level: string;
  rule: string;
  message: string;
  file: string;
}

/** Runs the pinned cfn-lint over the given templates in one process. */
export async function cfnLint(
  templateFiles: readonly string[],
  ignoreChecks: readonly string[],
): Promise<LintMatch[]> {
  const python = await ensurePythonEnv({ quiet: true });
  const { stdout } = await promisify(execFile)(
    python.bin('cfn-lint'),
    ['--format', 'json', '--ignore-checks', ...ignoreChecks, '--', ...templateFiles],
    { maxBuffer: 64 * 1024 * 1024 },
  ).catch((err: { stdout?: string; code?: number }) => {
    // Exit codes 2/4/8 mean errors/warnings/informational matches were found: the JSON says which.
    if (typeof err.stdout === 'string' && typeof err.code === 'number' && err.code > 0 && err.code < 16) {
      return { stdout: err.stdout };
    }
    throw err;
  });
  return (
    JSON.parse(stdout || '[]') as { Level: string; Rule: { Id: string }; Message: string; Filename: string }[]
  ).map((m) => ({ level: m.Level, rule: m.Rule.Id, message: m.Message, file: m.Filename }));
}
