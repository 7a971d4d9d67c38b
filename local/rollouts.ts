// The rollout rig on the emulator: runs the synthesized blue-green-rollout workflow (via the
// workflow runner) with operators able to answer it from this process or another one, writes
// load balancer metrics into the emulator's CloudWatch, with the stand-in for the one CloudWatch
// feature the emulator lacks (percentile statistics, percentile-stand-in.ts) installed.

import { CloudWatchClient, type MetricDatum, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import {
  CreateListenerCommand,
  CreateRuleCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { SFNClient } from '@aws-sdk/client-sfn';
import { DeleteMessageBatchCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Alert } from '../functions/shared/alerts.ts';
import { awsClient } from '../functions/shared/clients.ts';
import type { Clock } from '../functions/shared/clock.ts';
import { documentClient } from '../functions/shared/dynamo.ts';
import { operatorExecutionName } from '../functions/shared/execution-names.ts';
import {
  ALB_NAMESPACE,
  METRICS,
  targetGroupDimensions,
} from '../functions/shared/rollouts/analysis/metrics.ts';
import { ManagedServicesSchema } from '../functions/shared/rollouts/config.ts';
import { findManagedService } from '../functions/shared/rollouts/defaults.ts';
import type { OperatorDeps } from '../functions/shared/rollouts/operator.ts';
import { getRolloutRecord, type RolloutRecord } from '../functions/shared/rollouts/record.ts';
import { stepFunctionsCallbacks } from '../functions/shared/task-callbacks.ts';
import type { DeployedStack } from './deploy.ts';
import { localFunction } from './lambda-host.ts';
import { observerClient } from './observer.ts';
import { installPercentileStandIn } from './percentile-stand-in.ts';
import type { Seed } from './seed.ts';
import { type LambdaBinding, runWorkflow, type WorkflowResult } from './workflow-runner.ts';
import { deployedWorkflow, type LocalRunOptions, runDeployedWorkflow } from './workflows.ts';

export const ROLLOUT_FUNCTION = 'rollout-step';

/** The rollout functions' environment in the deployed stack (table names, alert queue). */
export function rolloutEnvironment(stack: DeployedStack): Record<string, string> {
  const fn = stack.functions[ROLLOUT_FUNCTION];
  if (!fn) throw new Error(`stack ${stack.stackName} has no ${ROLLOUT_FUNCTION} function`);
  return fn.environment;
}

// ------------------------------------------------------------------------------------------
// Answers from operators.

export function localOperatorDeps(stack: DeployedStack, clock: Clock): OperatorDeps {
  const env = rolloutEnvironment(stack);
  return {
    db: documentClient(),
    elb: awsClient(ElasticLoadBalancingV2Client),
    clock,
    env: { OPERATIONS_TABLE: env.OPERATIONS_TABLE as string, JOURNAL_TABLE: env.JOURNAL_TABLE as string },
    callbacks: stepFunctionsCallbacks(awsClient(SFNClient)),
  };
}

export interface LocalRolloutOptions {
  clock: Clock & { advance(ms: number): void };
  executionName?: string;
  /** How long gates and the rollback window wait for an answer here (default 2 s). */
  taskTokenTimeoutMs?: number;
  /** Called with the rollout's record as it changes (ops rollout --watch). */
  onRecord?: (record: RolloutRecord) => void;
  pollMs?: number;
  /**
   * Lambda functions besides the stack's, by ARN: a pre-traffic hook the input names. (The
   * emulator runs Lambda code only in Docker; the hook's handler runs in this process instead.)
   */
  lambdas?: Record<string, LambdaBinding>;
  /**
   * Called before each Lambda task of the stack's functions (as runDeployedWorkflow's option):
   * throwing from it fails the task as the function failing would.
   */
  beforeLambda?: LocalRunOptions['beforeLambda'];
}

/** rollout-<service>-<UTC time>-<random>: the service's name is cut to keep within 80 characters. */
export const newExecutionName = (service: string, now = Date.now()): string =>
  operatorExecutionName('rollout', service, now);

/** Runs the deployed blue-green-rollout workflow locally on `input`. */
export async function runRollout(
  stack: DeployedStack,
  input: Record<string, unknown>,
  opts: LocalRolloutOptions,
): Promise<WorkflowResult & { executionName: string }> {
  installPercentileStandIn();
  const service = typeof input.service === 'string' ? input.service : 'service';
  const env = rolloutEnvironment(stack);
  // The input may leave the cluster out; the first state finds it as this does.
  const cluster = typeof input.cluster === 'string' ? input.cluster : (clusterOf(env, input) ?? '');
  const executionName = opts.executionName ?? newExecutionName(service, opts.clock.now());
  let done = false;
  const watching = opts.onRecord;
  const watcher = (async () => {
    let last = '';
    // One last look after the run ended, so a watcher sees the final phase.
    for (let finished = false; watching && !finished; ) {
      finished = done;
      try {
        const record = await getRolloutRecord(
          documentClient(),
          env.OPERATIONS_TABLE as string,
          cluster,
          service,
        );
        if (record?.executionName === executionName) {
          const text = JSON.stringify(record);
          if (text !== last) {
            last = text;
            opts.onRecord?.(record);
          }
        }
      } catch {
        // Watching is best effort; the workflow's own result is what counts.
      }
      if (!finished) await new Promise((r) => setTimeout(r, opts.pollMs ?? 50));
    }
  })();
  try {
    const run = {
      clock: opts.clock,
      executionName,
      taskTokenTimeoutMs: opts.taskTokenTimeoutMs ?? 2_000,
      ...(opts.beforeLambda ? { beforeLambda: opts.beforeLambda } : {}),
    };
    const result = opts.lambdas
      ? await runWithExtraLambdas(stack, input, opts.lambdas, run)
      : await runDeployedWorkflow(stack, 'blue-green-rollout', input, run);
    return { ...result, executionName };
  } finally {
    done = true;
    await watcher;
  }
}

function clusterOf(env: Record<string, string>, input: Record<string, unknown>): string | undefined {
  try {
    return findManagedService(ManagedServicesSchema.parse(env.MANAGED_SERVICES), input).cluster;
  } catch {
    return undefined;
  }
}

/** As runDeployedWorkflow, with more Lambda bindings than the stack's functions. */
async function runWithExtraLambdas(
  stack: DeployedStack,
  input: unknown,
  extra: Record<string, LambdaBinding>,
  run: {
    clock: LocalRolloutOptions['clock'];
    executionName: string;
    taskTokenTimeoutMs: number;
    beforeLambda?: LocalRunOptions['beforeLambda'];
  },
): Promise<WorkflowResult> {
  const machine = deployedWorkflow(stack, 'blue-green-rollout');
  const lambdas: Record<string, LambdaBinding> = {};
  for (const fn of Object.values(stack.functions)) {
    const local = await localFunction(stack, fn.name, { clock: run.clock });
    lambdas[fn.arn] = async (event) => {
      await run.beforeLambda?.(fn.name, event);
      return local.invoke(event);
    };
  }
  return runWorkflow({
    definition: machine.definition,
    input,
    lambdas: { ...lambdas, ...extra },
    stateMachineName: machine.name,
    executionName: run.executionName,
    clock: run.clock,
    taskTokenTimeoutMs: run.taskTokenTimeoutMs,
  });
}

// ------------------------------------------------------------------------------------------
// The test listener, as infra/application/load-balancer.ts makes it: port 8080, a fixed 503 by default and
// one rule that forwards everything to green (blue 0 / green 100). `ops seed` has production only.

export async function addTestListener(seed: Seed): Promise<{ listenerArn: string; ruleArn: string }> {
  const elb = awsClient(ElasticLoadBalancingV2Client);
  const lb = seed.loadBalancer;
  const listener = await elb.send(
    new CreateListenerCommand({
      LoadBalancerArn: lb.arn,
      Protocol: 'HTTP',
      Port: 8080,
      DefaultActions: [
        {
          Type: 'fixed-response',
          FixedResponseConfig: {
            StatusCode: '503',
            ContentType: 'text/plain',
            MessageBody: 'no deployment is serving this listener',
          },
        },
      ],
    }),
  );
  const listenerArn = listener.Listeners?.[0]?.ListenerArn as string;
  const rule = await elb.send(
    new CreateRuleCommand({
      ListenerArn: listenerArn,
      Priority: 10,
      Conditions: [{ Field: 'path-pattern', PathPatternConfig: { Values: ['/*'] } }],
      Actions: [
        {
          Type: 'forward',
          ForwardConfig: {
            TargetGroups: [
              { TargetGroupArn: lb.blueTargetGroupArn, Weight: 0 },
              { TargetGroupArn: lb.greenTargetGroupArn, Weight: 100 },
            ],
            TargetGroupStickinessConfig: { Enabled: false },
          },
        },
      ],
    }),
  );
  return { listenerArn, ruleArn: rule.Rules?.[0]?.RuleArn as string };
}

// ------------------------------------------------------------------------------------------
// Load balancer metrics, written as the ALB would publish them (one datapoint per minute).

export interface MinuteOfTraffic {
  requests: number;
  /** Target 5xx responses (no datapoint is written for zero, as the ALB does). */
  errors: number;
  /** Every request's target response time this minute. */
  latencyMs: number;
}

/** About a thousand requests a minute, one 5xx every third minute, about 50 ms. */
export const healthyTraffic = (minute: number): MinuteOfTraffic => ({
  requests: 1000 + (minute % 7) * 13,
  errors: minute % 3 === 0 ? 1 : 0,
  latencyMs: 48 + (minute % 5),
});

export async function putTargetGroupMetrics(params: {
  loadBalancerArn: string;
  targetGroupArn: string;
  from: number;
  to: number;
  traffic: (minute: number, at: number) => MinuteOfTraffic;
}): Promise<number> {
  const dimensions = targetGroupDimensions(params.targetGroupArn, params.loadBalancerArn);
  const data: MetricDatum[] = [];
  const first = Math.floor(params.from / 60_000) * 60_000;
  for (let at = first, minute = 0; at <= params.to; at += 60_000, minute++) {
    const t = params.traffic(minute, at);
    const timestamp = new Date(at + 30_000);
    data.push({
      MetricName: METRICS.requests,
      Dimensions: dimensions,
      Timestamp: timestamp,
      Value: t.requests,
      Unit: 'Count',
    });
    if (t.errors > 0)
      data.push({
        MetricName: METRICS.errors,
        Dimensions: dimensions,
        Timestamp: timestamp,
        Value: t.errors,
        Unit: 'Count',
      });
    if (t.requests > 0) {
      // Every request of the minute took latencyMs: as a statistic set, one datum. Written as
      // Values/Counts, moto 5.2.5 expands the counts into one stored datum per request (a thousand
      // a minute per target group), which made the emulator the suite's busiest process. Every
      // statistic the emulator computes (Maximum, which p95 is rewritten into, Average, SampleCount)
      // comes out the same either way.
      const seconds = t.latencyMs / 1000;
      data.push({
        MetricName: METRICS.latency,
        Dimensions: dimensions,
        Timestamp: timestamp,
        StatisticValues: {
          SampleCount: t.requests,
          Sum: seconds * t.requests,
          Minimum: seconds,
          Maximum: seconds,
        },
        Unit: 'Seconds',
      });
    }
  }
  // The load balancer publishing its metrics: AWS, not the code under test, so past any fault proxy.
  const cloudwatch = observerClient(CloudWatchClient);
  for (let i = 0; i < data.length; i += 500) {
    await cloudwatch.send(
      new PutMetricDataCommand({ Namespace: ALB_NAMESPACE, MetricData: data.slice(i, i + 500) }),
    );
  }
  return data.length;
}

// ------------------------------------------------------------------------------------------
// Alerts as raised (the alert queue, before the router groups them).

export async function takeRaisedAlerts(
  queueUrl: string,
  opts: { collapseCopies?: boolean } = {},
): Promise<Alert[]> {
  const sqs = observerClient(SQSClient);
  const alerts: Alert[] = [];
  // Alerts are raised at least once, as the router expects: a raise retried after its answer was
  // lost sends the same body twice, and a step that Step Functions runs again after a later call
  // of it failed raises its alert again, stamped later. The router takes an alert whose dedup key
  // already stands at that severity and state as a repeat and sends nothing; with collapseCopies,
  // so does this. Clean runs stay exact.
  const standing = new Map<string, string>();
  const bodies = new Set<string>();
  for (;;) {
    const out = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 60 }),
    );
    const messages = out.Messages ?? [];
    if (messages.length === 0) break;
    for (const m of messages) {
      try {
        const body = JSON.parse(m.Body ?? '{}') as Partial<Alert>;
        const key = body.dedupKey ?? m.Body ?? '';
        const stands = `${body.severity}/${body.state}`;
        // A word-for-word copy is one whatever came between (a retried send can arrive late).
        const copy = opts.collapseCopies && (standing.get(key) === stands || bodies.has(m.Body ?? ''));
        standing.set(key, stands);
        bodies.add(m.Body ?? '');
        if (body.severity && body.kind && !copy) alerts.push(body as Alert);
      } catch {
        // Not an alert (the router's own flush messages).
      }
    }
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle as string })),
      }),
    );
  }
  return alerts;
}
