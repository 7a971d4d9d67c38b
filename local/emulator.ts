// Lifecycle of the local AWS emulator (moto in server mode) on 127.0.0.1.
// Tests start one emulator per worker slot (startEmulator), reset between files; the
// `ops emulator` CLI keeps one long-lived emulator per checkout whose whereabouts live in
// .ops/emulator.json.

import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, statSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { ensurePythonEnv, isProcessAlive, REPO_ROOT, withLockDir } from './python-env.ts';

/** moto's default account: every ARN the emulator returns carries it. */
export const EMULATOR_ACCOUNT_ID = '123456789012';
export const EMULATOR_REGION = 'us-east-1';

const HOST = '127.0.0.1';
const READY_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 3_000;

export interface Emulator {
  endpoint: string;
  port: number;
  pid: number;
  /** Kills the server (SIGTERM, then SIGKILL after a grace period) and waits for it to exit. */
  stop(): Promise<void>;
  /** Drops every resource in every service (moto's /moto-api/reset). */
  reset(): Promise<void>;
}

/** The environment a process needs to send its AWS SDK calls to the emulator. */
export function localAwsEnv(endpoint: string): Record<string, string> {
  return {
    AWS_ENDPOINT_URL: endpoint,
    AWS_REGION: EMULATOR_REGION,
    AWS_DEFAULT_REGION: EMULATOR_REGION,
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    AWS_ACCOUNT_ID: EMULATOR_ACCOUNT_ID,
  };
}

/** The StopExecution error prefix with which the rig closes an execution its runner ran. */
export const RIG_CLOSED_EXECUTION = 'rig-closed:';

// Where moto is kinder or looser than AWS in a way the code depends on, made as AWS is before the
// server starts (each a stand-in listed in docs/testing.md):
// - CreateTaskSet with a clientToken already used for the service returns that task set, as ECS
//   does; moto created a second one, so a create retried after a lost answer left two greens.
// - DeleteTaskSet of a missing task set is TaskSetNotFoundException, as ECS names it (moto:
//   ClientException).
// - Each DynamoDB request is atomic: moto's cancelled transactions restored the tables over
//   other requests' writes.
export const MOTO_AS_AWS = [
  'from moto.ecs import models as _ecs',
  '_create_task_set = _ecs.EC2ContainerServiceBackend.create_task_set',
  'def _idempotent_create_task_set(self, service, cluster_str, task_definition, *args, **kwargs):',
  '    token = kwargs.get("client_token")',
  '    if token:',
  '        cluster = self._get_cluster(cluster_str)',
  '        found = self.services.get(f"{cluster.name}:{service.split(\'/\')[-1]}")',
  '        for task_set in (found.task_sets if found else []):',
  '            if getattr(task_set, "client_token", None) == token:',
  '                return task_set',
  '    return _create_task_set(self, service, cluster_str, task_definition, *args, **kwargs)',
  '_ecs.EC2ContainerServiceBackend.create_task_set = _idempotent_create_task_set',
  // A task ECS started stays RUNNING until it is stopped. moto's task model reads as its last
  // state (DEPROVISIONING) at once by default, so no task would ever read as running.
  'from moto.moto_api import state_manager as _state_manager',
  '_state_manager.register_default_transition("ecs::task", {"progression": "manual", "times": 10**9})',
  // A service keeps the capacity provider strategy it was created with (moto drops it, and has
  // no launch type then, as ECS has none for such a service).
  'from moto.ecs import responses as _ecs_responses',
  '_create_service_response = _ecs_responses.EC2ContainerServiceResponse.create_service',
  'def _create_service_keeping_strategy(self):',
  '    strategy = self._get_param("capacityProviderStrategy")',
  '    result = _create_service_response(self)',
  '    if strategy:',
  '        cluster = self.ecs_backend._get_cluster(self._get_param("cluster", "default"))',
  '        created = self.ecs_backend.services[f"{cluster.name}:{self._get_param(\'serviceName\')}"]',
  '        created.capacity_provider_strategy = strategy',
  '        created.launch_type = None',
  '    return result',
  '_ecs_responses.EC2ContainerServiceResponse.create_service = _create_service_keeping_strategy',
  // ECS changes a service's capacity provider strategy only in a new deployment: UpdateService
  // refuses a new strategy without forceNewDeployment. moto takes it.
  '_update_service = _ecs.EC2ContainerServiceBackend.update_service',
  'def _strict_update_service(self, service_properties):',
  '    if service_properties.get("capacity_provider_strategy") is not None and not service_properties.get("force_new_deployment"):',
  '        from moto.ecs.exceptions import InvalidParameterException',
  '        raise InvalidParameterException("Updating the capacity provider strategy of a service requires forceNewDeployment.")',
  '    return _update_service(self, service_properties)',
  '_ecs.EC2ContainerServiceBackend.update_service = _strict_update_service',
  // A task set that is not there is TaskSetNotFoundException on ECS (moto: ClientException), the
  // error a delete retried after its answer was lost meets.
  'from moto.ecs import exceptions as _ecs_exceptions',
  'def _task_set_not_found(self):',
  '    _ecs_exceptions.ECSException.__init__(self, "TaskSetNotFoundException", "The specified task set does not exist.")',
  '_ecs_exceptions.TaskSetNotFoundException.__init__ = _task_set_not_found',
  // DynamoDB applies each request atomically. moto's threaded server does not: a transaction
  // deep-copies the tables and, when it is cancelled, puts that copy back over whatever other
  // requests wrote meanwhile (seen as concurrent storm batches losing each other's claims).
  // One DynamoDB request at a time keeps every request atomic, as on AWS.
  'import threading as _threading',
  'from moto.dynamodb import responses as _ddb_responses',
  '_ddb_lock = _threading.RLock()',
  '_ddb_call_action = _ddb_responses.DynamoHandler.call_action',
  'def _atomic_call_action(self, *args, **kwargs):',
  '    with _ddb_lock:',
  '        return _ddb_call_action(self, *args, **kwargs)',
  '_ddb_responses.DynamoHandler.call_action = _atomic_call_action',
  // moto also copies a whole table once per item of a transaction that names it (ten copies for a
  // batch of ten); one copy per table per transaction is the same backup. Requests are one at a
  // time (above), so swapping the module's copy for the length of one transaction is safe.
  'import copy as _copy',
  'from moto.dynamodb import models as _ddb_models',
  'class _TableCopiesOnce:',
  '    def __init__(self): self.tables = {}',
  '    def copy(self, obj): return _copy.copy(obj)',
  '    def deepcopy(self, obj, memo=None):',
  '        if type(obj).__name__ != "Table": return _copy.deepcopy(obj, memo)',
  '        if id(obj) not in self.tables: self.tables[id(obj)] = _copy.deepcopy(obj, memo)',
  '        return self.tables[id(obj)]',
  '_ddb_transact = _ddb_models.DynamoDBBackend.transact_write_items',
  'def _transact_copying_tables_once(self, *args, **kwargs):',
  '    _ddb_models.copy = _TableCopiesOnce()',
  '    try:',
  '        return _ddb_transact(self, *args, **kwargs)',
  '    finally:',
  '        _ddb_models.copy = _copy',
  '_ddb_models.DynamoDBBackend.transact_write_items = _transact_copying_tables_once',
  // Step Functions refuses an execution input over 256 KiB (UTF-8 bytes); moto takes any size.
  'from moto.core.exceptions import AWSError as _AWSError',
  'from moto.stepfunctions import models as _sfn_models, responses as _sfn_responses',
  'class _SfnValidation(_AWSError):',
  '    TYPE = "ValidationException"',
  '    STATUS = 400',
  '_sfn_start = _sfn_models.StepFunctionBackend.start_execution',
  'def _start_within_limits(self, state_machine_arn, name, execution_input):',
  '    if len((execution_input or "").encode("utf-8")) > 262144:',
  '        raise _SfnValidation("1 validation error detected: Value at \'input\' failed to satisfy constraint: Member must have length less than or equal to 262144")',
  '    return _sfn_start(self, state_machine_arn, name, execution_input)',
  '_sfn_models.StepFunctionBackend.start_execution = _start_within_limits',
  // moto runs no execution: the rig's runner does, then closes it here with its outcome (a
  // StopExecution whose error carries RIG_CLOSED_EXECUTION and the outcome), so a repeated name
  // meets a closed execution (ExecutionAlreadyExists, as on AWS) and nothing lists it as running.
  'import json as _json',
  '_sfn_stop = _sfn_responses.StepFunctionResponse.stop_execution',
  'def _stop_or_close(self):',
  `    error = self._get_param("error") or ""`,
  `    if not error.startswith("${RIG_CLOSED_EXECUTION}"):`,
  '        return _sfn_stop(self)',
  `    outcome = _json.loads(error[len("${RIG_CLOSED_EXECUTION}"):])`,
  '    execution = self.stepfunction_backend.describe_execution(self._get_param("executionArn"))',
  '    execution.stop()',
  '    execution.status = outcome["status"]',
  '    execution.output = outcome.get("output")',
  '    execution.error = outcome.get("error")',
  '    execution.cause = outcome.get("cause")',
  '    return _sfn_responses.ActionResult({"stopDate": execution.stop_date})',
  '_sfn_responses.StepFunctionResponse.stop_execution = _stop_or_close',
  // Speed only: moto serializes every DynamoDB attribute value member by member through the API
  // model (300 ms for a query of 300 items, a third of its CPU in the rollout suites), although
  // it stores them in their wire form already. Values without binary members (which moto's
  // serializer encodes) are written as they are: the same bytes, checked against the generic
  // path for every attribute type in tests/local/emulator.test.ts.
  'from moto.core import serialize as _serialize',
  '_json_structure = _serialize.BaseJSONSerializer._serialize_type_structure',
  'def _holds_binary(value):',
  '    for kind, inner in value.items():',
  '        if kind in ("B", "BS"): return True',
  '        if kind == "M" and isinstance(inner, dict) and any(isinstance(v, dict) and _holds_binary(v) for v in inner.values()): return True',
  '        if kind == "L" and isinstance(inner, list) and any(isinstance(v, dict) and _holds_binary(v) for v in inner): return True',
  '    return False',
  'def _attribute_value_as_stored(self, serialized, value, shape, key):',
  '    if shape.name == "AttributeValue" and key and isinstance(value, dict) and not _holds_binary(value):',
  '        self._default_serialize(serialized, value, shape, key)',
  '        return',
  '    _json_structure(self, serialized, value, shape, key)',
  '_serialize.BaseJSONSerializer._serialize_type_structure = _attribute_value_as_stored',
  // Speed only: werkzeug logs every request at INFO to stderr, which nothing reads but the tail
  // kept for a failed start (a tenth of moto's CPU in the suite, and the parent's reads).
  'import logging as _logging',
  '_logging.getLogger("werkzeug").setLevel(_logging.WARNING)',
  // Speed only: moto lists its own package directory on every request to route it (a tenth of
  // its CPU in the suite); the list cannot change while the server runs.
  'from moto import backends as _backends',
  '_moto_modules = frozenset(_backends.list_of_moto_modules())',
  '_backends.list_of_moto_modules = lambda: _moto_modules',
].join('\n');

/** moto's server with MOTO_AS_AWS applied; sys.argv[1:] are moto_server's arguments. */
const MOTO_SERVER = [MOTO_AS_AWS, 'from moto.server import main', 'main()'].join('\n');

// Python run in front of moto's own main(): it exits as soon as its stdin reaches EOF,
// which happens when the parent dies by any means (even SIGKILL), so a test emulator
// never outlives its test process. sys.argv[1:] are moto_server's arguments.
// os.read, not sys.stdin: a thread blocked in a buffered read holds its lock and makes
// interpreter shutdown on SIGTERM abort after a second.
const WATCHED_MOTO = [
  'import os, threading',
  'def _exit_with_parent():',
  '    while os.read(0, 65536): pass',
  '    os._exit(0)',
  'threading.Thread(target=_exit_with_parent, daemon=True).start()',
  MOTO_SERVER,
].join('\n');

const liveChildren = new Set<ChildProcess>();
let exitHookInstalled = false;

function killChildrenOnExit(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of liveChildren) child.kill('SIGKILL');
  });
}

/** Set by the unit project (vitest.config.ts), whose files must run without an emulator. */
export const UNIT_SUITE_VAR = 'OPS_UNIT_SUITE';

function refuseInUnitSuite(): void {
  if (process.env[UNIT_SUITE_VAR] === '1') {
    throw new Error(
      'the unit suite starts no emulator: a test file that needs one belongs to `npm test` only (take it out of tests/support/unit-files.ts)',
    );
  }
}

/** Starts a private moto server on a free loopback port and waits until it answers. */
export async function startEmulator(opts: { port?: number } = {}): Promise<Emulator> {
  refuseInUnitSuite();
  const { python } = await ensurePythonEnv();
  killChildrenOnExit();
  // A port we picked can be taken by someone else before moto binds it: pick again.
  const attempts = opts.port === undefined ? 3 : 1;
  for (let attempt = 1; ; attempt++) {
    const port = opts.port ?? (await freePort());
    const endpoint = `http://${HOST}:${port}`;
    const started = Date.now();
    const child = spawn(python, ['-c', WATCHED_MOTO, '-H', HOST, '-p', String(port)], {
      cwd: REPO_ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    liveChildren.add(child);
    const log = outputTail(child);
    const exited = new Promise<void>((resolveExit) => {
      child.once('exit', () => {
        liveChildren.delete(child);
        resolveExit();
      });
    });
    const ready = await waitUntilReady(endpoint, child, exited);
    if (ready === 'ready' && child.pid !== undefined) {
      return attachedEmulator(child, endpoint, port, exited);
    }
    await killAndWait(child, exited);
    const why =
      ready === 'exited'
        ? `exited with code ${child.exitCode}`
        : `did not answer within ${READY_TIMEOUT_MS} ms`;
    if (ready === 'exited' && /address already in use/i.test(log()) && attempt < attempts) continue;
    throw new Error(
      `moto server on ${endpoint} ${why} (after ${Date.now() - started} ms); its output ends with:\n${log()}`,
    );
  }
}

function attachedEmulator(
  child: ChildProcess,
  endpoint: string,
  port: number,
  exited: Promise<void>,
): Emulator {
  return {
    endpoint,
    port,
    pid: child.pid ?? -1,
    stop: () => killAndWait(child, exited),
    reset: () => resetEmulator(endpoint),
  };
}

/** Drops every resource the emulator at endpoint holds. */
export async function resetEmulator(endpoint: string): Promise<void> {
  const res = await httpCall('POST', `${endpoint}/moto-api/reset`, 10_000);
  if (res.status !== 200)
    throw new Error(`moto reset at ${endpoint} answered HTTP ${res.status}: ${res.body}`);
}

async function killAndWait(child: ChildProcess, exited: Promise<void>): Promise<void> {
  child.stdin?.destroy();
  if (child.exitCode === null && child.signalCode === null) {
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    await exited;
    clearTimeout(timer);
  }
  await exited;
}

/** Keeps the last few KB of a child's stdout+stderr for error messages (and drains the pipes). */
function outputTail(child: ChildProcess): () => string {
  let tail = '';
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString()).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return () => tail;
}

async function waitUntilReady(
  endpoint: string,
  child: ChildProcess | undefined,
  exited: Promise<void>,
): Promise<'ready' | 'exited' | 'timeout'> {
  let hasExited = false;
  void exited.then(() => {
    hasExited = true;
  });
  const deadline = Date.now() + READY_TIMEOUT_MS;
  const exitedMeanwhile = exited.then(() => false);
  while (Date.now() < deadline) {
    if (hasExited || (child && child.exitCode !== null)) return 'exited';
    // Something else may hold the port and never answer: stop waiting as soon as moto exits.
    if (await Promise.race([answers(endpoint), exitedMeanwhile])) return 'ready';
    await sleep(50);
  }
  return 'timeout';
}

/** True when a moto server answers on endpoint. */
async function answers(endpoint: string, timeoutMs = 2_000): Promise<boolean> {
  try {
    const res = await httpCall('GET', `${endpoint}/moto-api/`, timeoutMs);
    return res.status === 200;
  } catch {
    return false;
  }
}

/** A port that was free a moment ago on 127.0.0.1 (bind port 0, read it, release it). */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error('could not read the port of a loopback listener'));
        return;
      }
      server.close(() => resolvePort(address.port));
    });
  });
}

// node:http without keep-alive: no pooled socket outlives the emulator it talked to.
function httpCall(method: string, url: string, timeoutMs: number): Promise<{ status: number; body: string }> {
  return new Promise((resolveCall, reject) => {
    const req = request(url, { method, agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolveCall({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${url} timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------
// Daemon mode: one emulator per checkout that outlives the CLI call that started it.

export interface DaemonOptions {
  /** Where emulator.json and emulator.log live; .ops at the repo root unless given. */
  stateDir?: string;
}

interface DaemonState {
  pid: number;
  port: number;
  endpoint: string;
  startedAt: string;
}

const stateDirOf = (opts: DaemonOptions) => opts.stateDir ?? join(REPO_ROOT, '.ops');
const stateFileOf = (opts: DaemonOptions) => join(stateDirOf(opts), 'emulator.json');

async function readState(opts: DaemonOptions): Promise<DaemonState | undefined> {
  try {
    const state = JSON.parse(await readFile(stateFileOf(opts), 'utf8')) as Partial<DaemonState>;
    if (typeof state.pid !== 'number' || typeof state.endpoint !== 'string') return undefined;
    return state as DaemonState;
  } catch {
    return undefined;
  }
}

/** Running means: the state file names a live process and a moto server answers at its endpoint. */
export async function emulatorStatus(
  opts: DaemonOptions = {},
): Promise<{ running: boolean; endpoint?: string; pid?: number }> {
  const state = await readState(opts);
  if (!state || !isProcessAlive(state.pid) || !(await answers(state.endpoint))) return { running: false };
  return { running: true, endpoint: state.endpoint, pid: state.pid };
}

/** Starts the checkout's emulator in the background, or returns the one already running. */
export async function startEmulatorDaemon(
  opts: DaemonOptions = {},
): Promise<{ endpoint: string; pid: number; alreadyRunning: boolean }> {
  refuseInUnitSuite();
  const stateDir = stateDirOf(opts);
  await mkdir(stateDir, { recursive: true });
  // Two `ops emulator start` at once must not start two servers.
  return withLockDir(
    join(stateDir, 'emulator.lock'),
    async () => {
      const status = await emulatorStatus(opts);
      if (status.running && status.endpoint && status.pid) {
        return { endpoint: status.endpoint, pid: status.pid, alreadyRunning: true };
      }
      const { python } = await ensurePythonEnv();
      const logFile = join(stateDir, 'emulator.log');
      for (let attempt = 1; ; attempt++) {
        const port = await freePort();
        const endpoint = `http://${HOST}:${port}`;
        const logFd = openSync(logFile, 'a');
        const logStart = statSync(logFile).size;
        let child: ChildProcess;
        try {
          child = spawn(python, ['-c', MOTO_SERVER, '-H', HOST, '-p', String(port)], {
            cwd: REPO_ROOT,
            detached: true,
            stdio: ['ignore', logFd, logFd],
          });
        } finally {
          closeSync(logFd);
        }
        child.unref();
        const exited = new Promise<void>((r) => child.once('exit', () => r()));
        const ready = await waitUntilReady(endpoint, child, exited);
        if (ready === 'ready' && child.pid !== undefined) {
          const state: DaemonState = { pid: child.pid, port, endpoint, startedAt: new Date().toISOString() };
          const stateFile = stateFileOf(opts);
          await writeFile(`${stateFile}.tmp`, `${JSON.stringify(state, null, 2)}\n`);
          await rename(`${stateFile}.tmp`, stateFile);
          return { endpoint, pid: child.pid, alreadyRunning: false };
        }
        if (child.exitCode === null) {
          child.kill('SIGKILL');
          await exited;
        }
        const output = readLogSince(logFile, logStart).slice(-4000);
        if (/address already in use/i.test(output) && attempt < 3) continue;
        throw new Error(
          `moto server daemon on ${endpoint} did not start (${ready}); ${logFile} ends with:\n${output}`,
        );
      }
    },
    { waitMs: 60_000, staleMs: 120_000 },
  );
}

/** Stops the checkout's emulator if the state file names one; stopped is false when none ran. */
export async function stopEmulatorDaemon(opts: DaemonOptions = {}): Promise<{ stopped: boolean }> {
  const state = await readState(opts);
  if (!state) return { stopped: false };
  let stopped = false;
  // After a reboot the pid may belong to something else: only signal a moto server.
  if (isProcessAlive(state.pid) && looksLikeMoto(state.pid)) {
    process.kill(state.pid, 'SIGTERM');
    const deadline = Date.now() + STOP_GRACE_MS;
    while (isProcessAlive(state.pid) && Date.now() < deadline) await sleep(50);
    if (isProcessAlive(state.pid)) process.kill(state.pid, 'SIGKILL');
    while (isProcessAlive(state.pid)) await sleep(20);
    stopped = true;
  }
  await rm(stateFileOf(opts), { force: true });
  return { stopped };
}

function readLogSince(path: string, offset: number): string {
  try {
    return readFileSync(path).subarray(offset).toString('utf8');
  } catch {
    return '';
  }
}

function looksLikeMoto(pid: number): boolean {
  let cmdline: string;
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return true; // without /proc (not Linux) we cannot tell; trust the state file
  }
  return cmdline.includes('moto');
}
