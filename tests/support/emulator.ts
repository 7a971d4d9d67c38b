// vitest helpers: one private emulator per test file, so files are isolated from each
// other and can run in parallel. The SDK clients of functions/shared/clients.ts are
// pointed at it through the environment, as a deployed function is pointed at AWS.

import { afterAll, beforeAll } from 'vitest';
import { resetClients } from '../../functions/shared/clients.ts';
import { type Emulator, localAwsEnv, startEmulator } from '../../local/emulator.ts';
import { type FaultProxy, type FaultSettings, startFaultProxy } from '../../local/fault-proxy.ts';
import { OBSERVER_ENDPOINT_VAR } from '../../local/observer.ts';

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

/** The reliability suite's faults: 20% throttling, 5% 5xx responses, up to 5 ms added to every call. */
export const RELIABILITY_FAULTS: Partial<FaultSettings> = {
  throttleRate: 0.2,
  serverErrorRate: 0.05,
  latencyMs: [0, 5],
};

// Credentials from the developer's own setup would override ours or reach for a real account.
const SHADOWING_VARS = ['AWS_PROFILE', 'AWS_SESSION_TOKEN', 'AWS_MAX_ATTEMPTS'];

let fileEmulator: Emulator | undefined;

/** Starts a private emulator for this file (or describe block) and points the AWS SDK at it. */
export function useEmulator(): EmulatorHandle {
  let emulator: Emulator | undefined;
  const saved: Record<string, string | undefined> = {};

  beforeAll(async () => {
    emulator = await startEmulator();
    fileEmulator = emulator;
    // The rig's read-backs (alerts, journal) go straight to the emulator, past any fault proxy.
    const env = { ...localAwsEnv(emulator.endpoint), [OBSERVER_ENDPOINT_VAR]: emulator.endpoint };
    for (const key of [...Object.keys(env), ...SHADOWING_VARS]) saved[key] = process.env[key];
    for (const key of SHADOWING_VARS) delete process.env[key];
    Object.assign(process.env, env);
    resetClients();
  });

  afterAll(async () => {
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
  let previousEndpoint: string | undefined;

  beforeAll(async () => {
    if (!fileEmulator) throw new Error('useFaultProxy(): call useEmulator() first, in the same file');
    proxy = await startFaultProxy({ ...rates, target: fileEmulator.endpoint });
    previousEndpoint = process.env.AWS_ENDPOINT_URL;
    process.env.AWS_ENDPOINT_URL = proxy.endpoint;
    resetClients();
  });

  afterAll(async () => {
    restoreEnv({ AWS_ENDPOINT_URL: previousEndpoint });
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
    setFaults: (partial) => started().setFaults(partial),
    stats: () => started().stats(),
    resetStats: () => started().resetStats(),
  };
}

function restoreEnv(saved: Record<string, string | undefined>): void {
  for (const [key, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
}
