// A burst of alerts for one service, raised the way producers raise them and routed by the deployed
// alert router's event source: N distinct firing alerts inside one group window, then all of them
// resolved. The alerting test asserts on it; the benchmark reports the ratio.
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Alert, Severity } from '../functions/shared/alerts.ts';
import { awsClient } from '../functions/shared/clients.ts';
import { type ReceivedAlert, takeAlerts } from './control-plane.ts';
import type { DeployedStack } from './deploy.ts';
import { eventSources } from './event-sources.ts';

export interface BurstOptions {
  count: number;
  service?: string;
  severity?: Severity;
  /** Alerts raised between two runs of the event sources (the emulator's receive slows with depth). */
  chunk?: number;
}

export interface BurstResult {
  raised: number;
  /** What an unfiltered subscriber of the severity's topic received for the firing burst. */
  firing: ReceivedAlert[];
  /** ... and once every alert of the burst resolved. */
  resolved: ReceivedAlert[];
  /** From the first alert raised to the last one routed: the group window must cover it. */
  raiseAndRouteMs: number;
  firingMs: number;
  resolvedMs: number;
  /** Messages published per alert raised, firing and resolved together. */
  ratio: number;
}

export function burstAlert(run: string, i: number, state: Alert['state'], opts: BurstOptions): Alert {
  const service = opts.service ?? 'api';
  return {
    severity: opts.severity ?? 'warning',
    state,
    kind: 'task-unhealthy',
    service,
    cluster: 'web',
    title: `Task ${i} of ${service} failed its health checks`,
    summary: `Task ${i} of service ${service} was stopped after failing ALB health checks.`,
    resources: [`arn:aws:ecs:us-east-1:123456789012:task/web/${run}${i.toString(16).padStart(24, '0')}`],
    whatHappened: 'The target failed three consecutive health checks.',
    whatWeDid: 'Nothing: ECS replaces the task.',
    nextSteps: ['Check the task logs for the failing health check path.'],
    dedupKey: `task-unhealthy/web/${service}/${run}/${i}`,
    counts: { 'availability zone': { [`us-east-1${'abc'[i % 3]}`]: 1 } },
    at: new Date().toISOString(),
  };
}

export async function alertBurst(
  stack: DeployedStack,
  subscriberQueueUrl: string,
  opts: BurstOptions,
): Promise<BurstResult> {
  const queueUrl = stack.outputs.AlertQueueUrl;
  if (!queueUrl) throw new Error('the deployed stack has no AlertQueueUrl output');
  const sources = eventSources(stack);
  const chunk = opts.chunk ?? 100;
  const run = Date.now().toString(36);
  const sqs = awsClient(SQSClient);

  const raiseAll = async (state: Alert['state']) => {
    for (let start = 0; start < opts.count; start += chunk) {
      const alerts = Array.from({ length: Math.min(chunk, opts.count - start) }, (_, k) =>
        burstAlert(run, start + k, state, opts),
      );
      for (let i = 0; i < alerts.length; i += 10) {
        await sqs.send(
          new SendMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: alerts
              .slice(i, i + 10)
              .map((a, j) => ({ Id: String(j), MessageBody: JSON.stringify(a) })),
          }),
        );
      }
      // Route what is there; the group window stays open (its flush is a delayed message).
      await sources.run({ waitForDelayed: false });
    }
  };

  let started = Date.now();
  await raiseAll('firing');
  const raiseAndRouteMs = Date.now() - started;
  await sources.run();
  const firing = await takeAlerts(subscriberQueueUrl);
  const firingMs = Date.now() - started;

  started = Date.now();
  await raiseAll('resolved');
  await sources.run();
  const resolved = await takeAlerts(subscriberQueueUrl);
  const resolvedMs = Date.now() - started;
  return {
    raised: opts.count,
    firing,
    resolved,
    raiseAndRouteMs,
    firingMs,
    resolvedMs,
    ratio: (firing.length + resolved.length) / (2 * opts.count),
  };
}
