// Runs a function's handler in this process, with the environment the template gives it,
// the way Lambda would call it. By default the TypeScript source; `bundled: true` loads the
// exact bundle that is deployed (dist/functions/<name>/index.mjs).
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Context } from 'aws-lambda';
import type { Clock } from '../functions/shared/clock.ts';
import type { DeployedStack } from './deploy.ts';
import { collectEmf } from './emf.ts';
import { actAs } from './iam-enforcement.ts';
import { REPO_ROOT } from './python-env.ts';

export type LocalHandler = (event: unknown, context: Context) => Promise<unknown>;

interface HandlerModule {
  handler: LocalHandler;
  createHandler?: (options: { clock?: Clock }) => LocalHandler;
}

export interface LoadOptions {
  bundled?: boolean;
  clock?: Clock;
  /**
   * A new instance of the handler module, as a new deployment gets new execution environments:
   * what a handler keeps at module level (its parsed environment) starts afresh. For a process
   * that deploys the stack more than once (the spot bench opens a world per scenario).
   */
  freshInstance?: boolean;
  /**
   * The stack the function belongs to: each stack's functions get their own handler modules, as
   * they get their own execution environments on AWS (a bench that deploys two stacks in one
   * process must not hand one stack's parsed environment to the other's function).
   */
  stackName?: string;
}

let instances = 0;

export async function loadHandler(name: string, opts: LoadOptions = {}): Promise<LocalHandler> {
  const file = opts.bundled
    ? join(REPO_ROOT, 'dist', 'functions', name, 'index.mjs')
    : join(REPO_ROOT, 'functions', name, 'handler.ts');
  if (!existsSync(file)) {
    throw new Error(
      opts.bundled
        ? `no bundle for ${name} at ${file}: run npm run build`
        : `no function named ${name} (${file})`,
    );
  }
  const url = pathToFileURL(file).href;
  const specifier = opts.freshInstance
    ? `${url}?instance=${++instances}`
    : opts.stackName
      ? `${url}?stack=${encodeURIComponent(opts.stackName)}`
      : url;
  const mod = (await import(specifier)) as HandlerModule;
  if (opts.clock && mod.createHandler) return mod.createHandler({ clock: opts.clock });
  return mod.handler;
}

export function lambdaContext(functionName: string, arn: string): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: arn,
    memoryLimitInMB: '512',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => 60_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** Applies the function's deployed environment (names and ARNs of the emulator's resources). */
export function applyFunctionEnvironment(stack: DeployedStack, name: string): void {
  const fn = stack.functions[name];
  if (!fn) throw new Error(`function ${name} is not in stack ${stack.stackName}`);
  for (const [k, v] of Object.entries(fn.environment)) process.env[k] = v;
  // Local runs may turn function logs down (tests, the tour's timeline): OPS_LOG_LEVEL wins.
  if (process.env.OPS_LOG_LEVEL) process.env.POWERTOOLS_LOG_LEVEL = process.env.OPS_LOG_LEVEL;
}

export interface LocalFunction {
  name: string;
  invoke(event: unknown): Promise<unknown>;
}

export async function localFunction(
  stack: DeployedStack,
  name: string,
  opts: LoadOptions = {},
): Promise<LocalFunction> {
  const fn = stack.functions[name];
  if (!fn)
    throw new Error(
      `function ${name} is not in stack ${stack.stackName} (known: ${Object.keys(stack.functions).join(', ')})`,
    );
  applyFunctionEnvironment(stack, name);
  // The functions' EMF lines go to CloudWatch Logs, not to the test's output (local/emf.ts).
  collectEmf();
  const handler = await loadHandler(name, { stackName: stack.stackName, ...opts });
  return {
    name,
    invoke: async (event) => {
      applyFunctionEnvironment(stack, name);
      // Every AWS call the handler makes is evaluated against the function's role.
      return actAs(fn.arn, () => handler(event, lambdaContext(fn.arn.split(':').pop() ?? name, fn.arn)));
    },
  };
}
