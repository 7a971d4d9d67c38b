// Every SQS event source mapping of the deployed stack, played locally: each mapped queue is
// drained into its function (local/sqs-event-source.ts) until all of them are quiet. A function's
// output can be another's input (spot-interruption raises alerts onto the alert queue; the alert
// router schedules delayed flush messages on its own queue), so rounds repeat until no queue has
// a message left, delayed ones included: delayed messages are waited for in real time, which is
// why local deployments compress the alert group window (local/control-plane.ts).
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { awsClient } from '../functions/shared/clients.ts';
import type { Clock } from '../functions/shared/clock.ts';
import type { DeployedStack, EventSourceMapping } from './deploy.ts';
import { type LocalFunction, localFunction } from './lambda-host.ts';
import { drainEventSource, type PollResult } from './sqs-event-source.ts';

export interface EventSourcesOptions {
  /** A clock per function name (e.g. a VirtualClock for the alert router), else `clock`, else real time. */
  clocks?: Record<string, Clock>;
  clock?: Clock;
  bundled?: boolean;
  /** Called after every invocation, with the batch and what the function returned. */
  onInvoke?: (functionName: string, event: SQSEvent, response: unknown) => void;
  /** Give up (and throw) when the queues are not quiet after this long. Default 120 s. */
  timeoutMs?: number;
  /** How often to look again while only delayed messages are left. Default 200 ms. */
  pollMs?: number;
}

export interface RunOptions {
  /**
   * false: return once no message is visible, leaving delayed ones (open group windows) for a
   * later run. Default true: wait until they are delivered too.
   */
  waitForDelayed?: boolean;
}

export interface EventSourcesRun {
  /** Per function: batches, delivered and failed messages, errors thrown by the handler. */
  byFunction: Record<string, PollResult>;
  rounds: number;
  /** Time spent waiting for delayed messages (alert group windows). */
  waitedMs: number;
}

export interface EventSources {
  mappings: EventSourceMapping[];
  /** Drains every mapped queue into its function until all are quiet. */
  run(runOpts?: RunOptions): Promise<EventSourcesRun>;
}

export function eventSources(stack: DeployedStack, opts: EventSourcesOptions = {}): EventSources {
  const functions = new Map<string, Promise<LocalFunction>>();
  const load = (name: string): Promise<LocalFunction> => {
    let fn = functions.get(name);
    if (!fn) {
      const clock = opts.clocks?.[name] ?? opts.clock;
      fn = localFunction(stack, name, {
        ...(clock ? { clock } : {}),
        ...(opts.bundled ? { bundled: true } : {}),
      });
      functions.set(name, fn);
    }
    return fn;
  };
  const mappings = stack.eventSourceMappings;

  return {
    mappings,
    async run(runOpts = {}) {
      const started = Date.now();
      const timeoutMs = opts.timeoutMs ?? 120_000;
      const byFunction: Record<string, PollResult> = {};
      let rounds = 0;
      let waitedMs = 0;
      for (;;) {
        rounds++;
        let delivered = 0;
        let waiting: number;
        try {
          for (const mapping of mappings) {
            const fn = await load(mapping.functionName);
            const result = await drainEventSource(mapping, async (event) => {
              const response = await fn.invoke(event);
              opts.onInvoke?.(mapping.functionName, event, response);
              return response;
            });
            byFunction[mapping.functionName] = merge(byFunction[mapping.functionName], result);
            delivered += result.batches;
          }
          if (delivered > 0) continue;
          waiting = await messagesStillComing(
            mappings.map((m) => m.queueUrl),
            runOpts.waitForDelayed ?? true,
          );
        } catch (error) {
          // Lambda's poller polls again after a throttled or failed SQS call; so does this one.
          if (!isRetryable(error) || Date.now() - started > timeoutMs) throw error;
          waiting = 1;
        }
        if (waiting === 0) return { byFunction, rounds, waitedMs };
        if (Date.now() - started > timeoutMs) {
          throw new Error(
            `event sources not quiet after ${timeoutMs} ms: ${waiting} message(s) still delayed or in flight`,
          );
        }
        const pause = opts.pollMs ?? 200;
        await new Promise((r) => setTimeout(r, pause));
        waitedMs += pause;
      }
    },
  };
}

function isRetryable(error: unknown): boolean {
  const e = error as { name?: string; $retryable?: unknown; $metadata?: { httpStatusCode?: number } };
  return (
    e?.$retryable !== undefined ||
    /Throttl|RequestLimitExceeded|ServiceUnavailable/.test(e?.name ?? '') ||
    (e?.$metadata?.httpStatusCode ?? 0) >= 500
  );
}

/**
 * Messages still to come over the queues: visible ones (a delayed flush that just became
 * visible), delayed ones (group windows), and ones in flight (received, not yet deleted or released).
 */
export async function messagesStillComing(
  queueUrls: readonly string[],
  countDelayed = true,
): Promise<number> {
  const sqs = awsClient(SQSClient);
  let total = 0;
  for (const queueUrl of new Set(queueUrls)) {
    const out = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: queueUrl,
        AttributeNames: [
          'ApproximateNumberOfMessages',
          'ApproximateNumberOfMessagesDelayed',
          'ApproximateNumberOfMessagesNotVisible',
        ],
      }),
    );
    total +=
      Number(out.Attributes?.ApproximateNumberOfMessages ?? 0) +
      (countDelayed ? Number(out.Attributes?.ApproximateNumberOfMessagesDelayed ?? 0) : 0) +
      Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
  }
  return total;
}

function merge(a: PollResult | undefined, b: PollResult): PollResult {
  if (!a) return { ...b, errors: [...b.errors] };
  return {
    batches: a.batches + b.batches,
    delivered: a.delivered + b.delivered,
    failed: a.failed + b.failed,
    errors: [...a.errors, ...b.errors],
  };
}

export const emptyPollResult = (): PollResult => ({ batches: 0, delivered: 0, failed: 0, errors: [] });
