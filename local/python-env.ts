// The project's Python tools (moto server, cfn-lint; checkov in a venv of its own) live in
// project-local venvs, installed from pinned requirements files. Every entry point that needs
// them calls ensurePythonEnv(): a hash compare when up to date, a locked install
// when not, so parallel test workers and CLI runs never install twice at once.

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const VENV_DIR = join(REPO_ROOT, '.venv');
export const REQUIREMENTS_FILE = join(REPO_ROOT, 'tools', 'requirements.txt');

/** A venv and the pinned requirements it holds exactly. */
export interface PythonEnvSpec {
  dir: string;
  requirements: string;
}

/** moto server and cfn-lint. */
export const TOOLS_ENV: PythonEnvSpec = { dir: VENV_DIR, requirements: REQUIREMENTS_FILE };
/** checkov, in a venv of its own: it pins an older boto3 than moto needs. */
export const CHECKOV_ENV: PythonEnvSpec = {
  dir: join(REPO_ROOT, '.venv-checkov'),
  requirements: join(REPO_ROOT, 'tools', 'checkov-requirements.txt'),
};

export interface PythonEnv {
  /** The venv's interpreter. */
  python: string;
  /** Path of a console script installed in the venv, e.g. bin('moto_server'). */
  bin: (tool: string) => string;
}

const stampFile = (spec: PythonEnvSpec) => join(spec.dir, '.requirements.sha256');
const venvBin = (spec: PythonEnvSpec, tool: string): string => join(spec.dir, 'bin', tool);

/** Makes sure the venv exists and holds exactly what its requirements file pins (.venv by default). */
export async function ensurePythonEnv(
  opts: { quiet?: boolean; spec?: PythonEnvSpec } = {},
): Promise<PythonEnv> {
  const spec = opts.spec ?? TOOLS_ENV;
  const env: PythonEnv = { python: venvBin(spec, 'python'), bin: (tool) => venvBin(spec, tool) };
  const wanted = sha256(await readFile(spec.requirements));
  if (await isUpToDate(spec, wanted)) return env;
  const requirements = relative(REPO_ROOT, spec.requirements);

  await withLockDir(`${spec.dir}.lock`, async () => {
    // Another process may have finished the install while we waited for the lock.
    if (await isUpToDate(spec, wanted)) return;
    if (!opts.quiet) {
      process.stderr.write(
        `python-env: installing ${requirements} into ${spec.dir} (about 30 s when fresh)\n`,
      );
    }
    // Drop the stamp first: an install that dies half way must not look complete.
    await rm(stampFile(spec), { force: true });
    if (!existsSync(env.python)) {
      // A venv whose interpreter is gone (moved repo, removed Python) cannot be repaired in place.
      await rm(spec.dir, { recursive: true, force: true });
      const basePython = process.env.PYTHON || 'python3';
      await run(basePython, ['-m', 'venv', spec.dir], `${basePython} -m venv`);
    }
    await run(
      env.python,
      ['-m', 'pip', 'install', '--disable-pip-version-check', '--no-input', '-r', spec.requirements],
      `pip install -r ${requirements}`,
    );
    await writeFileAtomic(stampFile(spec), `${wanted}\n`);
  });
  return env;
}

async function isUpToDate(spec: PythonEnvSpec, wanted: string): Promise<boolean> {
  if (!existsSync(venvBin(spec, 'python'))) return false;
  const stamp = await readFile(stampFile(spec), 'utf8').catch(() => '');
  return stamp.trim() === wanted;
}

function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Runs a command to completion; on failure the error carries the tail of its output. */
function run(command: string, args: string[], label: string): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-4000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', (err) => reject(new Error(`${label}: cannot run ${command}: ${err.message}`)));
    child.on('close', (code, signal) => {
      if (code === 0) resolvePromise();
      else reject(new Error(`${label} failed (${signal ?? `exit ${code}`}):\n${output}`));
    });
  });
}

async function writeFileAtomic(path: string, content: string): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, content);
  await rename(tmp, path);
}

export interface LockOptions {
  /** Give up waiting after this long. */
  waitMs?: number;
  /** A lock older than this is taken over even if its owner still runs (a hung owner). */
  staleMs?: number;
}

interface LockOwner {
  pid: number;
  host: string;
  at: number;
}

/**
 * Runs fn while holding a cross-process lock: a directory created with mkdir, which is
 * atomic. A lock whose owner process is gone, or that is older than staleMs, is taken over.
 */
export async function withLockDir<T>(
  lockDir: string,
  fn: () => Promise<T>,
  opts: LockOptions = {},
): Promise<T> {
  const waitMs = opts.waitMs ?? 15 * 60_000;
  const staleMs = opts.staleMs ?? 15 * 60_000;
  const deadline = Date.now() + waitMs;
  const me: LockOwner = { pid: process.pid, host: hostname(), at: Date.now() };
  for (;;) {
    try {
      await mkdir(lockDir);
      await writeFile(join(lockDir, 'owner.json'), JSON.stringify(me));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    if (await isStaleLock(lockDir, staleMs)) {
      await breakLock(lockDir, staleMs);
      continue;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${waitMs} ms waiting for lock ${lockDir} (remove it if no install runs)`,
      );
    }
    await sleep(250);
  }
  try {
    return await fn();
  } finally {
    await rm(lockDir, { recursive: true, force: true });
  }
}

async function isStaleLock(lockDir: string, staleMs: number): Promise<boolean> {
  const owner = await readOwner(lockDir);
  if (owner) {
    if (owner.host === hostname() && !isProcessAlive(owner.pid)) return true;
    return Date.now() - owner.at > staleMs;
  }
  // No owner file yet: either its creator is between mkdir and writeFile, or it died there.
  const info = await stat(lockDir).catch(() => undefined);
  return info !== undefined && Date.now() - info.mtimeMs > 10_000;
}

/** Moves the stale lock aside first so that two waiters never both delete a fresh lock. */
async function breakLock(lockDir: string, staleMs: number): Promise<void> {
  const tombstone = `${lockDir}.stale-${process.pid}-${Date.now()}`;
  try {
    await rename(lockDir, tombstone);
  } catch {
    return; // someone else broke or released it
  }
  if (!(await isStaleLock(tombstone, staleMs))) {
    // We grabbed a lock a live process had just taken: hand it back.
    await rename(tombstone, lockDir).catch(() => undefined);
    return;
  }
  await rm(tombstone, { recursive: true, force: true });
}

async function readOwner(lockDir: string): Promise<LockOwner | undefined> {
  try {
    const owner = JSON.parse(await readFile(join(lockDir, 'owner.json'), 'utf8')) as LockOwner;
    return typeof owner.pid === 'number' ? owner : undefined;
  } catch {
    return undefined;
  }
}

/** True while pid names a running (not zombie) process on this host. */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  return !isZombie(pid);
}

// A zombie still answers kill(pid, 0), but it is dead; only Linux's /proc tells them apart.
function isZombie(pid: number): boolean {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return false;
  }
  // "pid (comm) STATE ...": comm may contain spaces and parentheses, so look after the last ')'.
  const close = text.lastIndexOf(')');
  return text.slice(close + 2, close + 3) === 'Z';
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const invokedPath = process.argv[1] ? resolve(process.argv[1]) : '';
if (invokedPath === fileURLToPath(import.meta.url)) {
  ensurePythonEnv()
    .then((env) => {
      process.stdout.write(`${env.python}\n`);
    })
    .catch((err: unknown) => {
      process.stderr.write(`python-env: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    });
}
