// A loopback reverse proxy in front of the emulator. It counts every AWS call by
// service and operation (benchmarks measure calls per scenario with it) and injects
// throttling errors, 5xx responses and latency at chosen rates, decided by a seeded
// PRNG so that a run can be repeated. A throttled or 5xx request is answered by the proxy
// and never reaches the emulator, so it changes nothing, just as a throttled AWS call.
// Ambiguous faults are the other kind: the call reaches the emulator and is applied, then
// its response is lost (a 5xx or a reset connection instead) or arrives after the SDK gave
// up on it. The caller cannot tell them from a call that did nothing.

import { randomUUID } from 'node:crypto';
import {
  Agent,
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  request,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { seededRandom } from './seeded-random.ts';

export interface FaultSettings {
  /** Share of requests answered with the protocol's throttling error, 0..1. */
  throttleRate: number;
  /** Share of requests answered with HTTP 503 ServiceUnavailable, 0..1. */
  serverErrorRate: number;
  /** Delay before a request is answered or forwarded: fixed, or uniform in [min, max]. */
  latencyMs: number | [number, number];
  /** Share of requests applied by the emulator whose response is lost (a 503 or a reset), 0..1. */
  lostResponseRate: number;
  /** Share of requests applied by the emulator whose response comes `slowResponseMs` late, 0..1. */
  slowResponseRate: number;
  /** How late a slow response comes: past the SDK's request timeout. */
  slowResponseMs: number;
  /**
   * Only requests to these services (SigV4 names: `sns`, `dynamodb`, ...) are faulted; default
   * all. One service down while the others answer, e.g. SNS unreachable for the alert router.
   */
  services?: readonly string[];
  /**
   * Only these operations ("service:Operation", e.g. `dynamodb:UpdateItem`) are faulted; default
   * all. One kind of call failing while the rest of its service answers.
   */
  operations?: readonly string[];
}

export interface FaultProxyOptions extends Partial<FaultSettings> {
  /** The emulator's endpoint, e.g. http://127.0.0.1:5000. Must be a loopback address. */
  target: string;
  /**
   * Other loopback endpoints for some services, by SigV4 name: `states` to the rig's Step
   * Functions endpoint, which answers task tokens. Their calls are counted and faulted alike.
   */
  routes?: Record<string, string>;
  /** PRNG seed; the same seed and the same request order give the same faults. */
  seed?: number;
}

export interface ProxyStats {
  /** Every AWS request received, faulted or not (moto-api calls excluded). */
  total: number;
  forwarded: number;
  throttled: number;
  serverErrors: number;
  /** Applied by the emulator, response lost on the way back. */
  lostResponses: number;
  /** Applied by the emulator, response held back past the SDK's timeout. */
  slowResponses: number;
  /** Requests received per "service:Operation", e.g. "ecs:ListContainerInstances". */
  byOperation: Record<string, number>;
  /** Requests that reached the emulator per "service:Operation" (received minus faulted). */
  forwardedByOperation: Record<string, number>;
  /**
   * Calls the code made that reached the emulator at least once, per "service:Operation": the
   * SDK's retries of one call (one `amz-sdk-invocation-id`) count once. Under ambiguous faults a
   * call can be applied twice; this still counts what the code asked for.
   */
  appliedCallsByOperation: Record<string, number>;
  /**
   * Requests the emulator refused on a condition (ConditionalCheckFailedException), per
   * "service:Operation": a lock or claim found taken, whose count follows how calls interleave.
   */
  conditionFailuresByOperation: Record<string, number>;
}

export interface FaultProxy {
  endpoint: string;
  stop(): Promise<void>;
  setFaults(partial: Partial<FaultSettings>): void;
  stats(): ProxyStats;
  resetStats(): void;
}

/** How a request is encoded, which decides how an injected error must look. */
export type AwsProtocol = 'json' | 'query' | 'ec2' | 'cbor' | 'rest';

export interface AwsOperation {
  service: string;
  operation: string;
  protocol: AwsProtocol;
}

const DEFAULT_SEED = 0x5eed;

// X-Amz-Target prefixes of the JSON services this project calls, for requests that
// carry no SigV4 credential scope to name the service.
const TARGET_PREFIX_SERVICE: Record<string, string> = {
  AmazonEC2ContainerServiceV20141113: 'ecs',
  DynamoDB_20120810: 'dynamodb',
  AmazonSQS: 'sqs',
  AWSStepFunctions: 'states',
  AWSEvents: 'events',
  GraniteServiceVersion20100801: 'monitoring',
  Logs_20140328: 'logs',
};

/** Names the AWS service, operation and protocol of a request from its headers and body. */
export function identifyOperation(
  method: string,
  url: string,
  headers: IncomingHttpHeaders,
  body: Buffer,
): AwsOperation {
  const auth = String(headers.authorization ?? '');
  const { pathname, searchParams } = new URL(url, 'http://proxy.invalid');
  const scopeService =
    /Credential=[^/,\s]+\/\d{8}\/[^/]+\/([^/]+)\/aws4_request/.exec(auth)?.[1] ??
    /^[^/]+\/\d{8}\/[^/]+\/([^/]+)\/aws4_request$/.exec(searchParams.get('X-Amz-Credential') ?? '')?.[1];

  const target = headers['x-amz-target'];
  if (typeof target === 'string' && target.includes('.')) {
    const dot = target.lastIndexOf('.');
    const prefix = target.slice(0, dot);
    const service = scopeService ?? TARGET_PREFIX_SERVICE[prefix] ?? prefix.toLowerCase();
    return { service, operation: target.slice(dot + 1), protocol: 'json' };
  }

  const cbor = /^\/service\/([^/]+)\/operation\/([^/]+)$/.exec(pathname);
  if (cbor?.[1] && cbor[2] && String(headers['smithy-protocol'] ?? '').startsWith('rpc-v2')) {
    const service = scopeService ?? TARGET_PREFIX_SERVICE[cbor[1]] ?? cbor[1].toLowerCase();
    return { service, operation: cbor[2], protocol: 'cbor' };
  }

  const contentType = String(headers['content-type'] ?? '');
  let action = searchParams.get('Action');
  if (!action && method === 'POST' && contentType.includes('application/x-www-form-urlencoded')) {
    action = new URLSearchParams(body.toString('utf8')).get('Action');
  }
  if (action) {
    const service = scopeService ?? 'unknown';
    return { service, operation: action, protocol: service === 'ec2' ? 'ec2' : 'query' };
  }

  // REST protocols (S3, Lambda, ...) name the operation only through method and path.
  return { service: scopeService ?? 'unknown', operation: `${method} ${pathname}`, protocol: 'rest' };
}

interface Fault {
  status: number;
  headers: OutgoingHttpHeaders;
  body: Buffer;
}

type FaultKind = 'throttle' | 'server' | 'lost' | 'slow';

/** The error AWS itself sends for this protocol, so the SDK parses and classifies it as for real. */
export function faultResponse(
  kind: 'throttle' | 'server',
  op: AwsOperation,
  requestContentType: string,
): Fault {
  const requestId = randomUUID();
  const throttle = kind === 'throttle';
  switch (op.protocol) {
    case 'json':
    case 'rest': {
      const type = throttle ? 'ThrottlingException' : 'ServiceUnavailable';
      const message = throttle ? 'Rate exceeded' : 'Service is unavailable, try again';
      const contentType =
        op.protocol === 'json' && requestContentType.startsWith('application/x-amz-json-')
          ? requestContentType
          : 'application/json';
      return {
        // REST clients classify by status, so the REST throttle is 429 as API Gateway-style services send.
        status: throttle ? (op.protocol === 'rest' ? 429 : 400) : 503,
        headers: { 'content-type': contentType, 'x-amzn-errortype': type, 'x-amzn-requestid': requestId },
        body: Buffer.from(JSON.stringify({ __type: type, message })),
      };
    }
    case 'cbor': {
      const type = throttle ? 'ThrottlingException' : 'ServiceUnavailable';
      const message = throttle ? 'Rate exceeded' : 'Service is unavailable, try again';
      return {
        status: throttle ? 400 : 503,
        headers: {
          'content-type': 'application/cbor',
          'smithy-protocol': 'rpc-v2-cbor',
          'x-amzn-requestid': requestId,
        },
        body: cborTextMap({ __type: type, message }),
      };
    }
    case 'query': {
      const [type, code, message] = throttle
        ? ['Sender', 'Throttling', 'Rate exceeded']
        : ['Receiver', 'ServiceUnavailable', 'Service is unavailable, try again'];
      return {
        status: throttle ? 400 : 503,
        headers: { 'content-type': 'text/xml', 'x-amzn-requestid': requestId },
        body: Buffer.from(
          `<ErrorResponse><Error><Type>${type}</Type><Code>${code}</Code><Message>${message}</Message></Error>` +
            `<RequestId>${requestId}</RequestId></ErrorResponse>`,
        ),
      };
    }
    case 'ec2': {
      // EC2 has its own error envelope and calls its throttling RequestLimitExceeded.
      const [code, message] = throttle
        ? ['RequestLimitExceeded', 'Request limit exceeded.']
        : ['Unavailable', 'The server is overloaded and cannot handle the request.'];
      return {
        status: throttle ? 400 : 503,
        headers: { 'content-type': 'text/xml;charset=UTF-8' },
        body: Buffer.from(
          `<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>${code}</Code>` +
            `<Message>${message}</Message></Error></Errors><RequestID>${requestId}</RequestID></Response>`,
        ),
      };
    }
  }
}

// Just enough CBOR (RFC 8949) for a map of short text strings: an rpc-v2-cbor error body.
function cborTextMap(entries: Record<string, string>): Buffer {
  const head = (major: number, length: number): Buffer => {
    if (length < 24) return Buffer.from([(major << 5) | length]);
    if (length < 0x100) return Buffer.from([(major << 5) | 24, length]);
    const b = Buffer.alloc(3);
    b[0] = (major << 5) | 25;
    b.writeUInt16BE(length, 1);
    return b;
  };
  const text = (s: string) => {
    const bytes = Buffer.from(s, 'utf8');
    return Buffer.concat([head(3, bytes.length), bytes]);
  };
  const pairs = Object.entries(entries);
  return Buffer.concat([head(5, pairs.length), ...pairs.flatMap(([k, v]) => [text(k), text(v)])]);
}

function isLoopbackHost(hostname: string): boolean {
  return (
    hostname === 'localhost' ||
    hostname === '[::1]' ||
    hostname === '::1' ||
    /^127(\.\d{1,3}){3}$/.test(hostname)
  );
}

function validated(settings: FaultSettings): FaultSettings {
  for (const key of ['throttleRate', 'serverErrorRate', 'lostResponseRate', 'slowResponseRate'] as const) {
    const rate = settings[key];
    if (!(rate >= 0 && rate <= 1)) throw new RangeError(`${key} must be between 0 and 1, got ${rate}`);
  }
  const total =
    settings.throttleRate + settings.serverErrorRate + settings.lostResponseRate + settings.slowResponseRate;
  if (total > 1) throw new RangeError(`the fault rates add up to ${total}, more than 1`);
  if (!(settings.slowResponseMs >= 0))
    throw new RangeError(`slowResponseMs must be >= 0, got ${settings.slowResponseMs}`);
  const latency = settings.latencyMs;
  const [min, max] = typeof latency === 'number' ? [latency, latency] : latency;
  if (!(min >= 0 && max >= min))
    throw new RangeError(`latencyMs must be >= 0 (and min <= max), got ${latency}`);
  return settings;
}

// Headers that describe one hop's connection, not the message; never copied across the proxy.
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'expect',
]);

function endToEndHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
  }
  return out;
}

/** The whole body of a request. */
export function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolveBody, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolveBody(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Starts the proxy on a free 127.0.0.1 port in front of target (a loopback emulator). */
export async function startFaultProxy(opts: FaultProxyOptions): Promise<FaultProxy> {
  const loopbackTarget = (endpoint: string): URL => {
    const url = new URL(endpoint);
    if (url.protocol !== 'http:' || !isLoopbackHost(url.hostname))
      throw new Error(`fault proxy only forwards to a loopback http:// target, got ${endpoint}`);
    return url;
  };
  const defaultTarget = loopbackTarget(opts.target);
  const routes = new Map(
    Object.entries(opts.routes ?? {}).map(([service, url]) => [service, loopbackTarget(url)]),
  );
  let settings = validated({
    throttleRate: opts.throttleRate ?? 0,
    serverErrorRate: opts.serverErrorRate ?? 0,
    latencyMs: opts.latencyMs ?? 0,
    lostResponseRate: opts.lostResponseRate ?? 0,
    slowResponseRate: opts.slowResponseRate ?? 0,
    slowResponseMs: opts.slowResponseMs ?? 1_500,
  });
  const seed = opts.seed ?? DEFAULT_SEED;
  // Separate streams: changing the latency settings must not shift which requests fail.
  const faultRandom = seededRandom(seed);
  const latencyRandom = seededRandom(seed ^ 0x9e3779b9);
  // Which lost responses are a reset connection rather than a 503: its own stream, so that
  // choosing does not shift which requests fail.
  const lostRandom = seededRandom(seed ^ 0x85ebca6b);

  const emptyStats = (): ProxyStats => ({
    total: 0,
    forwarded: 0,
    throttled: 0,
    serverErrors: 0,
    lostResponses: 0,
    slowResponses: 0,
    byOperation: {},
    forwardedByOperation: {},
    appliedCallsByOperation: {},
    conditionFailuresByOperation: {},
  });
  let stats = emptyStats();
  // Invocations already counted in appliedCallsByOperation (a request without the header is its own call).
  let appliedInvocations = new Set<string>();
  const upstreamAgent = new Agent({ keepAlive: true });

  const forward = (
    req: IncomingMessage,
    res: ServerResponse,
    body: Buffer,
    ambiguity?: { kind: 'lost' | 'slow'; op: AwsOperation },
    target: URL = defaultTarget,
    operationKey?: string,
  ) => {
    const headers = endToEndHeaders(req.headers);
    if (body.length > 0 || req.headers['content-length'] !== undefined || req.headers['transfer-encoding']) {
      headers['content-length'] = String(body.length);
    }
    const upstream = request(
      {
        protocol: target.protocol,
        hostname: target.hostname.replace(/^\[|\]$/g, ''),
        port: target.port,
        method: req.method,
        path: req.url,
        headers,
        agent: upstreamAgent,
      },
      (upRes) => {
        // The error type header is "Type" or "Type:details"; JSON services prefix it with a namespace.
        const errorType = String(upRes.headers['x-amzn-errortype'] ?? '').split(':')[0] ?? '';
        if (operationKey && errorType.endsWith('ConditionalCheckFailedException'))
          stats.conditionFailuresByOperation[operationKey] =
            (stats.conditionFailuresByOperation[operationKey] ?? 0) + 1;
        if (!ambiguity) {
          res.writeHead(upRes.statusCode ?? 502, endToEndHeaders(upRes.headers));
          upRes.pipe(res);
          upRes.on('error', () => res.destroy());
          return;
        }
        // The emulator applied the call; read its whole answer, then lose it or hold it back.
        const chunks: Buffer[] = [];
        upRes.on('data', (chunk: Buffer) => chunks.push(chunk));
        upRes.on('error', () => res.destroy());
        upRes.on('end', () => {
          if (ambiguity.kind === 'lost') {
            if (lostRandom() < 0.5) {
              res.destroy();
              return;
            }
            const fault = faultResponse('server', ambiguity.op, String(req.headers['content-type'] ?? ''));
            res.writeHead(fault.status, { ...fault.headers, 'content-length': String(fault.body.length) });
            res.end(fault.body);
            return;
          }
          const timer = setTimeout(() => {
            if (res.destroyed) return;
            const out = Buffer.concat(chunks);
            res.writeHead(upRes.statusCode ?? 502, {
              ...endToEndHeaders(upRes.headers),
              'content-length': String(out.length),
            });
            res.end(out);
          }, settings.slowResponseMs);
          res.on('close', () => clearTimeout(timer));
        });
      },
    );
    upstream.on('error', (err) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      res.writeHead(502, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ __type: 'ProxyUpstreamError', message: `${target.origin}: ${err.message}` }));
    });
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    upstream.end(body);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const body = await readBody(req);
    const url = req.url ?? '/';
    // The emulator's control API (reset, dashboard) is test plumbing, not an AWS call.
    if (url.startsWith('/moto-api/')) {
      forward(req, res, body);
      return;
    }
    const op = identifyOperation(req.method ?? 'GET', url, req.headers, body);
    stats.total++;
    const key = `${op.service}:${op.operation}`;
    stats.byOperation[key] = (stats.byOperation[key] ?? 0) + 1;

    // Decide at arrival, with one draw per request, so the fault sequence follows request order.
    const draw = faultRandom();
    const eligible =
      (settings.services === undefined || settings.services.includes(op.service)) &&
      (settings.operations === undefined || settings.operations.includes(key));
    const bounds: [FaultKind, number][] = [
      ['throttle', settings.throttleRate],
      ['server', settings.serverErrorRate],
      ['lost', settings.lostResponseRate],
      ['slow', settings.slowResponseRate],
    ];
    let kind: FaultKind | undefined;
    let below = 0;
    for (const [candidate, rate] of eligible ? bounds : []) {
      below += rate;
      if (draw < below) {
        kind = candidate;
        break;
      }
    }
    const { latencyMs } = settings;
    const delay =
      typeof latencyMs === 'number'
        ? latencyMs
        : latencyMs[0] + latencyRandom() * (latencyMs[1] - latencyMs[0]);

    if (kind === 'throttle') stats.throttled++;
    else if (kind === 'server') stats.serverErrors++;
    else {
      // Lost and slow responses were applied: they reached the emulator.
      if (kind === 'lost') stats.lostResponses++;
      if (kind === 'slow') stats.slowResponses++;
      stats.forwarded++;
      stats.forwardedByOperation[key] = (stats.forwardedByOperation[key] ?? 0) + 1;
      const invocation = req.headers['amz-sdk-invocation-id'];
      const call = typeof invocation === 'string' ? `${key} ${invocation}` : randomUUID();
      if (!appliedInvocations.has(call)) {
        appliedInvocations.add(call);
        stats.appliedCallsByOperation[key] = (stats.appliedCallsByOperation[key] ?? 0) + 1;
      }
    }

    if (delay > 0) await sleep(delay);
    if (kind === undefined || kind === 'lost' || kind === 'slow') {
      forward(req, res, body, kind ? { kind, op } : undefined, routes.get(op.service), key);
      return;
    }
    const fault = faultResponse(kind, op, String(req.headers['content-type'] ?? ''));
    res.writeHead(fault.status, { ...fault.headers, 'content-length': String(fault.body.length) });
    res.end(fault.body);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`fault proxy: ${err instanceof Error ? err.message : String(err)}`);
    });
  });
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolveListen());
  });
  const { port } = server.address() as AddressInfo;

  const closeServer = async () => {
    const closed = new Promise<void>((r) => server.close(() => r()));
    // SDK clients keep idle sockets open; without this close() would wait for them.
    server.closeAllConnections();
    upstreamAgent.destroy();
    await closed;
  };
  let stopping: Promise<void> | undefined;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    stop: () => {
      stopping ??= closeServer();
      return stopping;
    },
    setFaults: (partial) => {
      settings = validated({ ...settings, ...partial });
    },
    stats: () => ({
      ...stats,
      byOperation: { ...stats.byOperation },
      forwardedByOperation: { ...stats.forwardedByOperation },
      appliedCallsByOperation: { ...stats.appliedCallsByOperation },
      conditionFailuresByOperation: { ...stats.conditionFailuresByOperation },
    }),
    resetStats: () => {
      stats = emptyStats();
      appliedInvocations = new Set();
    },
  };
}
