// One alerting world per test file: a private emulator, the control plane deployed from the
// synthesized template, and subscribers on the alert topics as people and machines would have them:
// SQS queues with the filter policies of docs/alerting.md, an unfiltered queue per topic, and an HTTP endpoint
// subscribed as `https` (what Amazon Q Developer in chat subscribes with) and as `http` (the plain
// text body, as email gets it). Alerts are raised the way producers raise them.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Logger } from '@aws-lambda-powertools/logger';
import type { LogLevel } from '@aws-lambda-powertools/logger/types';
import { SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import {
  ChangeMessageVisibilityBatchCommand,
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll } from 'vitest';
import { pageOnCriticalFor, WARNING_DIGEST } from '../../events/alert-filter-policies.ts';
import { AlertRouterEnvSchema } from '../../functions/alert-router/config.ts';
import { TICK_MESSAGE } from '../../functions/alert-router/messages.ts';
import { type RouteReport, routeAlertBatch } from '../../functions/alert-router/route-batch.ts';
import { type Alert, raiseAlert, SEVERITIES, type Severity } from '../../functions/shared/alerts.ts';
import { awsClient } from '../../functions/shared/clients.ts';
import { type Clock, systemClock } from '../../functions/shared/clock.ts';
import { documentClient } from '../../functions/shared/dynamo.ts';
import { parseEnv } from '../../functions/shared/env.ts';
import { batchResponse, type Item, toItems } from '../../functions/shared/sqs-batch.ts';
import {
  deployControlPlane,
  type ReceivedAlert,
  readJournal,
  takeAlerts,
} from '../../local/control-plane.ts';
import type { DeployedStack } from '../../local/deploy.ts';
import { type EventSourcesRun, eventSources } from '../../local/event-sources.ts';
import type { FaultSettings } from '../../local/fault-proxy.ts';
import { observerClient } from '../../local/observer.ts';
import { subscribeAlertQueues } from '../../local/seed.ts';
import { drainEventSource } from '../../local/sqs-event-source.ts';
import {
  type EmulatorHandle,
  type FaultProxyHandle,
  useEmulator,
  useFaultProxy,
} from '../support/emulator.ts';

export const PAGED_SERVICE = 'api';

export interface HttpDelivery {
  protocol: 'https' | 'http';
  subject: string;
  /** The body SNS chose for this protocol (MessageStructure=json). */
  message: string;
  topicArn: string;
}

export interface AlertWorld {
  emulator: EmulatorHandle;
  stack: DeployedStack;
  /** Filter policy pageOnCriticalFor('api') on all three topics. */
  pagerQueue: string;
  /** Filter policy WARNING_DIGEST on all three topics. */
  digestQueue: string;
  /** One unfiltered queue per topic. */
  topicQueues: Record<Severity, string>;
  http: HttpDelivery[];
  /** The fault proxy, when the world was made with faults. */
  proxy?: FaultProxyHandle;
  raise(...alerts: Alert[]): Promise<void>;
  /** What the stack's schedule puts on the alert queue each minute. */
  tick(): Promise<void>;
  /** Runs the stack's event sources (the alert router) until the queues are quiet. */
  route(opts?: { clock?: Clock }): Promise<EventSourcesRun>;
  /**
   * Routes the alert queue as route() does, delayed flushes included, but calls the router's batch
   * function itself and returns its reports: invoked by SQS, the handler returns only failed items.
   */
  routeReports(opts?: { clock?: Clock }): Promise<RouteReport[]>;
  /** One batch, handed to the router's batch function in the order given (SQS keeps none). */
  routeBatch(items: Item[]): Promise<RouteReport>;
  /** Every message on the unfiltered topic queues, read and removed, each notification once. */
  published(): Promise<ReceivedAlert[]>;
  /** Every alert on `queueUrl`, read and removed, each notification once (copies counted). */
  take(queueUrl: string): Promise<ReceivedAlert[]>;
  /** What the HTTP subscribers received since the last clear(), each delivery once (copies counted). */
  deliveries(): HttpDelivery[];
  /**
   * Notifications delivered more than once so far: a Publish retried after its answer was lost
   * reaches every subscriber twice, word for word (SNS delivers at least once). None on a clean rig.
   */
  copies(): number;
  /** Drops what subscribers hold (between tests). */
  clear(): Promise<void>;
  journal(): ReturnType<typeof readJournal>;
  /** Visible and in-flight messages; with `delayed`, delayed ones too. */
  queueDepth(url: string, opts?: { delayed?: boolean }): Promise<number>;
}

let serial = 0;

/** `items` with each key once, in order. */
function distinct<T>(items: readonly T[], key: (item: T) => string): T[] {
  const seen = new Set<string>();
  return items.filter((item) => {
    const k = key(item);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** An alert with sensible defaults; every call gets its own dedup key unless given one. */
export function alert(overrides: Partial<Alert> = {}): Alert {
  serial++;
  return {
    severity: 'warning',
    state: 'firing',
    kind: 'task-unhealthy',
    service: PAGED_SERVICE,
    cluster: 'web',
    title: `Task ${serial} failed its health checks`,
    summary: `Task ${serial} of service api was stopped after failing ALB health checks.`,
    resources: [`arn:aws:ecs:us-east-1:123456789012:task/web/${serial.toString(16).padStart(32, '0')}`],
    whatHappened: 'The target failed three consecutive health checks.',
    whatWeDid: 'Nothing yet: ECS replaces the task.',
    nextSteps: ['Check the task logs for the failing health check path.'],
    dedupKey: `task-unhealthy/web/api/${serial}`,
    at: new Date().toISOString(),
    ...overrides,
  };
}

export function useAlertWorld(
  opts: { groupWindowSeconds?: number; faults?: Partial<FaultSettings> } = {},
): AlertWorld {
  const emulator = useEmulator();
  const proxy = opts.faults ? useFaultProxy() : undefined;
  const http: HttpDelivery[] = [];
  let server: Server | undefined;
  const world = { emulator, http, ...(proxy ? { proxy } : {}) } as AlertWorld;

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const envelope = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, string>;
        http.push({
          protocol: req.url === '/chat' ? 'https' : 'http',
          subject: envelope.Subject ?? '',
          message: envelope.Message ?? '',
          topicArn: envelope.TopicArn ?? '',
        });
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => server?.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as AddressInfo).port;

    world.stack = await deployControlPlane(
      'local',
      opts.groupWindowSeconds === undefined ? {} : { alertGroupWindowSeconds: opts.groupWindowSeconds },
    );
    const env = world.stack.functions['alert-router']?.environment ?? {};
    const topics = SEVERITIES.map((s) => env[`ALERT_TOPIC_${s.toUpperCase()}`] as string);
    const sns = awsClient(SNSClient);
    const subscribeQueue = async (name: string, policy: Record<string, string[]>) => {
      const url = (await awsClient(SQSClient).send(new CreateQueueCommand({ QueueName: name })))
        .QueueUrl as string;
      const arn = await queueArn(url);
      for (const topic of topics) {
        await sns.send(
          new SubscribeCommand({
            TopicArn: topic,
            Protocol: 'sqs',
            Endpoint: arn,
            Attributes: { FilterPolicy: JSON.stringify(policy) },
          }),
        );
      }
      return url;
    };
    world.pagerQueue = await subscribeQueue('pager', pageOnCriticalFor(PAGED_SERVICE));
    world.digestQueue = await subscribeQueue('warning-digest', WARNING_DIGEST);
    world.topicQueues = await subscribeAlertQueues(world.stack, '');
    for (const topic of topics) {
      // Amazon Q Developer subscribes over HTTPS; the emulator posts to whatever URL it is given.
      await sns.send(
        new SubscribeCommand({
          TopicArn: topic,
          Protocol: 'https',
          Endpoint: `http://127.0.0.1:${port}/chat`,
        }),
      );
      await sns.send(
        new SubscribeCommand({
          TopicArn: topic,
          Protocol: 'http',
          Endpoint: `http://127.0.0.1:${port}/text`,
        }),
      );
    }

    const queueUrl = world.stack.outputs.AlertQueueUrl as string;
    // The producers raise past the fault proxy: the router is under test here, and each producer's
    // own fault suite raises its alerts under faults.
    world.tick = async () => {
      // The schedule's input is this constant (tests/infra/control-plane.test.ts checks the template).
      await observerClient(SQSClient).send(
        new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(TICK_MESSAGE) }),
      );
    };
    world.raise = async (...alerts) => {
      if (alerts.length === 1) {
        await raiseAlert(observerClient(SQSClient), queueUrl, alerts[0] as Alert);
        return;
      }
      // Many producers at once: the same bodies raiseAlert sends, ten per call.
      for (let i = 0; i < alerts.length; i += 10) {
        await observerClient(SQSClient).send(
          new SendMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: alerts
              .slice(i, i + 10)
              .map((a, j) => ({ Id: String(j), MessageBody: JSON.stringify(a) })),
          }),
        );
      }
    };
    world.route = (routeOpts = {}) =>
      eventSources(world.stack, routeOpts.clock ? { clocks: { 'alert-router': routeOpts.clock } } : {}).run();
    const routerDeps = (clock: Clock = systemClock) => ({
      db: documentClient(),
      sqs: awsClient(SQSClient),
      sns: awsClient(SNSClient),
      clock,
      env: parseEnv(AlertRouterEnvSchema, world.stack.functions['alert-router']?.environment),
      // Not the function's module logger: that one takes its level when first imported, before
      // the function's environment (OPS_LOG_LEVEL) is applied.
      log: new Logger({
        serviceName: 'alert-router',
        logLevel: (process.env.OPS_LOG_LEVEL ?? 'INFO') as LogLevel,
      }),
    });
    world.routeBatch = (items) => routeAlertBatch(routerDeps(), items);
    world.routeReports = async (routeOpts = {}) => {
      const mapping = world.stack.eventSourceMappings.find((m) => m.functionName === 'alert-router');
      if (!mapping) throw new Error('the stack maps no queue to alert-router');
      const deps = routerDeps(routeOpts.clock);
      const reports: RouteReport[] = [];
      for (;;) {
        await drainEventSource(mapping, async (event) => {
          const report = await routeAlertBatch(deps, toItems(event).items);
          reports.push(report);
          return batchResponse(report.failedItemIds);
        });
        // Open group windows: their flushes are delayed messages on the same queue.
        if ((await world.queueDepth(mapping.queueUrl, { delayed: true })) === 0) return reports;
        await new Promise((r) => setTimeout(r, 200));
      }
    };
    let copies = 0;
    // Per queue, every notification taken so far: a copy that lands after its original was taken
    // is still a copy. (Each notification is unique: alerts carry their own keys and times.)
    const taken = new Map<string, Set<string>>();
    world.take = async (url) => {
      const seen = taken.get(url) ?? new Set<string>();
      taken.set(url, seen);
      const once: ReceivedAlert[] = [];
      for (const r of await takeAlerts(url)) {
        const key = JSON.stringify([r.subject, r.alert, r.attributes]);
        if (seen.has(key)) copies++;
        else once.push(r);
        seen.add(key);
      }
      return once;
    };
    world.deliveries = () =>
      distinct(http, (d) => JSON.stringify([d.protocol, d.topicArn, d.subject, d.message]));
    world.copies = () => copies + http.length - world.deliveries().length;
    world.published = async () => {
      const all: ReceivedAlert[] = [];
      for (const url of Object.values(world.topicQueues)) all.push(...(await world.take(url)));
      return all;
    };
    world.clear = async () => {
      await world.published();
      await world.take(world.pagerQueue);
      await world.take(world.digestQueue);
      copies += http.length - world.deliveries().length;
      http.length = 0;
    };
    world.journal = () => readJournal(world.stack.outputs.JournalTableName as string);
    world.queueDepth = async (url, depthOpts = {}) => {
      const out = await observerClient(SQSClient).send(
        new GetQueueAttributesCommand({
          QueueUrl: url,
          AttributeNames: [
            'ApproximateNumberOfMessages',
            'ApproximateNumberOfMessagesNotVisible',
            'ApproximateNumberOfMessagesDelayed',
          ],
        }),
      );
      return (
        Number(out.Attributes?.ApproximateNumberOfMessages ?? 0) +
        Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0) +
        (depthOpts.delayed ? Number(out.Attributes?.ApproximateNumberOfMessagesDelayed ?? 0) : 0)
      );
    };
    // Faults start after setup: the router is under test, not the deployment.
    if (proxy && opts.faults) {
      proxy.setFaults(opts.faults);
      proxy.resetStats();
    }
  });

  afterAll(async () => {
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  });
  return world;
}

async function queueArn(url: string): Promise<string> {
  const out = await awsClient(SQSClient).send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }),
  );
  return out.Attributes?.QueueArn as string;
}

/** Every message on a queue, left on it (dead-letter inspection): read, then made visible again. */
export async function peekAll(url: string): Promise<{ body: string; receiveCount: number }[]> {
  const sqs = awsClient(SQSClient);
  const out: { body: string; receiveCount: number }[] = [];
  const handles: string[] = [];
  for (;;) {
    const got = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: url,
        MaxNumberOfMessages: 10,
        VisibilityTimeout: 30,
        MessageSystemAttributeNames: ['ApproximateReceiveCount'],
      }),
    );
    const messages = got.Messages ?? [];
    if (messages.length === 0) break;
    for (const m of messages) {
      out.push({ body: m.Body ?? '', receiveCount: Number(m.Attributes?.ApproximateReceiveCount ?? 0) });
      handles.push(m.ReceiptHandle as string);
    }
  }
  for (let i = 0; i < handles.length; i += 10) {
    await sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: url,
        Entries: handles
          .slice(i, i + 10)
          .map((h, j) => ({ Id: String(j), ReceiptHandle: h, VisibilityTimeout: 0 })),
      }),
    );
  }
  return out;
}
