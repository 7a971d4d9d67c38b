// Clients for the test rig's own reads (alerts received, journal written). They talk to the
// emulator itself, not through the fault proxy, and keep their own retry budget: the observer is
// not under test, and sharing the functions' clients let injected throttling drain the SDK's
// retry quota of a read-back (a throttled ReceiveMessage then failed a test that had passed).
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { type ClientConfig, clientConfig } from '../functions/shared/clients.ts';

/** Set by the test rig (useEmulator) to the emulator behind any fault proxy. */
export const OBSERVER_ENDPOINT_VAR = 'OPS_OBSERVER_ENDPOINT';

const cache = new Map<unknown, { endpoint: string | undefined; client: unknown }>();

function observerEndpoint(): string | undefined {
  return process.env[OBSERVER_ENDPOINT_VAR] || process.env.AWS_ENDPOINT_URL || undefined;
}

/** A client of this class that reads the emulator directly, created on first use. */
export function observerClient<C>(Ctor: new (config: ClientConfig) => C): C {
  const endpoint = observerEndpoint();
  const hit = cache.get(Ctor);
  if (hit && hit.endpoint === endpoint) return hit.client as C;
  const config = clientConfig();
  // The rig's reads wait as long as they must: a fault suite's short request timeout is for the
  // code under test.
  const requestHandler = config.requestHandler && { ...config.requestHandler, requestTimeout: 30_000 };
  const client = new Ctor({
    ...config,
    ...(requestHandler ? { requestHandler } : {}),
    ...(endpoint ? { endpoint } : {}),
    maxAttempts: 10,
  });
  cache.set(Ctor, { endpoint, client });
  return client;
}

export function observerDocumentClient(): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(observerClient(DynamoDBClient), {
    marshallOptions: { removeUndefinedValues: true },
  });
}
