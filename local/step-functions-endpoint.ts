// The rig's Step Functions API endpoint, one per process on 127.0.0.1. The task-token calls
// (SendTaskSuccess, SendTaskFailure, SendTaskHeartbeat) reach the local runner that holds the
// task, in this process or in another one on the rig (the token names its owner's port), and are
// answered with Step Functions' errors; every other call goes on to the emulator. The SDK finds it
// through AWS_ENDPOINT_URL_SFN, so functions and the CLI answer tasks with the production code.

import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readBody } from './fault-proxy.ts';
import {
  sendTaskFailure,
  sendTaskHeartbeat,
  sendTaskSuccess,
  setTaskTokenOwner,
  taskTokenOwner,
} from './workflow-runner.ts';

const HOST = '127.0.0.1';
const TARGET_PREFIX = 'AWSStepFunctions.';
const CALLBACKS = new Set(['SendTaskSuccess', 'SendTaskFailure', 'SendTaskHeartbeat']);
/** The environment variable the AWS SDK reads for Step Functions' endpoint. */
export const STEP_FUNCTIONS_ENDPOINT_VAR = 'AWS_ENDPOINT_URL_SFN';

export interface StepFunctionsEndpoint {
  endpoint: string;
  port: number;
  /** Where calls other than the task-token ones go (the emulator, or a fault proxy). */
  upstream: string;
  /** Task-token calls answered here, by operation (tests read them). */
  readonly answered: Record<string, number>;
  stop(): Promise<void>;
}

let current: StepFunctionsEndpoint | undefined;

/**
 * This process's endpoint, started on first use, with its upstream set to `upstream`; points the
 * SDK at it. Tokens minted by this process's runner from then on name it as their owner.
 */
export async function useStepFunctionsEndpoint(upstream: string): Promise<StepFunctionsEndpoint> {
  if (!current) current = await startStepFunctionsEndpoint(upstream);
  current.upstream = upstream;
  process.env[STEP_FUNCTIONS_ENDPOINT_VAR] = current.endpoint;
  setTaskTokenOwner(current.port);
  return current;
}

/** Stops this process's endpoint, if one runs, and stops pointing the SDK at it. */
export async function stopStepFunctionsEndpoint(): Promise<void> {
  const running = current;
  current = undefined;
  if (process.env[STEP_FUNCTIONS_ENDPOINT_VAR] === running?.endpoint)
    delete process.env[STEP_FUNCTIONS_ENDPOINT_VAR];
  setTaskTokenOwner(0);
  await running?.stop();
}

async function startStepFunctionsEndpoint(upstream: string): Promise<StepFunctionsEndpoint> {
  const answered: Record<string, number> = {};
  const state = { upstream };
  const server: Server = createServer((req, res) => {
    void handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) sendError(res, 500, 'InternalFailure', String(error));
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const target = String(req.headers['x-amz-target'] ?? '');
    const operation = target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : '';
    if (!CALLBACKS.has(operation)) return forward(req, body, state.upstream, res);
    let params: Record<string, unknown>;
    try {
      params = JSON.parse(body.toString('utf8') || '{}') as Record<string, unknown>;
    } catch {
      return sendError(res, 400, 'SerializationException', 'the request body is not JSON');
    }
    const token = params.taskToken;
    if (typeof token !== 'string' || token.length === 0 || token.length > 1024)
      return sendError(res, 400, 'InvalidToken', 'Invalid Token: taskToken must have 1 to 1024 characters');
    const owner = taskTokenOwner(token);
    if (owner === undefined)
      return sendError(res, 400, 'InvalidToken', `Invalid Token: ${token} is not a task token`);
    if (owner !== port) {
      // Another process on the rig holds the task; when none listens there, its run is over.
      return forward(req, body, `http://${HOST}:${owner}`, res, () =>
        sendError(res, 400, 'TaskDoesNotExist', `Task Does Not Exist: no execution holds ${token}`),
      );
    }
    try {
      answerTask(operation, token, params);
    } catch (error) {
      const name = error instanceof Error ? error.name : 'InternalFailure';
      return sendError(res, 400, name, error instanceof Error ? error.message : String(error));
    }
    answered[operation] = (answered[operation] ?? 0) + 1;
    sendJson(res, 200, {});
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, HOST, () => resolve());
  });
  // A CLI command that started it must still exit when its work is done.
  server.unref();
  const port = (server.address() as AddressInfo).port;
  return {
    endpoint: `http://${HOST}:${port}`,
    port,
    get upstream() {
      return state.upstream;
    },
    set upstream(value: string) {
      state.upstream = value;
    },
    answered,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function answerTask(operation: string, token: string, params: Record<string, unknown>): void {
  if (operation === 'SendTaskHeartbeat') {
    sendTaskHeartbeat(token);
    return;
  }
  if (operation === 'SendTaskFailure') {
    const error = optionalText(params.error, 'error', 256);
    const cause = optionalText(params.cause, 'cause', 32_768);
    sendTaskFailure(token, error, cause);
    return;
  }
  if (typeof params.output !== 'string') throw validationError('output is required and must be JSON text');
  let output: unknown;
  try {
    output = JSON.parse(params.output);
  } catch {
    const error = new Error('Invalid Output: output is not valid JSON');
    error.name = 'InvalidOutput';
    throw error;
  }
  sendTaskSuccess(token, output);
}

function optionalText(value: unknown, field: string, max: number): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length > max)
    throw validationError(`${field} must be text of at most ${max} characters`);
  return value;
}

function validationError(message: string): Error {
  const error = new Error(message);
  error.name = 'ValidationException';
  return error;
}

/** Sends the request on to `upstream` as it came and its answer back; `unreachable` if none listens. */
function forward(
  req: IncomingMessage,
  body: Buffer,
  upstream: string,
  res: ServerResponse,
  unreachable?: () => void,
): Promise<void> {
  return new Promise((resolve) => {
    const url = new URL(req.url ?? '/', upstream);
    const headers = { ...req.headers, host: url.host, 'content-length': String(body.length) };
    const out = request(url, { method: req.method, headers, agent: false }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
      answer.on('end', () => resolve());
      answer.on('error', () => resolve());
    });
    out.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNREFUSED' && unreachable) unreachable();
      else if (!res.headersSent)
        sendError(res, 502, 'InternalFailure', `upstream ${upstream}: ${error.message}`);
      else res.destroy();
      resolve();
    });
    out.end(body);
  });
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const text = JSON.stringify(value);
  res.writeHead(status, {
    'content-type': 'application/x-amz-json-1.0',
    'content-length': String(Buffer.byteLength(text)),
  });
  res.end(text);
}

function sendError(res: ServerResponse, status: number, type: string, message: string): void {
  sendJson(res, status, { __type: type, message });
}
