// Percentiles: moto 5.2.5 computes no percentile statistics (GetMetricData fails with a 500 on
// `p95`). This stand-in rewrites percentile stats of GetMetricData queries into `Maximum` before
// they reach the emulator, so the data still comes from the emulator's CloudWatch. Maximum is an
// upper bound of any percentile; tests write one latency value per minute, where both agree.

import { CloudWatchClient, type MetricDataQuery } from '@aws-sdk/client-cloudwatch';
import { awsClient } from '../functions/shared/clients.ts';

const patched = new WeakSet<object>();

export function installPercentileStandIn(): void {
  const client = awsClient(CloudWatchClient);
  if (patched.has(client)) return;
  client.middlewareStack.add(
    (next) => async (args) => {
      const input = args.input as { MetricDataQueries?: MetricDataQuery[] };
      if (input.MetricDataQueries) {
        args.input = {
          ...input,
          MetricDataQueries: input.MetricDataQueries.map((q) =>
            q.MetricStat && /^p\d/.test(q.MetricStat.Stat ?? '')
              ? { ...q, MetricStat: { ...q.MetricStat, Stat: 'Maximum' } }
              : q,
          ),
        } as typeof args.input;
      }
      return next(args);
    },
    { step: 'initialize', name: 'emulatorPercentileStandIn' },
  );
  patched.add(client);
}
