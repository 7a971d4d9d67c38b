// CloudWatch alarms with stable names (ecs-ops-<env>-<what>): the remediation runbooks and
// the alerting rules match alarms by name, so a name is an interface. Each alarm notifies
// the severity topic on ALARM and on OK (the resolution), or, for a set without topics, reaches
// people through the alert router: a rule matches the set's names (events/operator-events.ts).
// Missing data never alarms: an idle target group (the green one between rollouts) reports nothing.
import { ArnFormat, Duration, type Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as rds from 'aws-cdk-lib/aws-rds';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';

export type Severity = 'critical' | 'warning';

/** ARN pattern of the alarms of this account and region whose names match `namePattern`. */
export function alarmArnPattern(stack: Stack, namePattern = '*'): string {
  return stack.formatArn({
    service: 'cloudwatch',
    resource: 'alarm',
    resourceName: namePattern,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
}

/** Thresholds in one place, each with why it is where it is. */
export const THRESHOLDS = {
  /** 5xx from the targets per minute: a handful is noise, ten a minute for three minutes is an outage. */
  target5xxPerMinute: 10,
  /** p95 target response time. */
  latencyP95Seconds: 1,
  ecsCpuPercent: 85,
  ecsMemoryPercent: 85,
  auroraCpuPercent: 80,
  /** Well below max_connections of the smallest instance class in use (r7g.large: ~1000). */
  auroraConnections: 500,
  auroraReplicaLagMs: 2000,
  redisEngineCpuPercent: 80,
} as const;

/** An alarm's name: the environment's prefix, then what it watches. */
export const alarmNameOf = (namePrefix: string, name: string): string => `${namePrefix}-${name}`;

/** The name (under the prefix) of a target group's alarm: its label is `<service>-<blue|green>`. */
export const targetGroupAlarm = (label: string, kind: '5xx' | 'unhealthy-hosts'): string =>
  `${label}-${kind}`;

/** The label of a service's blue or green target group in its alarms' names (addTargetGroup). */
export const targetGroupLabel = (service: string, color: 'blue' | 'green'): string => `${service}-${color}`;

export interface AlarmsProps {
  /** ecs-ops-<env>: prefix of every alarm name. */
  readonly namePrefix: string;
  /**
   * The topics the alarms notify, by severity. Absent: the alarms have no actions, and their state
   * changes reach people through the event-alerts rule that matches their names.
   */
  readonly topics?: Readonly<Record<Severity, sns.ITopic>>;
  /** Every alarm of the set at this severity (the alert path's own alarms all page). */
  readonly severity?: Severity;
}

export class Alarms extends Construct {
  readonly alarms: cloudwatch.Alarm[] = [];
  /** The target groups' critical alarms (5xx, unhealthy hosts): what users feel first. */
  readonly userFacing: cloudwatch.Alarm[] = [];
  private readonly props: AlarmsProps;

  constructor(scope: Construct, id: string, props: AlarmsProps) {
    super(scope, id);
    this.props = props;
  }

  /** 5xx, p95 latency and unhealthy hosts of one target group (blue or green). */
  addTargetGroup(label: string, targetGroup: elbv2.IApplicationTargetGroup): void {
    const m = targetGroup.metrics;
    const errors = this.alarm(targetGroupAlarm(label, '5xx'), 'critical', {
      metric: m.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, {
        period: Duration.minutes(1),
        statistic: 'Sum',
      }),
      threshold: THRESHOLDS.target5xxPerMinute,
      evaluationPeriods: 5,
      datapointsToAlarm: 3,
      description: `Targets of the ${label} target group answer with 5xx`,
    });
    this.alarm(`${label}-latency-p95`, 'warning', {
      metric: m.targetResponseTime({ period: Duration.minutes(1), statistic: 'p95' }),
      threshold: THRESHOLDS.latencyP95Seconds,
      evaluationPeriods: 5,
      datapointsToAlarm: 3,
      description: `p95 response time of the ${label} target group above ${THRESHOLDS.latencyP95Seconds} s`,
    });
    const unhealthy = this.alarm(targetGroupAlarm(label, 'unhealthy-hosts'), 'critical', {
      metric: m.unhealthyHostCount({ period: Duration.minutes(1), statistic: 'Maximum' }),
      threshold: 1,
      evaluationPeriods: 3,
      description: `The ${label} target group has unhealthy targets`,
    });
    this.userFacing.push(errors, unhealthy);
  }

  addEcsService(clusterName: string, serviceName: string): void {
    const metric = (metricName: string) =>
      new cloudwatch.Metric({
        namespace: 'AWS/ECS',
        metricName,
        dimensionsMap: { ClusterName: clusterName, ServiceName: serviceName },
        period: Duration.minutes(1),
        statistic: 'Average',
      });
    this.alarm(`${serviceName}-cpu`, 'warning', {
      metric: metric('CPUUtilization'),
      threshold: THRESHOLDS.ecsCpuPercent,
      evaluationPeriods: 5,
      description: `${serviceName} average CPU above ${THRESHOLDS.ecsCpuPercent}% (auto scaling is not keeping up)`,
    });
    this.alarm(`${serviceName}-memory`, 'warning', {
      metric: metric('MemoryUtilization'),
      threshold: THRESHOLDS.ecsMemoryPercent,
      evaluationPeriods: 5,
      description: `${serviceName} average memory above ${THRESHOLDS.ecsMemoryPercent}%`,
    });
  }

  addDatabase(cluster: rds.IDatabaseCluster, hasReaders: boolean): void {
    const period = Duration.minutes(1);
    this.alarm('aurora-cpu', 'warning', {
      metric: cluster.metricCPUUtilization({ period }),
      threshold: THRESHOLDS.auroraCpuPercent,
      evaluationPeriods: 5,
      description: `Aurora CPU above ${THRESHOLDS.auroraCpuPercent}%`,
    });
    this.alarm('aurora-connections', 'warning', {
      metric: cluster.metricDatabaseConnections({ period, statistic: 'Maximum' }),
      threshold: THRESHOLDS.auroraConnections,
      evaluationPeriods: 5,
      description: `More than ${THRESHOLDS.auroraConnections} database connections`,
    });
    if (hasReaders) {
      this.alarm('aurora-replica-lag', 'warning', {
        metric: cluster.metric('AuroraReplicaLagMaximum', { period, statistic: 'Maximum' }),
        threshold: THRESHOLDS.auroraReplicaLagMs,
        evaluationPeriods: 5,
        description: `Aurora replica lag above ${THRESHOLDS.auroraReplicaLagMs} ms: a failover would lose recent writes' visibility`,
      });
    }
  }

  /** Per node: ElastiCache reports engine CPU and evictions per member cluster. */
  addCache(nodeIds: readonly string[]): void {
    for (const node of nodeIds) {
      const metric = (metricName: string, statistic: string) =>
        new cloudwatch.Metric({
          namespace: 'AWS/ElastiCache',
          metricName,
          dimensionsMap: { CacheClusterId: node },
          period: Duration.minutes(5),
          statistic,
        });
      this.alarm(`${node}-engine-cpu`, 'warning', {
        metric: metric('EngineCPUUtilization', 'Average'),
        threshold: THRESHOLDS.redisEngineCpuPercent,
        evaluationPeriods: 3,
        description: `Redis engine CPU of ${node} above ${THRESHOLDS.redisEngineCpuPercent}%`,
      });
      this.alarm(`${node}-evictions`, 'warning', {
        metric: metric('Evictions', 'Sum'),
        threshold: 1,
        evaluationPeriods: 1,
        description: `Redis ${node} evicts keys: the cache is full`,
      });
    }
  }

  addTable(label: string, table: dynamodb.ITable): void {
    const period = Duration.minutes(5);
    const metric = (metricName: string) => table.metric(metricName, { period, statistic: 'Sum' });
    this.alarm(`${label}-throttles`, 'warning', {
      metric: new cloudwatch.MathExpression({
        expression: 'FILL(r, 0) + FILL(w, 0)',
        usingMetrics: { r: metric('ReadThrottleEvents'), w: metric('WriteThrottleEvents') },
        period,
        label: 'throttle events',
      }),
      threshold: 1,
      evaluationPeriods: 1,
      description: `DynamoDB throttles requests on ${label}`,
    });
  }

  /** Anything in a dead-letter queue is work that was not done: someone must look and redrive. */
  addDeadLetterQueue(label: string, queue: sqs.IQueue): void {
    this.alarm(`${label}-not-empty`, 'critical', {
      metric: queue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(1),
        statistic: 'Maximum',
      }),
      threshold: 1,
      evaluationPeriods: 1,
      description: `Messages wait in the dead-letter queue ${label}: work that failed; redrive it once the cause is fixed`,
    });
  }

  addFunction(label: string, fn: lambda.IFunction): void {
    this.alarm(`${label}-errors`, 'warning', {
      metric: fn.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
      threshold: 1,
      evaluationPeriods: 1,
      description: `The ${label} function failed`,
    });
    // A throttled invocation did no work: an event source retries it, a synchronous caller fails.
    this.alarm(`${label}-throttles`, 'warning', {
      metric: fn.metricThrottles({ period: Duration.minutes(5), statistic: 'Sum' }),
      threshold: 1,
      evaluationPeriods: 1,
      description: `Lambda throttled the ${label} function`,
    });
  }

  /** Any count of `metric` in 5 minutes (its statistic summed). */
  addAnyCount(label: string, metric: cloudwatch.IMetric, description: string, severity: Severity): void {
    this.alarm(label, severity, { metric, threshold: 1, evaluationPeriods: 1, description });
  }

  /** Messages nobody takes off a queue: its consumer is stopped, failing or far behind. */
  addQueueAge(label: string, queue: sqs.IQueue, maxAge: Duration): void {
    this.alarm(`${label}-stalled`, 'critical', {
      metric: queue.metricApproximateAgeOfOldestMessage({
        period: Duration.minutes(1),
        statistic: 'Maximum',
      }),
      threshold: maxAge.toSeconds(),
      evaluationPeriods: 3,
      description: `The oldest message of ${label} is over ${maxAge.toMinutes()} minutes old: its consumer does not keep up`,
    });
  }

  addStateMachine(label: string, stateMachine: sfn.IStateMachine): void {
    const period = Duration.minutes(5);
    this.alarm(`${label}-failed`, 'critical', {
      metric: new cloudwatch.MathExpression({
        expression: 'FILL(f, 0) + FILL(t, 0) + FILL(a, 0)',
        usingMetrics: {
          f: stateMachine.metricFailed({ period, statistic: 'Sum' }),
          t: stateMachine.metricTimedOut({ period, statistic: 'Sum' }),
          a: stateMachine.metricAborted({ period, statistic: 'Sum' }),
        },
        period,
        label: 'failed, timed out or aborted executions',
      }),
      threshold: 1,
      evaluationPeriods: 1,
      description: `An execution of ${label} failed, timed out or was aborted`,
    });
  }

  private alarm(
    name: string,
    severity: Severity,
    props: Omit<
      cloudwatch.AlarmProps,
      'alarmName' | 'comparisonOperator' | 'treatMissingData' | 'alarmDescription'
    > & {
      description: string;
    },
  ): cloudwatch.Alarm {
    const { description, ...alarmProps } = props;
    severity = this.props.severity ?? severity;
    const alarm = new cloudwatch.Alarm(this, name, {
      ...alarmProps,
      alarmName: alarmNameOf(this.props.namePrefix, name),
      alarmDescription: `[${severity}] ${description}`,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    if (this.props.topics) {
      const action = new actions.SnsAction(this.props.topics[severity]);
      alarm.addAlarmAction(action);
      alarm.addOkAction(action);
    }
    this.alarms.push(alarm);
    return alarm;
  }
}
