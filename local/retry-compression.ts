// The rig compresses the SDK's retry backoff as it compresses a workflow's Wait states: the same
// retries, in the same order, against the same retry quota, with each pause scaled down. A fault
// suite throttles a sixth of all calls, and at the SDK's own pauses (a 1 s base for throttling,
// doubling up to 20 s) its runs spent most of their time asleep. Faults are drawn per call, not
// per moment, so a shorter pause changes no outcome the suites check.

/** Retry pauses in the rig, as a fraction of the SDK's (its own jitter and caps still apply). */
export const RIG_RETRY_DELAY_SCALE = 0.1;

/** The part of the SDK's standard (and adaptive) retry strategy that picks each pause. */
interface BackoffStrategy {
  computeNextBackoffDelay(attempt: number): number;
}

interface RetryConfiguredClient {
  config?: { retryStrategy?: () => Promise<unknown> };
}

const compressedConfigs = new WeakSet<object>();
const scaledBackoffs = new WeakSet<object>();

/**
 * Scales every retry pause of the client's strategy by `scale`. The strategy sleeps for what its
 * backoff computes (tests/unit/retry-compression.test.ts measures that through a real client, so
 * an SDK that moves the pause elsewhere fails there rather than slowing the suites unseen).
 */
export function compressRetryDelays(client: unknown, scale = RIG_RETRY_DELAY_SCALE): void {
  const config = (client as RetryConfiguredClient).config;
  const original = config?.retryStrategy;
  if (!config || typeof original !== 'function' || compressedConfigs.has(config)) return;
  compressedConfigs.add(config);
  config.retryStrategy = async () => {
    const strategy = (await original()) as { retryBackoffStrategy?: Partial<BackoffStrategy> };
    scaleBackoff(strategy?.retryBackoffStrategy, scale);
    return strategy;
  };
}

function scaleBackoff(backoff: Partial<BackoffStrategy> | undefined, scale: number): void {
  if (!backoff || typeof backoff.computeNextBackoffDelay !== 'function' || scaledBackoffs.has(backoff)) {
    return;
  }
  scaledBackoffs.add(backoff);
  const compute = backoff.computeNextBackoffDelay.bind(backoff);
  backoff.computeNextBackoffDelay = (attempt) => Math.floor(compute(attempt) * scale);
}
