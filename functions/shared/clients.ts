// One place that builds AWS SDK clients for every function and tool.
// The SDK itself reads AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE> (the rig points Step
// Functions at its own endpoint); a client is rebuilt when they change (a test's fault proxy).
// Clients are created lazily on first use: a rarely used client costs nothing at cold start.

type ClientConstructor<C> = new (config: ClientConfig) => C;

export interface ClientConfig {
  region?: string;
  endpoint?: string;
  maxAttempts: number;
  retryMode: 'standard' | 'adaptive';
  requestHandler?: { requestTimeout: number; connectionTimeout: number; throwOnRequestTimeout: boolean };
}

const cache = new Map<unknown, { endpoints: string; hook: unknown; client: unknown }>();

/**
 * The local test rig evaluates IAM on every call its functions make: it leaves a hook here that
 * adds its middleware to each client built. Never set on AWS.
 */
const RIG_CLIENT_HOOK = Symbol.for('ecs-ops.rig.client-hook');
const rigHook = () =>
  (globalThis as Record<symbol, unknown>)[RIG_CLIENT_HOOK] as ((client: unknown) => void) | undefined;

/** Every endpoint override in the environment, as one text: a client is built for one set. */
function endpointOverrides(): string {
  return Object.keys(process.env)
    .filter((key) => key.startsWith('AWS_ENDPOINT_URL'))
    .sort()
    .map((key) => `${key}=${process.env[key]}`)
    .join(' ');
}

/** Retries are how we survive throttling; six attempts with jittered backoff ride out bursts. */
export const DEFAULT_MAX_ATTEMPTS = 6;
/**
 * A call with no answer after this long is given up and retried (a TimeoutError), rather than
 * holding the function until its own timeout. None of our calls long-polls.
 */
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;

export function clientConfig(): ClientConfig {
  const attempts = Number(process.env.AWS_MAX_ATTEMPTS ?? DEFAULT_MAX_ATTEMPTS);
  const timeout = Number(process.env.AWS_REQUEST_TIMEOUT_MS ?? DEFAULT_REQUEST_TIMEOUT_MS);
  return {
    ...(process.env.AWS_REGION ? { region: process.env.AWS_REGION } : {}),
    maxAttempts: Number.isFinite(attempts) && attempts > 0 ? attempts : DEFAULT_MAX_ATTEMPTS,
    retryMode: 'standard',
    requestHandler: {
      requestTimeout: Number.isFinite(timeout) && timeout > 0 ? timeout : DEFAULT_REQUEST_TIMEOUT_MS,
      connectionTimeout: 3_000,
      // Without it the handler only warns when the timeout passes and goes on waiting.
      throwOnRequestTimeout: true,
    },
  };
}

/**
 * A client of this class of its own (not shared), for a caller that adds middleware of its own
 * (the document client's own-write marks). Every client is built here or by awsClient.
 */
export function ownClient<C>(Ctor: ClientConstructor<C>): C {
  const client = new Ctor(clientConfig());
  rigHook()?.(client);
  return client;
}

/** The shared client of this class for the current endpoint, created on first use. */
export function awsClient<C>(Ctor: ClientConstructor<C>): C {
  const endpoints = endpointOverrides();
  const hook = rigHook();
  const hit = cache.get(Ctor);
  if (hit && hit.endpoints === endpoints && hit.hook === hook) return hit.client as C;
  const client = new Ctor(clientConfig());
  hook?.(client);
  cache.set(Ctor, { endpoints, hook, client });
  return client;
}

/** Drops every cached client (tests that switch endpoints or credentials). */
export function resetClients(): void {
  cache.clear();
}
