// vitest helpers: an emulator to each test file alone, empty when the file starts (its worker
// slot's, reset), so files are isolated from each other and can run in parallel. The SDK clients
// of functions/shared/clients.ts are pointed at it through the environment, as a deployed function
// is pointed at AWS.

import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, expect } from 'vitest';
import { resetClients } from '../../functions/shared/clients.ts';
import { type Emulator, localAwsEnv, resetEmulator, startEmulator } from '../../local/emulator.ts';
import {
  type FaultProxy,
  type FaultSettings,
  type ProxyStats,
  startFaultProxy,
} from '../../local/fault-proxy.ts';
import { writeIamLedger } from '../../local/iam-enforcement.ts';
import { OBSERVER_ENDPOINT_VAR, observerClient } from '../../local/observer.ts';
import {
  STEP_FUNCTIONS_ENDPOINT_VAR,
  stopStepFunctionsEndpoint,
  useStepFunctionsEndpoint,
} from '../../local/step-functions-endpoint.ts';
import { IAM_LEDGER_DIR, SLOT_EMULATORS_VAR } from './global-setup.ts';

export interface EmulatorHandle {
  /** The emulator's endpoint; readable from beforeAll on. */
  readonly endpoint: string;
  /** Drops every resource in the emulator (e.g. in beforeEach). */
  reset(): Promise<void>;
}

export interface FaultProxyHandle {
  /** The proxy's endpoint; AWS_ENDPOINT_URL points here while the proxy runs. */
  readonly endpoint: string;
  setFaults(partial: Partial<FaultSettings>): void;
  stats(): ReturnType<FaultProxy['stats']>;
  resetStats(): void;
}

/**
 * Refused and ambiguous calls. Refused: 15% throttled, 5% answered with a 5xx, neither applied.
 * Ambiguous, 5% in all: 4% applied with the answer lost, 1% applied with the answer held past the
 * SDK's timeout. Up to 5 ms added to every call: a quarter of calls fail.
 */
export const AMBIGUOUS_FAULTS: Partial<FaultSettings> = {
  throttleRate: 0.15,
  serverErrorRate: 0.05,
  lostResponseRate: 0.04,
  slowResponseRate: 0.01,
  slowResponseMs: 2_800,
  latencyMs: [0, 5],
};

/**
 * The SDK's request timeout while a fault proxy holds responses back: a held response must outlast
 * it, and an answer from the emulator under load must not (its slowest calls, creating a VPC or a
 * cluster, take about 160 ms alone, but over a second on a loaded two-core machine, where 1 s
 * turned ordinary answers into timeouts past the injected rate). AMBIGUOUS_FAULTS holds them 2.8 s.
 * An answer that did come late would only be one more ambiguous call, which every suite must ride
 * out anyway.
 */
export const FAULT_SUITE_REQUEST_TIMEOUT_MS = 2_500;

/**
 * Faults that apply a call and lose or hold its answer: its retry then repeats it, and what AWS
 * delivers at least once (a raise, a Publish) arrives twice, word for word.
 */
export function answersMayBeLost(faults: Partial<FaultSettings> | undefined): boolean {
  return Boolean(faults?.lostResponseRate || faults?.slowResponseRate);
}

/**
 * Every kind of fault was really injected: the refused ones and lost answers at roughly their
 * rates, held answers (1%, a handful per suite) at least once.
 */
export function expectFaultsInjected(stats: ProxyStats): void {
  expect(stats.throttled).toBeGreaterThan(0.075 * stats.total);
  expect(stats.serverErrors).toBeGreaterThan(0.01 * stats.total);
  expect(stats.lostResponses).toBeGreaterThan(0.01 * stats.total);
  expect(stats.slowResponses).toBeGreaterThan(0);
}

/**
 * A table keyed by the string `hashKey` (`id`, as the stack's state tables; `resource` for locks),
 * created by the rig past any fault proxy.
 */
export async function createTable(name: string, hashKey = 'id'): Promise<void> {
  await observerClient(DynamoDBClient).send(
    new CreateTableCommand({
      TableName: name,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: hashKey, AttributeType: 'S' }],
      KeySchema: [{ AttributeName: hashKey, KeyType: 'HASH' }],
    }),
  );
}

// Credentials from the developer's own setup would override ours or reach for a real account.
const SHADOWING_VARS = [
  'AWS_PROFILE',
  'AWS_SESSION_TOKEN',
  'AWS_MAX_ATTEMPTS',
  'AWS_REQUEST_TIMEOUT_MS',
  STEP_FUNCTIONS_ENDPOINT_VAR,
];

let fileEmulator: Emulator | undefined;

/** The emulator of this worker's slot (started by the global setup), emptied; else a new one. */
async function emptyEmulator(): Promise<Emulator> {
  const slots = (process.env[SLOT_EMULATORS_VAR] ?? '').split(' ').filter(Boolean);
  const endpoint = slots[Number(process.env.VITEST_POOL_ID) - 1];
  if (!endpoint) return startEmulator();
  // A slot's server that died with an earlier file (its failure is that file's) gives way to a
  // private one, so later files in the slot do not fail for it.
  if (
    !(await resetEmulator(endpoint).then(
      () => true,
      () => false,
    ))
  )
    return startEmulator();
  return {
    endpoint,
    port: Number(new URL(endpoint).port),
    pid: -1,
    // The global setup stops it after the run.
    stop: async () => {},
    reset: () => resetEmulator(endpoint),
  };
}

/** Points the AWS SDK at an emulator of this file's own (or describe block's), empty at the start. */
export function useEmulator(): EmulatorHandle {
  let emulator: Emulator | undefined;
  const saved: Record<string, string | undefined> = {};

  beforeAll(async () => {
    emulator = await emptyEmulator();
    fileEmulator = emulator;
    // The rig's read-backs (alerts, journal) go straight to the emulator, past any fault proxy.
    const env = { ...localAwsEnv(emulator.endpoint), [OBSERVER_ENDPOINT_VAR]: emulator.endpoint };
    for (const key of [...Object.keys(env), ...SHADOWING_VARS]) saved[key] = process.env[key];
    for (const key of SHADOWING_VARS) delete process.env[key];
    Object.assign(process.env, env);
    // Task-token answers go through the Step Functions API to the runner, as on AWS.
    await useStepFunctionsEndpoint(emulator.endpoint);
    resetClients();
  });

  afterAll(async () => {
    writeIamLedger(IAM_LEDGER_DIR, expect.getState().testPath ?? 'unknown');
    await stopStepFunctionsEndpoint();
    restoreEnv(saved);
    resetClients();
    if (fileEmulator === emulator) fileEmulator = undefined;
    await emulator?.stop();
  });

  const started = (): Emulator => {
    if (!emulator)
      throw new Error('useEmulator(): the emulator starts in beforeAll; use it from a hook or a test');
    return emulator;
  };
  return {
    get endpoint() {
      return started().endpoint;
    },
    reset: () => started().reset(),
  };
}

/**
 * Puts a fault proxy in front of this file's emulator and sends the SDK through it.
 * Call after useEmulator(). Rates can be changed per test with setFaults().
 */
export function useFaultProxy(rates: Partial<FaultSettings> & { seed?: number } = {}): FaultProxyHandle {
  let proxy: FaultProxy | undefined;
  let previous: Record<string, string | undefined> = {};

  beforeAll(async () => {
    if (!fileEmulator) throw new Error('useFaultProxy(): call useEmulator() first, in the same file');
    // Step Functions calls (task-token answers) pass the proxy too, on to the rig's endpoint.
    const stepFunctions = await useStepFunctionsEndpoint(fileEmulator.endpoint);
    proxy = await startFaultProxy({
      ...rates,
      target: fileEmulator.endpoint,
      routes: { states: stepFunctions.endpoint },
    });
    previous = {
      AWS_ENDPOINT_URL: process.env.AWS_ENDPOINT_URL,
      AWS_REQUEST_TIMEOUT_MS: process.env.AWS_REQUEST_TIMEOUT_MS,
      [STEP_FUNCTIONS_ENDPOINT_VAR]: process.env[STEP_FUNCTIONS_ENDPOINT_VAR],
    };
    process.env.AWS_ENDPOINT_URL = proxy.endpoint;
    process.env[STEP_FUNCTIONS_ENDPOINT_VAR] = proxy.endpoint;
    timeoutFor(rates, previous.AWS_REQUEST_TIMEOUT_MS);
    resetClients();
  });

  afterAll(async () => {
    restoreEnv(previous);
    resetClients();
    await proxy?.stop();
  });

  const started = (): FaultProxy => {
    if (!proxy)
      throw new Error('useFaultProxy(): the proxy starts in beforeAll; use it from a hook or a test');
    return proxy;
  };
  return {
    get endpoint() {
      return started().endpoint;
    },
    setFaults: (partial) => {
      started().setFaults(partial);
      if (timeoutFor(partial, previous.AWS_REQUEST_TIMEOUT_MS)) resetClients();
    },
    stats: () => started().stats(),
    resetStats: () => started().resetStats(),
  };
}

/**
 * Held answers must outlast the SDK's timeout: shorten it while the proxy holds answers back, and
 * give it back (`usual`) when it stops. True when the timeout changed.
 */
function timeoutFor(rates: Partial<FaultSettings>, usual: string | undefined): boolean {
  if (rates.slowResponseRate === undefined) return false;
  const wanted = rates.slowResponseRate > 0 ? String(FAULT_SUITE_REQUEST_TIMEOUT_MS) : usual;
  if (process.env.AWS_REQUEST_TIMEOUT_MS === wanted) return false;
  if (wanted === undefined) delete process.env.AWS_REQUEST_TIMEOUT_MS;
  else process.env.AWS_REQUEST_TIMEOUT_MS = wanted;
  return true;
}

function restoreEnv(saved: Record<string, string | undefined>): void {
  for (const [key, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
}
