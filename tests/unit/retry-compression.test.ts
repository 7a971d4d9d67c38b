// The rig's retry pauses are the SDK's own, scaled: measured through a real client against a
// server that always throttles, with the SDK's jitter pinned so both runs draw the same pauses.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ECSClient, ListClustersCommand } from '@aws-sdk/client-ecs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { awsClient, resetClients } from '../../functions/shared/clients.ts';
import '../../local/iam-enforcement.ts';
import { compressRetryDelays, RIG_RETRY_DELAY_SCALE } from '../../local/retry-compression.ts';

let server: Server;
let endpoint: string;

beforeAll(async () => {
  server = createServer((_req, res) => {
    res.writeHead(400, { 'content-type': 'application/x-amz-json-1.1' });
    res.end(JSON.stringify({ __type: 'ThrottlingException', message: 'Rate exceeded' }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const credentials = { accessKeyId: 'rig', secretAccessKey: 'rig' };

/** Attempts and the summed pauses of one always-throttled call, with the jitter pinned. */
async function throttledCall(client: ECSClient): Promise<{ attempts?: number; totalRetryDelay?: number }> {
  const random = vi.spyOn(Math, 'random').mockReturnValue(0.05);
  try {
    await client.send(new ListClustersCommand({}));
    throw new Error('the call should have been throttled');
  } catch (error) {
    expect((error as Error).name).toBe('ThrottlingException');
    return (error as { $metadata: { attempts?: number; totalRetryDelay?: number } }).$metadata;
  } finally {
    random.mockRestore();
  }
}

describe('retry pauses in the rig', () => {
  it('keeps the attempts and scales each pause of the SDK strategy', async () => {
    const config = { region: 'us-east-1', endpoint, credentials, maxAttempts: 4 };
    const sdk = await throttledCall(new ECSClient(config));
    const compressedClient = new ECSClient(config);
    compressRetryDelays(compressedClient);
    const compressed = await throttledCall(compressedClient);

    expect(compressed.attempts).toBe(4);
    expect(sdk.attempts).toBe(4);
    expect(sdk.totalRetryDelay).toBeGreaterThan(0);
    // Three pauses, each floored after scaling.
    const scaled = (sdk.totalRetryDelay ?? 0) * RIG_RETRY_DELAY_SCALE;
    expect(compressed.totalRetryDelay).toBeLessThanOrEqual(Math.ceil(scaled));
    expect(compressed.totalRetryDelay).toBeGreaterThanOrEqual(Math.floor(scaled) - 3);
  });

  it('applies to every client the functions build in the rig', async () => {
    vi.stubEnv('AWS_ENDPOINT_URL', endpoint);
    vi.stubEnv('AWS_REGION', 'us-east-1');
    vi.stubEnv('AWS_ACCESS_KEY_ID', credentials.accessKeyId);
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', credentials.secretAccessKey);
    vi.stubEnv('AWS_MAX_ATTEMPTS', '4');
    resetClients();
    try {
      const rig = await throttledCall(awsClient(ECSClient));
      const sdk = await throttledCall(
        new ECSClient({ region: 'us-east-1', endpoint, credentials, maxAttempts: 4 }),
      );
      expect(rig.attempts).toBe(4);
      expect(rig.totalRetryDelay).toBeLessThanOrEqual(
        Math.ceil((sdk.totalRetryDelay ?? 0) * RIG_RETRY_DELAY_SCALE),
      );
    } finally {
      vi.unstubAllEnvs();
      resetClients();
    }
  });
});
