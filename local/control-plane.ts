// The control plane on the emulator: synthesize the real CDK app, deploy its template into the
// emulator, and read back what it did (alerts as subscribers received them, journal).

import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteMessageBatchCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { FreezeWindow } from '../functions/shared/freeze-windows.ts';
import type { JournalRecord } from '../functions/shared/journal.ts';
import type { ManagedCluster } from '../functions/shared/managed-clusters.ts';
import type { SloConfig } from '../functions/shared/slo/objectives.ts';
import { type CfnTemplate, type DeployedStack, deployTemplate } from './deploy.ts';
import { observerClient, observerDocumentClient } from './observer.ts';
import { REPO_ROOT } from './python-env.ts';

export interface SynthesizedControlPlane {
  stackName: string;
  template: CfnTemplate;
}

let built: Promise<string> | undefined;

/**
 * A directory where every process of one test run shares the control-plane templates it
 * synthesized (set by tests/support/global-setup.ts, removed when the run ends): bundling and
 * synthesizing take seconds of CPU, and the sources do not change during a run.
 */
export const SYNTH_CACHE_DIR_VAR = 'OPS_SYNTH_CACHE_DIR';

/** Bundles the functions (once per process) and synthesizes the control-plane stack. */
export async function synthControlPlane(
  environmentName = 'local',
  opts: Pick<LocalDeployOptions, 'managedClusters' | 'config' | 'freezeWindows' | 'slos'> = {},
): Promise<SynthesizedControlPlane> {
  const cacheDir = process.env[SYNTH_CACHE_DIR_VAR];
  if (!cacheDir) return synthesizeControlPlane(environmentName, opts);
  const key = createHash('sha256')
    .update(
      JSON.stringify({
        environmentName,
        managedClusters: opts.managedClusters ?? null,
        config: opts.config ?? null,
        freezeWindows: opts.freezeWindows ?? null,
        slos: opts.slos ?? null,
      }),
    )
    .update(sourceFingerprint())
    .digest('hex')
    .slice(0, 16);
  const file = join(cacheDir, `control-plane-${key}.json`);
  const cached = () => JSON.parse(readFileSync(file, 'utf8')) as SynthesizedControlPlane;
  if (existsSync(file)) return cached();
  // One process synthesizes a variant while the others that want it wait for its file: files that
  // start together would otherwise each bundle and synthesize the same template on two cores.
  const lock = `${file}.lock`;
  let held = takeLock(lock);
  for (const deadline = Date.now() + SYNTH_WAIT_MS; !held && Date.now() < deadline; ) {
    await new Promise((resolveWait) => setTimeout(resolveWait, 100));
    if (existsSync(file)) return cached();
    // The synthesizing process failed or died: this one takes over.
    held = takeLock(lock);
  }
  try {
    const synthesized = await synthesizeControlPlane(environmentName, opts);
    // Written whole, then renamed: a process reading at the same time sees all of it or nothing.
    const partial = `${file}.${process.pid}.partial`;
    writeFileSync(partial, JSON.stringify(synthesized));
    renameSync(partial, file);
    return synthesized;
  } finally {
    // Past the wait, a process synthesizes without the lock and leaves the holder's lock alone.
    if (held) rmSync(lock, { force: true });
  }
}

/** How long a process waits for another's synthesis before doing its own. */
const SYNTH_WAIT_MS = 120_000;

/** Creates the lock file, or says another live process holds it (a dead holder's lock is taken over). */
function takeLock(lock: string): boolean {
  try {
    writeFileSync(lock, String(process.pid), { flag: 'wx' });
    return true;
  } catch {
    if (lockHolderAlive(lock)) return false;
    rmSync(lock, { force: true });
    try {
      writeFileSync(lock, String(process.pid), { flag: 'wx' });
      return true;
    } catch {
      return false;
    }
  }
}

function lockHolderAlive(lock: string): boolean {
  try {
    // Signal 0 tests that the process exists; a lock file gone meanwhile has no holder either.
    process.kill(Number(readFileSync(lock, 'utf8')), 0);
    return true;
  } catch {
    return false;
  }
}

/** What the template is made from, as paths, sizes and times: an edit in watch mode is a new key. */
function sourceFingerprint(): string {
  const hash = createHash('sha256');
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else {
        const { size, mtimeMs } = statSync(path);
        hash.update(`${path} ${size} ${mtimeMs}\n`);
      }
    }
  };
  for (const dir of SYNTH_SOURCES) walk(join(REPO_ROOT, dir));
  return hash.digest('hex');
}

const SYNTH_SOURCES = ['config', 'events', 'functions', 'infra', 'workflows'];

async function synthesizeControlPlane(
  environmentName: string,
  opts: Pick<LocalDeployOptions, 'managedClusters' | 'config' | 'freezeWindows' | 'slos'>,
): Promise<SynthesizedControlPlane> {
  // Each process bundles into its own directory: test files run in parallel, and a build empties a
  // function's directory before writing it, so another process's synth could find a shared
  // dist/functions half-built.
  built ??= (async () => {
    const outdir = mkdtempSync(join(tmpdir(), 'ops-bundles-'));
    const { buildFunctions } = await import('../esbuild.config.mjs');
    await buildFunctions({ outdir });
    return outdir;
  })();
  const assetRoot = await built;
  // Loaded here, not at the top: the CDK takes seconds to import, and a process that finds the
  // template in the run's cache (or an `ops` command that synthesizes nothing) never needs it.
  const { synthesizeApp } = await import('../infra/app.ts');
  const assembly = synthesizeApp({
    outdir: mkdtempSync(join(tmpdir(), 'ops-synth-')),
    environmentName,
    assetRoot,
    ...(opts.managedClusters ? { managedClusters: opts.managedClusters } : {}),
    ...(opts.config !== undefined ? { config: opts.config } : {}),
    ...(opts.freezeWindows ? { freezeWindows: opts.freezeWindows } : {}),
    ...(opts.slos ? { slos: opts.slos } : {}),
  });
  const stack = assembly.stacks.find((s) => s.stackName.endsWith('ControlPlane'));
  if (!stack)
    throw new Error(`no control-plane stack in ${assembly.stacks.map((s) => s.stackName).join(', ')}`);
  return { stackName: stack.stackName, template: stack.template as CfnTemplate };
}

/**
 * Local runs wait for alert group windows in real time (the flush is a delayed SQS message), so
 * they compress the window as Wait states are compressed: 30 s in the template, 1 s here.
 */
export const LOCAL_ALERT_GROUP_WINDOW_SECONDS = 1;

export interface LocalDeployOptions {
  /** The alert router's ALERT_GROUP_WINDOW_SECONDS in this deployment (default 1). */
  alertGroupWindowSeconds?: number;
  /**
   * The clusters the control plane manages, as an operator would list them in the environment's
   * config (default: the environment's own): their grants come with them.
   */
  managedClusters?: readonly ManagedCluster[];
  /**
   * The environment's config instead of config/<environmentName>.json: a control-plane-only one
   * deploys the control plane over the resources it references (the capability files are still
   * the environment's).
   */
  config?: unknown;
  /** Freeze windows instead of config/freezes/<environmentName>.json. */
  freezeWindows?: readonly FreezeWindow[];
  /** SLOs instead of config/slos/<environmentName>.json. */
  slos?: SloConfig;
}

export async function deployControlPlane(
  environmentName = 'local',
  opts: LocalDeployOptions = {},
): Promise<DeployedStack> {
  const { stackName, template } = await synthControlPlane(environmentName, {
    ...(opts.managedClusters ? { managedClusters: opts.managedClusters } : {}),
    ...(opts.config !== undefined ? { config: opts.config } : {}),
    ...(opts.freezeWindows ? { freezeWindows: opts.freezeWindows } : {}),
    ...(opts.slos ? { slos: opts.slos } : {}),
  });
  const stack = await deployTemplate(stackName, template);
  setAlertGroupWindow(stack, opts.alertGroupWindowSeconds ?? LOCAL_ALERT_GROUP_WINDOW_SECONDS);
  setSpotFollowUpDelays(stack, LOCAL_SPOT_FOLLOW_UP_SECONDS);
  return stack;
}

/**
 * Spot follow-ups (a pre-scale's give-back after 5 minutes, a rebalance drain's recheck after 10)
 * are delayed SQS messages, waited for in real time here: compressed as the group window is.
 */
export const LOCAL_SPOT_FOLLOW_UP_SECONDS = 1;

/** Changes the delays of the spot function's follow-ups, as editing its environment would. */
export function setSpotFollowUpDelays(stack: DeployedStack, seconds: number): void {
  const spot = stack.functions['spot-interruption'];
  if (!spot) return;
  spot.environment.PRESCALE_HOLD_SECONDS = String(seconds);
  spot.environment.REBALANCE_RECHECK_SECONDS = String(seconds);
  spot.environment.FARGATE_SHIFT_BACK_CHECK_SECONDS = String(seconds);
}

/** Changes the deployed alert router's group window, as editing the function's environment would. */
export function setAlertGroupWindow(stack: DeployedStack, seconds: number): void {
  const router = stack.functions['alert-router'];
  if (router) router.environment.ALERT_GROUP_WINDOW_SECONDS = String(seconds);
}

export interface ReceivedAlert {
  severity: string;
  subject: string;
  alert: Record<string, unknown>;
  attributes: Record<string, string>;
  /** Size of the body this subscriber received. */
  bytes: number;
  /** When SNS published it (the envelope's Timestamp). */
  publishedAt: string;
}

/**
 * Every alert on the given subscriber queues, one per severity, in the order SNS published them
 * (ties in the same millisecond by when they happened): how one person subscribed to every topic
 * hears them. Each entry carries its queue's name.
 */
export async function takeAlertsInOrder(
  queues: Record<string, string>,
): Promise<(ReceivedAlert & { queue: string })[]> {
  const all: (ReceivedAlert & { queue: string })[] = [];
  for (const [queue, url] of Object.entries(queues))
    for (const received of await takeAlerts(url)) all.push({ ...received, queue });
  const key = (a: ReceivedAlert) => `${a.publishedAt}\u0000${String(a.alert.at ?? '')}`;
  return all.sort((a, b) => key(a).localeCompare(key(b)));
}

/** Reads and removes every message on an alert queue (SNS envelope unwrapped). */
export async function takeAlerts(
  queueUrl: string,
  opts: { collapseCopies?: boolean } = {},
): Promise<ReceivedAlert[]> {
  const sqs = observerClient(SQSClient);
  const alerts: ReceivedAlert[] = [];
  // A Publish retried after its answer was lost reaches subscribers twice, word for word (SNS
  // delivers at least once). Collapsed only when asked, so clean runs stay exact.
  const seen = new Set<string>();
  for (;;) {
    const out = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 60 }),
    );
    const messages = out.Messages ?? [];
    if (messages.length === 0) break;
    for (const m of messages) {
      const envelope = JSON.parse(m.Body ?? '{}') as {
        Subject?: string;
        Message?: string;
        Timestamp?: string;
        MessageAttributes?: Record<string, { Value: string }>;
      };
      const content = JSON.stringify([envelope.Subject, envelope.Message, envelope.MessageAttributes]);
      const copy = opts.collapseCopies === true && seen.has(content);
      seen.add(content);
      if (copy) continue;
      let alert: Record<string, unknown>;
      try {
        alert = JSON.parse(envelope.Message ?? '{}');
      } catch {
        alert = { text: envelope.Message };
      }
      const attributes = Object.fromEntries(
        Object.entries(envelope.MessageAttributes ?? {}).map(([k, v]) => [k, v.Value]),
      );
      alerts.push({
        severity: attributes.severity ?? 'unknown',
        subject: envelope.Subject ?? '',
        alert,
        attributes,
        bytes: Buffer.byteLength(envelope.Message ?? '', 'utf8'),
        publishedAt: envelope.Timestamp ?? '',
      });
    }
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle as string })),
      }),
    );
  }
  return alerts;
}

export async function readJournal(table: string): Promise<JournalRecord[]> {
  const db = observerDocumentClient();
  const records: JournalRecord[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const out = await db.send(
      new ScanCommand({ TableName: table, ...(start ? { ExclusiveStartKey: start } : {}) }),
    );
    records.push(...((out.Items ?? []) as JournalRecord[]));
    start = out.LastEvaluatedKey;
  } while (start);
  return records.sort((a, b) => a.at.localeCompare(b.at));
}
