// One CloudWatch dashboard for the environment: every alarm's state on top, then traffic
// per target group (where a rollout's weights show), each service, the data stores.
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import type * as rds from 'aws-cdk-lib/aws-rds';
import { Construct } from 'constructs';

export interface OpsDashboardProps {
  readonly dashboardName: string;
  readonly alarms: readonly cloudwatch.IAlarm[];
  readonly targetGroups: readonly { readonly label: string; readonly group: elbv2.IApplicationTargetGroup }[];
  readonly services: readonly { readonly clusterName: string; readonly serviceName: string }[];
  readonly database: rds.IDatabaseCluster;
  readonly cacheNodeIds: readonly string[];
}

export class OpsDashboard extends Construct {
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: OpsDashboardProps) {
    super(scope, id);
    const period = Duration.minutes(1);
    const perGroup = (title: string, metric: (g: elbv2.IApplicationTargetGroup) => cloudwatch.IMetric) =>
      new cloudwatch.GraphWidget({
        title,
        width: 8,
        left: props.targetGroups.map(({ label, group }) =>
          (metric(group) as cloudwatch.Metric).with({ label, period }),
        ),
      });
    const serviceGraph = (service: OpsDashboardProps['services'][number]) => {
      const ecs = (metricName: string) =>
        new cloudwatch.Metric({
          namespace: 'AWS/ECS',
          metricName,
          dimensionsMap: { ClusterName: service.clusterName, ServiceName: service.serviceName },
          period,
        });
      return new cloudwatch.GraphWidget({
        title: `${service.serviceName}: CPU and memory`,
        width: 12,
        left: [ecs('CPUUtilization'), ecs('MemoryUtilization')],
      });
    };
    const [first, ...others] = props.services;
    if (!first) throw new Error('OpsDashboard: no service');
    // The first service beside the healthy targets; the others two to a row below.
    const otherRows: cloudwatch.IWidget[][] = [];
    for (let i = 0; i < others.length; i += 2) otherRows.push(others.slice(i, i + 2).map(serviceGraph));

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: props.dashboardName,
      defaultInterval: Duration.hours(3),
      widgets: [
        [
          new cloudwatch.AlarmStatusWidget({
            title: 'Alarms',
            alarms: [...props.alarms],
            width: 24,
            height: 6,
          }),
        ],
        [
          perGroup('Requests per target group', (g) => g.metrics.requestCount({ statistic: 'Sum' })),
          perGroup('Target 5xx', (g) =>
            g.metrics.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, { statistic: 'Sum' }),
          ),
          perGroup('Target response time p95', (g) => g.metrics.targetResponseTime({ statistic: 'p95' })),
        ],
        [
          serviceGraph(first),
          perGroup('Healthy targets', (g) => g.metrics.healthyHostCount({ statistic: 'Minimum' })),
        ],
        ...otherRows,
        [
          new cloudwatch.GraphWidget({
            title: 'Aurora',
            width: 12,
            left: [props.database.metricCPUUtilization({ period })],
            right: [props.database.metricDatabaseConnections({ period })],
          }),
          new cloudwatch.GraphWidget({
            title: 'Redis engine CPU and evictions',
            width: 12,
            left: props.cacheNodeIds.map(
              (node) =>
                new cloudwatch.Metric({
                  namespace: 'AWS/ElastiCache',
                  metricName: 'EngineCPUUtilization',
                  dimensionsMap: { CacheClusterId: node },
                  period,
                  label: node,
                }),
            ),
            right: props.cacheNodeIds.map(
              (node) =>
                new cloudwatch.Metric({
                  namespace: 'AWS/ElastiCache',
                  metricName: 'Evictions',
                  dimensionsMap: { CacheClusterId: node },
                  period,
                  statistic: 'Sum',
                  label: `${node} evictions`,
                }),
            ),
          }),
        ],
      ],
    });
  }
}
