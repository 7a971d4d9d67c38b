// A batch of AWS events -> one alert each on the alert queue. An event that is not one of the
// documented shapes is rejected by field and, fed by SQS, retried and dead-lettered; an alert the
// queue did not take is retried the same way. Events delivered twice raise the same dedup key,
// which the router counts once.
import type { SQSClient } from '@aws-sdk/client-sqs';
import { type OperatorEvent, OperatorEventSchema } from '../../events/operator-events.ts';
import { type Alert, raiseAlert } from '../shared/alerts.ts';
import type { Log } from '../shared/logger.ts';
import { type BatchRejections, type Item, parseItem } from '../shared/sqs-batch.ts';
import {
  type AlertContext,
  asgLaunchUnsuccessfulAlert,
  awsHealthAlert,
  controlPlaneAlarmAlert,
  ecsDeploymentFailedAlert,
  ecsServiceActionAlert,
} from './alerts.ts';
import type { EventAlertsEnv } from './config.ts';

export interface EventAlertsDeps {
  sqs: SQSClient;
  env: EventAlertsEnv;
  region: string | undefined;
  log: Log;
}

export interface EventAlertsReport extends BatchRejections {
  received: number;
  raised: { id: string; kind: string; severity: string; state: string; dedupKey: string }[];
  /** Events that need no alert (an alarm going to INSUFFICIENT_DATA). */
  ignored: { id: string; why: string }[];
}

/** The alert of an event; undefined when it needs none. */
function alertFor(event: OperatorEvent, ctx: AlertContext): Alert | undefined {
  switch (event['detail-type']) {
    case 'ECS Deployment State Change':
      return ecsDeploymentFailedAlert(event, ctx);
    case 'ECS Service Action':
      return ecsServiceActionAlert(event, ctx);
    case 'AWS Health Event':
      return awsHealthAlert(event, ctx);
    case 'EC2 Instance Launch Unsuccessful':
      return asgLaunchUnsuccessfulAlert(event, ctx);
    case 'CloudWatch Alarm State Change':
      return controlPlaneAlarmAlert(event, ctx);
  }
}

export async function processEventAlertsBatch(
  deps: EventAlertsDeps,
  items: readonly Item[],
): Promise<EventAlertsReport> {
  const report: EventAlertsReport = {
    received: items.length,
    raised: [],
    ignored: [],
    invalid: [],
    failedItemIds: [],
  };
  const ctx: AlertContext = {
    region: deps.region,
    onDemandGroups: new Set(deps.env.ON_DEMAND_GROUPS.split(',').filter(Boolean)),
  };
  for (const item of items) {
    const event = parseItem(OperatorEventSchema, item, report);
    if (!event) continue;
    const alert = alertFor(event, ctx);
    if (alert === undefined) {
      report.ignored.push({ id: item.id, why: 'needs no alert' });
      continue;
    }
    try {
      await raiseAlert(deps.sqs, deps.env.ALERT_QUEUE_URL, alert);
      report.raised.push({
        id: item.id,
        kind: alert.kind,
        severity: alert.severity,
        state: alert.state,
        dedupKey: alert.dedupKey,
      });
    } catch (error) {
      deps.log.error('Alert not raised; the event is retried', { error, dedupKey: alert.dedupKey });
      report.failedItemIds.push(item.id);
    }
  }
  return report;
}
