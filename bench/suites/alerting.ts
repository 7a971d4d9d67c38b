// Alerting: bursts of alerts for one service inside one group window, through the deployed alert
// router (emulator, synthesized template). Reports alerts raised (firing and resolved) per message
// published, and the AWS calls per alert, measured at the fault proxy.
import { resetClients } from '../../functions/shared/clients.ts';
import { alertBurst } from '../../local/alert-burst.ts';
import { deployControlPlane } from '../../local/control-plane.ts';
import { localAwsEnv, startEmulator } from '../../local/emulator.ts';
import { startFaultProxy } from '../../local/fault-proxy.ts';
import { subscribeAlertQueues } from '../../local/seed.ts';
import { useStepFunctionsEndpoint } from '../../local/step-functions-endpoint.ts';
import type { SuiteContext, SuiteResult } from '../run.ts';

export const name = 'alerting';
export const description =
  'A burst of N alerts for one service inside one 60 s group window (30 s deployed; longer here so a loaded 2-core machine routes a burst inside it), then all resolved: alerts per message published, and AWS calls per alert.';

const WINDOW_SECONDS = 60;
const SIZES = [10, 100, 1000];
const SHADOWING_VARS = ['AWS_PROFILE', 'AWS_SESSION_TOKEN', 'AWS_MAX_ATTEMPTS'];

export async function run(ctx: SuiteContext): Promise<SuiteResult> {
  process.env.OPS_LOG_LEVEL ??= 'SILENT';
  const rows: SuiteResult['rows'] = [];
  const checks: SuiteResult['checks'] = [];
  for (const size of SIZES) {
    ctx.log(`burst of ${size}`);
    const emulator = await startEmulator();
    const proxy = await startFaultProxy({ target: emulator.endpoint });
    try {
      for (const key of SHADOWING_VARS) delete process.env[key];
      Object.assign(process.env, localAwsEnv(proxy.endpoint));
      await useStepFunctionsEndpoint(proxy.endpoint);
      resetClients();
      const stack = await deployControlPlane('local', { alertGroupWindowSeconds: WINDOW_SECONDS });
      const queues = await subscribeAlertQueues(stack, '');
      proxy.resetStats();
      const burst = await alertBurst(stack, queues.warning, { count: size });
      const calls = proxy.stats().byOperation;
      const sum = (prefix: string) =>
        Object.entries(calls)
          .filter(([op]) => op.startsWith(prefix))
          .reduce((n, [, c]) => n + c, 0);
      const messages = burst.firing.length + burst.resolved.length;
      rows.push({
        alerts: size,
        firingMessages: burst.firing.length,
        resolvedMessages: burst.resolved.length,
        // Firing and resolved alerts raised, per message published.
        alertsPerMessage: messages === 0 ? null : (2 * size) / messages,
        dynamodbCallsPerAlert: Number((sum('dynamodb:') / (2 * size)).toFixed(2)),
        snsPublishes: calls['sns:Publish'] ?? 0,
        routedInMs: burst.raiseAndRouteMs,
      });
      checks.push({
        name: `${size} alerts: one grouped message and one resolved`,
        ok: burst.firing.length === 1 && burst.resolved.length === 1,
        detail: `${burst.firing.length} firing, ${burst.resolved.length} resolved; routed in ${burst.raiseAndRouteMs} ms of a ${WINDOW_SECONDS} s window`,
      });
    } finally {
      await proxy.stop();
      await emulator.stop();
      resetClients();
    }
  }
  return {
    title: 'Alert grouping: messages per alert',
    columns: [
      { key: 'alerts', label: 'alerts (firing, then resolved)' },
      { key: 'firingMessages', label: 'firing messages' },
      { key: 'resolvedMessages', label: 'resolved messages' },
      { key: 'alertsPerMessage', label: 'alerts per message' },
      { key: 'dynamodbCallsPerAlert', label: 'DynamoDB calls per alert' },
      { key: 'snsPublishes', label: 'sns:Publish calls' },
      { key: 'routedInMs', label: 'raise + route (ms)' },
    ],
    rows,
    notes: [
      'Each alert has its own dedup key (1,000 different tasks failing health checks in one service), so nothing is deduplicated: the reduction is grouping alone.',
      'The emulator is local moto; "raise + route" must stay below the group window for one message, and is dominated by the emulator (its SQS receive slows with queue depth, which is why the burst is raised and routed in chunks of 100).',
    ],
    checks,
  };
}
