// IAM on every call the rig's functions and state machines make. The rig runs them in this
// process; each runs "as" its role (AsyncLocalStorage), and every AWS SDK client built by
// functions/shared/clients.ts carries a middleware that maps the call to its action, resources
// and condition keys (iam-operations.ts), asks the policy evaluator (iam.ts) with the role's
// synthesized policies and the resource's own policy, and answers a denied call with AWS's
// AccessDenied response, parsed by the SDK like any other. Calls made by the test rig itself
// (setting up a world, reading it back) act as no role and are only counted.
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type AuthorizationRequest, authorize, type Decision, type Principal } from './iam.ts';
import {
  type CallPlace,
  type DeploymentFacts,
  INTEGRATIONS,
  OPERATIONS,
  type OperationKey,
} from './iam-operations.ts';
import { compressRetryDelays } from './retry-compression.ts';

/** Who is calling: a function or a state machine of a deployed stack, as its role. */
export interface Caller {
  /** The function's or state machine's ARN. */
  arn: string;
  principal: Principal;
  region: string;
}

export interface DeploymentIam {
  /** Function and state machine ARNs, each with its role. */
  callers: Record<string, Principal>;
  /** Queues and topics encrypted with a customer-managed key: resource ARN to key ARN. */
  keys: Record<string, string>;
  /** Resource policies by resource ARN: queue and topic policies, key policies. */
  resourcePolicies: Record<string, unknown>;
  region: string;
}

export interface IamStats {
  /** Calls made as a role and evaluated (allowed plus denied). */
  evaluated: number;
  allowed: number;
  denied: number;
  /** Calls the rig made as no role (setup and read-back): not evaluated, only counted. */
  rig: number;
}

/** A call made as a role that the rig cannot evaluate (an operation missing from the table). */
export class IamRigError extends Error {
  override readonly name = 'IamRigError';
  readonly isRetryable = false;
  readonly isCatchable = false;
}

/**
 * A denied call that is not an SDK request (a state machine invoking a function or starting a
 * nested execution): named as the integration's error.
 */
export class AccessDeniedError extends Error {
  constructor(
    override readonly name: string,
    message: string,
  ) {
    super(message);
  }
}

const callers = new Map<string, { principal: Principal; region: string }>();
const keys = new Map<string, string>();
const resourcePolicies = new Map<string, unknown>();
const decisions = new Map<string, Promise<Decision>>();
const stats: IamStats = { evaluated: 0, allowed: 0, denied: 0, rig: 0 };
/** Every grant exercised: `principal ARN \t action \t resource`. */
const exercised = new Set<string>();
const denials = new Set<string>();
const current = new AsyncLocalStorage<Caller>();

const facts: DeploymentFacts = { keyOf: (arn) => keys.get(arn) };

/** Makes a deployed stack's roles known to the evaluation. */
export function registerDeployment(iam: DeploymentIam): void {
  for (const [arn, principal] of Object.entries(iam.callers))
    callers.set(arn, { principal, region: iam.region });
  for (const [arn, key] of Object.entries(iam.keys)) keys.set(arn, key);
  for (const [arn, policy] of Object.entries(iam.resourcePolicies)) resourcePolicies.set(arn, policy);
  decisions.clear();
}

/** The caller registered for a function or state machine ARN. */
export function callerOf(arn: string): Caller {
  const known = callers.get(arn);
  if (!known) throw new IamRigError(`no role is known for ${arn}: deploy its stack first`);
  return { arn, ...known };
}

/** Runs `fn` as the role of the function or state machine `arn`. */
export function actAs<T>(arn: string, fn: () => Promise<T>): Promise<T> {
  return current.run(callerOf(arn), fn);
}

/** Runs `fn` as the rig itself (no role): a test's hook called from inside a workflow. */
export function asRig<T>(fn: () => Promise<T>): Promise<T> {
  return current.exit(fn);
}

export function iamStats(): IamStats {
  return { ...stats };
}

export function exercisedGrants(): string[] {
  return [...exercised].sort();
}

/** What one process (one test file) saw: written at its end, read by the least-privilege report. */
export interface IamLedgerEntry {
  label: string;
  stats: IamStats;
  /** `principal ARN \t action \t resource` of every allowed request. */
  grants: string[];
  denials: string[];
}

/** Set (by the test run) to the directory every process leaves its IAM ledger in. */
export const IAM_LEDGER_DIR_VAR = 'OPS_IAM_LEDGER_DIR';

/**
 * Writes what this process saw since the last write into `dir` (one file per write), and starts
 * counting afresh: a test file writes at its end, a CLI process the test started at its exit.
 */
export function writeIamLedger(dir: string, label: string): void {
  if (stats.evaluated === 0 && stats.rig === 0) return;
  mkdirSync(dir, { recursive: true });
  const entry: IamLedgerEntry = {
    label,
    stats: iamStats(),
    grants: exercisedGrants(),
    denials: [...denials],
  };
  writeFileSync(join(dir, `${process.pid}-${randomUUID()}.json`), JSON.stringify(entry));
  Object.assign(stats, { evaluated: 0, allowed: 0, denied: 0, rig: 0 });
  exercised.clear();
  denials.clear();
}

// Processes a test starts (`ops ...`) leave their ledger too, when they end.
const ledgerDir = process.env[IAM_LEDGER_DIR_VAR];
if (ledgerDir) process.once('exit', () => writeIamLedger(ledgerDir, process.argv.slice(2).join(' ')));

export function readIamLedger(dir: string): IamLedgerEntry[] {
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.json'));
  } catch {
    return [];
  }
  return files.map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as IamLedgerEntry);
}

export function clearIamLedger(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/**
 * Checks a request the caller makes outside the SDK (an integration of a state machine, Lambda's
 * poller acting with a function's role): throws AccessDeniedError when AWS would refuse it.
 */
export async function checkAs(
  caller: Caller,
  requests: AuthorizationRequest[],
  errorName = 'AccessDeniedException',
): Promise<void> {
  const denied = await firstDenied(caller, requests);
  if (denied) throw new AccessDeniedError(errorName, denied);
}

/** Lambda's poller reads a function's queue with the function's role: can it? */
export function checkPolling(functionArn: string, queueArn: string): Promise<void> {
  return checkAs(callerOf(functionArn), INTEGRATIONS.pollQueue(queueArn, facts), 'AccessDeniedException');
}

/** The denial message of the first request AWS would refuse, or undefined when all are allowed. */
async function firstDenied(caller: Caller, requests: AuthorizationRequest[]): Promise<string | undefined> {
  stats.evaluated++;
  for (const request of requests) {
    const decision = await decide(caller, request);
    if (decision !== 'Allowed') {
      stats.denied++;
      const message = deniedMessage(caller, request, decision);
      // Code may turn a refusal into its own failure: the log keeps every one in sight.
      process.stderr.write(`[iam] denied: ${message}\n`);
      denials.add(message);
      return message;
    }
  }
  stats.allowed++;
  for (const request of requests)
    exercised.add(`${caller.principal.arn}\t${request.action}\t${request.resource}`);
  return undefined;
}

function decide(caller: Caller, request: AuthorizationRequest): Promise<Decision> {
  const key = JSON.stringify([caller.principal.arn, request.action, request.resource, request.context ?? {}]);
  let decision = decisions.get(key);
  if (!decision) {
    decision = authorize(
      caller.principal,
      {
        ...request,
        context: {
          'aws:SecureTransport': 'true',
          'aws:PrincipalArn': caller.principal.arn,
          'aws:PrincipalAccount': caller.principal.accountId,
          'aws:RequestedRegion': caller.region,
          ...request.context,
        },
      },
      resourcePolicies.get(request.resource),
    );
    decisions.set(key, decision);
  }
  return decision;
}

function deniedMessage(caller: Caller, request: AuthorizationRequest, decision: Decision): string {
  const role = caller.principal.arn.split(':role/')[1]?.split('/').pop() ?? caller.principal.arn;
  const session = `arn:aws:sts::${caller.principal.accountId}:assumed-role/${role}/${caller.arn.split(':').pop()}`;
  const why =
    decision === 'ExplicitlyDenied'
      ? `with an explicit deny in a policy`
      : `because no identity-based policy allows the ${request.action} action`;
  return `User: ${session} is not authorized to perform: ${request.action} on resource: ${request.resource} ${why}`;
}

// ---- the SDK middleware ---------------------------------------------------------------------

/** Set on globalThis for functions/shared/clients.ts (and the bundles' copies of it) to call. */
const CLIENT_HOOK = Symbol.for('ecs-ops.rig.client-hook');

interface HookableClient {
  middlewareStack: {
    add(
      middleware: unknown,
      options: { step: string; priority: string; name: string; override?: boolean },
    ): void;
  };
}

interface MiddlewareContext {
  clientName?: string;
  commandName?: string;
}

// Installed as this module loads (the rig imports it before building any client): from then on
// every client functions/shared/clients.ts builds carries the middleware.
installClientHook();

function installClientHook(): void {
  (globalThis as Record<symbol, unknown>)[CLIENT_HOOK] = (client: HookableClient) => {
    client.middlewareStack.add(enforcingMiddleware, {
      // Innermost: after the deserializer, so a denial is parsed as AWS's own error response.
      step: 'deserialize',
      priority: 'low',
      name: 'opsRigIamEnforcement',
      override: true,
    });
    // The rig's one client hook also compresses retry pauses, as it compresses every other wait.
    compressRetryDelays(client);
  };
}

function enforcingMiddleware(
  next: (args: { input: unknown }) => Promise<unknown>,
  context: MiddlewareContext,
) {
  return async (args: { input: unknown }) => {
    const caller = current.getStore();
    if (!caller) {
      stats.rig++;
      return next(args);
    }
    const client = String(context.clientName).replace(/Client$/, '');
    const operation = String(context.commandName).replace(/Command$/, '');
    const key = `${client}.${operation}` as OperationKey;
    const rule = OPERATIONS[key];
    if (!rule)
      throw new IamRigError(
        `${key} has no IAM mapping: add it to local/iam-operations.ts (called as ${caller.arn})`,
      );
    const at: CallPlace = { region: caller.region, accountId: caller.principal.accountId };
    const denied = await firstDenied(caller, rule((args.input ?? {}) as Record<string, unknown>, at, facts));
    if (!denied) return next(args);
    return { response: accessDeniedResponse(client, denied), output: undefined };
  };
}

// AWS's refusal, per protocol: JSON services answer 400 with the error's type, query services 403
// with an XML ErrorResponse. SQS and CloudWatch speak JSON but keep their query error codes.
const QUERY_SERVICES: Record<string, { code: string; namespace: string }> = {
  SNS: { code: 'AuthorizationError', namespace: 'http://sns.amazonaws.com/doc/2010-03-31/' },
  ElasticLoadBalancingV2: {
    code: 'AccessDenied',
    namespace: 'http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/',
  },
  AutoScaling: { code: 'AccessDenied', namespace: 'http://autoscaling.amazonaws.com/doc/2011-01-01/' },
};
const QUERY_COMPATIBLE = new Set(['SQS', 'CloudWatch']);

function accessDeniedResponse(client: string, message: string) {
  const requestId = randomUUID();
  const query = QUERY_SERVICES[client];
  const text = (body: string) => new TextEncoder().encode(body);
  if (query) {
    const escaped = message.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
    return {
      statusCode: 403,
      headers: { 'content-type': 'text/xml', 'x-amzn-requestid': requestId },
      body: text(
        `<ErrorResponse xmlns="${query.namespace}"><Error><Type>Sender</Type><Code>${query.code}</Code><Message>${escaped}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
      ),
    };
  }
  const headers: Record<string, string> = {
    'content-type': 'application/x-amz-json-1.0',
    'x-amzn-requestid': requestId,
    'x-amzn-errortype': 'AccessDeniedException',
  };
  if (QUERY_COMPATIBLE.has(client)) headers['x-amzn-query-error'] = 'AccessDenied;Sender';
  return {
    statusCode: 400,
    headers,
    body: text(JSON.stringify({ __type: 'com.amazon.coral.service#AccessDeniedException', message })),
  };
}
