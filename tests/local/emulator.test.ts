import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type AttributeValue,
  CreateTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
} from '@aws-sdk/client-dynamodb';
import {
  CreateClusterCommand,
  CreateServiceCommand,
  CreateTaskSetCommand,
  DescribeServicesCommand,
  ECSClient,
  RegisterTaskDefinitionCommand,
} from '@aws-sdk/client-ecs';
import { CreateQueueCommand, ListQueuesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientConfig } from '../../functions/shared/clients.ts';
import {
  EMULATOR_ACCOUNT_ID,
  type Emulator,
  emulatorStatus,
  localAwsEnv,
  MOTO_AS_AWS,
  startEmulator,
  startEmulatorDaemon,
  stopEmulatorDaemon,
} from '../../local/emulator.ts';
import { ensurePythonEnv, isProcessAlive, REPO_ROOT } from '../../local/python-env.ts';

const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };

// Two emulators at once: the clients must name their endpoint rather than read it from the env.
function sqsAt(endpoint: string, maxAttempts?: number): SQSClient {
  return new SQSClient({
    ...clientConfig(),
    region: 'us-east-1',
    endpoint,
    credentials,
    ...(maxAttempts ? { maxAttempts } : {}),
  });
}

async function queueNames(endpoint: string, maxAttempts?: number): Promise<string[]> {
  const out = await sqsAt(endpoint, maxAttempts).send(new ListQueuesCommand({}));
  return (out.QueueUrls ?? []).map((url) => url.slice(url.lastIndexOf('/') + 1));
}

function listenOn(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    // Drop every connection at once, or close() would wait for the emulator's readiness probes.
    const server = createServer((socket) => socket.destroy());
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

const closeServer = (server: Server) => new Promise<void>((r) => server.close(() => r()));

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (condition()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return condition();
}

describe('startEmulator', () => {
  let a: Emulator;
  let b: Emulator;
  const startMs: number[] = [];

  beforeAll(async () => {
    for (const assign of [(e: Emulator) => (a = e), (e: Emulator) => (b = e)]) {
      const started = Date.now();
      assign(await startEmulator());
      startMs.push(Date.now() - started);
    }
    console.info(`moto start times: ${startMs.join(' ms, ')} ms`);
  });

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
  });

  it('serves each emulator on its own loopback port with a live process', () => {
    expect(a.endpoint).toBe(`http://127.0.0.1:${a.port}`);
    expect(b.endpoint).toBe(`http://127.0.0.1:${b.port}`);
    expect(a.port).not.toBe(b.port);
    expect(isProcessAlive(a.pid)).toBe(true);
    expect(isProcessAlive(b.pid)).toBe(true);
    // Generous: this guards against a start that waits on a fixed sleep or a timeout.
    for (const ms of startMs) expect(ms).toBeLessThan(15_000);
  });

  it('keeps emulators isolated: a queue created in one is absent in the other', async () => {
    await sqsAt(a.endpoint).send(new CreateQueueCommand({ QueueName: 'only-in-a' }));
    await sqsAt(b.endpoint).send(new CreateQueueCommand({ QueueName: 'only-in-b' }));
    expect(await queueNames(a.endpoint)).toEqual(['only-in-a']);
    expect(await queueNames(b.endpoint)).toEqual(['only-in-b']);
  });

  it('answers a CreateTaskSet retried with the same clientToken with the first task set, as ECS does', async () => {
    const ecs = new ECSClient({ ...clientConfig(), region: 'us-east-1', endpoint: a.endpoint, credentials });
    await ecs.send(new CreateClusterCommand({ clusterName: 'tokens' }));
    await ecs.send(
      new RegisterTaskDefinitionCommand({
        family: 'web',
        containerDefinitions: [{ name: 'web', image: 'nginx', memory: 128 }],
      }),
    );
    await ecs.send(
      new CreateServiceCommand({
        cluster: 'tokens',
        serviceName: 'api',
        deploymentController: { type: 'EXTERNAL' },
        desiredCount: 0,
      }),
    );
    const create = async (clientToken: string) =>
      (
        await ecs.send(
          new CreateTaskSetCommand({ cluster: 'tokens', service: 'api', taskDefinition: 'web', clientToken }),
        )
      ).taskSet?.id;
    const first = await create('rollout-1');
    expect(await create('rollout-1')).toBe(first);
    expect(await create('rollout-2')).not.toBe(first);
    const sets = await ecs.send(new DescribeServicesCommand({ cluster: 'tokens', services: ['api'] }));
    expect(sets.services?.[0]?.taskSets).toHaveLength(2);
  });

  it('returns DynamoDB items of every attribute type as they were written, binary and nested included', async () => {
    const db = new DynamoDBClient({
      ...clientConfig(),
      region: 'us-east-1',
      endpoint: a.endpoint,
      credentials,
    });
    await db.send(
      new CreateTableCommand({
        TableName: 'types',
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      }),
    );
    const bytes = new Uint8Array([0, 1, 2, 250, 255]);
    const item = {
      pk: { S: 'every-type' },
      text: { S: '' },
      count: { N: '-12.5' },
      yes: { BOOL: true },
      no: { BOOL: false },
      none: { NULL: true },
      names: { SS: ['a', 'b'] },
      numbers: { NS: ['1', '2'] },
      nested: {
        M: { list: { L: [{ N: '1' }, { M: { deep: { BOOL: false } } }, { NULL: true }, { L: [] }] } },
      },
      empty: { M: {} },
    } satisfies Record<string, AttributeValue>;
    const binary = {
      ...item,
      pk: { S: 'binary' },
      blob: { B: bytes },
      blobs: { BS: [bytes] },
      inMap: { M: { blob: { B: bytes } } },
    };
    for (const written of [item, binary]) {
      await db.send(new PutItemCommand({ TableName: 'types', Item: written }));
      const got = await db.send(new GetItemCommand({ TableName: 'types', Key: { pk: written.pk } }));
      expect(got.Item).toEqual(written);
      const queried = await db.send(
        new QueryCommand({
          TableName: 'types',
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': written.pk },
        }),
      );
      expect(queried.Items).toEqual([written]);
    }
  });

  it("serializes DynamoDB responses byte for byte as moto's own serializer does", async () => {
    // The speed patch in MOTO_AS_AWS against moto's generic path, in one process: each response
    // serialized before the patch is applied and after.
    const check = `
import copy, json, sys
from moto.core.serialize import XFormedAttributePicker, get_serializer_class
from moto.core.utils import get_service_model
model = get_service_model("dynamodb")
serializer = get_serializer_class("dynamodb", model.protocol)
def body(op, result):
    return serializer(operation_model=model.operation_model(op), pretty_print=False, value_picker=XFormedAttributePicker()).serialize(copy.deepcopy(result))["body"]
item = {"pk": {"S": "a"}, "n": {"N": "12.5"}, "t": {"BOOL": True}, "f": {"BOOL": False}, "z": {"NULL": True},
        "ss": {"SS": ["x", "y"]}, "ns": {"NS": ["1", "2"]}, "e": {"S": ""}, "el": {"L": []}, "em": {"M": {}},
        "m": {"M": {"a": {"S": "b"}, "l": {"L": [{"N": "1"}, {"M": {"q": {"BOOL": False}}}, {"NULL": True}]}}}}
binary = dict(item, b={"B": "aGVsbG8="}, bs={"BS": ["aGk="]}, mb={"M": {"x": {"L": [{"B": "aGk="}]}}})
results = [(op, r) for i in (item, binary) for op, r in [
    ("GetItem", {"Item": i, "ConsumedCapacity": {"TableName": "t", "CapacityUnits": 1.0}}),
    ("Query", {"Items": [i, i], "Count": 2, "ScannedCount": 2, "LastEvaluatedKey": {"pk": {"S": "a"}}}),
    ("UpdateItem", {"Attributes": i}),
    ("BatchGetItem", {"Responses": {"t": [i]}, "UnprocessedKeys": {}}),
    ("TransactGetItems", {"Responses": [{"Item": i}]}),
]]
generic = [body(op, r) for op, r in results]
exec(sys.stdin.read())
print(json.dumps({"compared": len(results), "different": [op for (op, r), g in zip(results, generic) if body(op, r) != g]}))
`;
    const { python } = await ensurePythonEnv();
    const child = spawn(python, ['-c', check], { cwd: REPO_ROOT });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      err += d;
    });
    child.stdin.end(MOTO_AS_AWS);
    const code = await new Promise<number | null>((r) => child.once('close', r));
    expect(code, err).toBe(0);
    expect(JSON.parse(out)).toEqual({ compared: 10, different: [] });
  });

  it('reset drops every resource of that emulator only', async () => {
    await sqsAt(a.endpoint).send(new CreateQueueCommand({ QueueName: 'dropped-by-reset' }));
    await sqsAt(b.endpoint).send(new CreateQueueCommand({ QueueName: 'kept' }));
    await a.reset();
    expect(await queueNames(a.endpoint)).toEqual([]);
    expect(await queueNames(b.endpoint)).toContain('kept');
  });

  it('stop ends the process and frees the port', async () => {
    await b.stop();
    expect(isProcessAlive(b.pid)).toBe(false);
    await expect(queueNames(b.endpoint, 1)).rejects.toThrow(/ECONNREFUSED/);
    const server = await listenOn(b.port);
    await closeServer(server);
    await b.stop(); // a second stop is harmless
  });

  it('starts on a given port and reports a taken port with moto output', async () => {
    const taken = await listenOn(0);
    const port = (taken.address() as { port: number }).port;
    try {
      await expect(startEmulator({ port })).rejects.toThrow(/in use/i);
    } finally {
      await closeServer(taken);
    }
    const onPort = await startEmulator({ port });
    try {
      expect(onPort.endpoint).toBe(`http://127.0.0.1:${port}`);
      expect(await queueNames(onPort.endpoint)).toEqual([]);
    } finally {
      await onPort.stop();
    }
  });

  it('dies with its parent process, even when the parent is killed with SIGKILL', async () => {
    const script = [
      `import { startEmulator } from ${JSON.stringify(join(REPO_ROOT, 'local', 'emulator.ts'))};`,
      'const e = await startEmulator();',
      'console.log(e.pid);',
      'setInterval(() => {}, 1000);',
    ].join('\n');
    const parent = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const motoPid = await new Promise<number>((resolve, reject) => {
      let out = '';
      let err = '';
      parent.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('\n')) resolve(Number(out.trim()));
      });
      parent.stderr.on('data', (d: Buffer) => {
        err += d.toString();
      });
      parent.once('exit', (code) => reject(new Error(`parent exited (${code}) before printing: ${err}`)));
    });
    expect(isProcessAlive(motoPid)).toBe(true);
    parent.kill('SIGKILL');
    expect(await waitFor(() => !isProcessAlive(motoPid), 10_000)).toBe(true);
  });
});

describe('localAwsEnv', () => {
  it('points the SDK at the endpoint with the emulator region and test credentials', () => {
    expect(localAwsEnv('http://127.0.0.1:1234')).toEqual({
      AWS_ENDPOINT_URL: 'http://127.0.0.1:1234',
      AWS_REGION: 'us-east-1',
      AWS_DEFAULT_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
      AWS_ACCOUNT_ID: EMULATOR_ACCOUNT_ID,
    });
  });
});

describe('emulator daemon (ops emulator start|status|stop)', () => {
  let stateDir: string;

  beforeAll(async () => {
    // A private state dir: the test must not touch a developer's running emulator.
    stateDir = await mkdtemp(join(tmpdir(), 'ops-emulator-'));
  });

  afterAll(async () => {
    await stopEmulatorDaemon({ stateDir });
    await rm(stateDir, { recursive: true, force: true });
  });

  it('starts once, reports the running emulator, and stops it', async () => {
    expect(await emulatorStatus({ stateDir })).toEqual({ running: false });

    const first = await startEmulatorDaemon({ stateDir });
    expect(first.alreadyRunning).toBe(false);
    expect(first.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(await queueNames(first.endpoint)).toEqual([]);

    const state = JSON.parse(await readFile(join(stateDir, 'emulator.json'), 'utf8'));
    expect(state).toMatchObject({ pid: first.pid, endpoint: first.endpoint });
    expect(existsSync(join(stateDir, 'emulator.log'))).toBe(true);

    const second = await startEmulatorDaemon({ stateDir });
    expect(second).toEqual({ endpoint: first.endpoint, pid: first.pid, alreadyRunning: true });
    expect(await emulatorStatus({ stateDir })).toEqual({
      running: true,
      endpoint: first.endpoint,
      pid: first.pid,
    });

    expect(await stopEmulatorDaemon({ stateDir })).toEqual({ stopped: true });
    expect(isProcessAlive(first.pid)).toBe(false);
    expect(await emulatorStatus({ stateDir })).toEqual({ running: false });
    expect(existsSync(join(stateDir, 'emulator.json'))).toBe(false);
    expect(await stopEmulatorDaemon({ stateDir })).toEqual({ stopped: false });
  });

  it('replaces a state file whose process is gone', async () => {
    const first = await startEmulatorDaemon({ stateDir });
    process.kill(first.pid, 'SIGKILL');
    expect(await waitFor(() => !isProcessAlive(first.pid), 5_000)).toBe(true);
    expect(await emulatorStatus({ stateDir })).toEqual({ running: false });

    const restarted = await startEmulatorDaemon({ stateDir });
    expect(restarted.alreadyRunning).toBe(false);
    expect(restarted.pid).not.toBe(first.pid);
    expect(await emulatorStatus({ stateDir })).toMatchObject({ running: true, pid: restarted.pid });
    expect(await stopEmulatorDaemon({ stateDir })).toEqual({ stopped: true });
  });
});
