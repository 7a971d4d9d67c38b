// The internal Application Load Balancer in front of the services: a production and a test
// listener, and per service a blue and a green target group; access logs to the log bucket.
// Each service's traffic is routed by two handed-over rules (production: blue 100 / green 0,
// test: green), with its routing conditions and priority, that the rollout workflow rewrites;
// the listeners' own default action is a fixed 503 that no one changes, so CloudFormation and
// the rollout never write the same property.
import { Duration } from 'aws-cdk-lib';
import type * as acm from 'aws-cdk-lib/aws-certificatemanager';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { rulePriorityOf, type ServiceConfig } from '../config.ts';
import { HandedOverListenerRule } from './handed-over-listener-rule.ts';

/** Listener ports: HTTPS with a certificate (a domain is configured), plain HTTP inside the VPC otherwise. */
export function listenerPorts(tls: boolean): { production: number; test: number } {
  return tls ? { production: 443, test: 8443 } : { production: 80, test: 8080 };
}

/** Priority of the first service's handed-over rules on each listener (config: rulePriority). */
export const TRAFFIC_RULE_PRIORITY = 10;

/** One service's target groups and the rules that weigh them. */
export interface ServiceRoute {
  readonly blue: elbv2.ApplicationTargetGroup;
  readonly green: elbv2.ApplicationTargetGroup;
  readonly productionRule: HandedOverListenerRule;
  readonly testRule: HandedOverListenerRule;
  readonly deregistrationDelay: Duration;
}

/** Construct ids of a service's parts: the first service keeps the ids it had alone ("Blue"). */
export const servicePartId = (
  services: readonly Pick<ServiceConfig, 'name'>[],
  index: number,
  part: string,
) =>
  index === 0
    ? part
    : `${(services[index]?.name ?? '').replace(/(^|-)([a-z0-9])/g, (_, _dash, c: string) => c.toUpperCase())}${part}`;

/** A listener rule's conditions for a service's routing (none: every path). */
function conditionsOf(routing: ServiceConfig['routing']): Record<string, unknown>[] {
  if (!routing) return [{ Field: 'path-pattern', PathPatternConfig: { Values: ['/*'] } }];
  return [
    ...(routing.pathPatterns
      ? [{ Field: 'path-pattern', PathPatternConfig: { Values: routing.pathPatterns } }]
      : []),
    ...(routing.hostHeaders
      ? [{ Field: 'host-header', HostHeaderConfig: { Values: routing.hostHeaders } }]
      : []),
  ];
}

export interface LoadBalancerProps {
  /** Physical name: the control plane finds the load balancer of a rolled-out service by it. */
  readonly loadBalancerName: string;
  readonly vpc: ec2.IVpc;
  readonly subnets: ec2.SubnetSelection;
  readonly securityGroup: ec2.ISecurityGroup;
  readonly services: readonly ServiceConfig[];
  /** Regional certificate for HTTPS listeners; without it the listeners speak HTTP (inside the VPC only). */
  readonly certificate?: acm.ICertificate;
  readonly accessLogs: { readonly bucket: s3.IBucket; readonly prefix: string };
  readonly deployTimeCallLogs: logs.ILogGroup;
}

export class LoadBalancer extends Construct {
  readonly alb: elbv2.ApplicationLoadBalancer;
  readonly productionListener: elbv2.ApplicationListener;
  readonly testListener: elbv2.ApplicationListener;
  /** Per service (by name), in the config's order. */
  readonly routes = new Map<string, ServiceRoute>();
  readonly protocol: elbv2.ApplicationProtocol;

  constructor(scope: Construct, id: string, props: LoadBalancerProps) {
    super(scope, id);
    const tls = props.certificate !== undefined;
    this.protocol = tls ? elbv2.ApplicationProtocol.HTTPS : elbv2.ApplicationProtocol.HTTP;
    const ports = listenerPorts(tls);

    this.alb = new elbv2.ApplicationLoadBalancer(this, 'Alb', {
      loadBalancerName: props.loadBalancerName,
      vpc: props.vpc,
      vpcSubnets: props.subnets,
      internetFacing: false,
      securityGroup: props.securityGroup,
      dropInvalidHeaderFields: true,
      http2Enabled: true,
      idleTimeout: Duration.seconds(60),
    });
    this.alb.logAccessLogs(props.accessLogs.bucket, props.accessLogs.prefix);

    const listener = (listenerId: string, port: number) =>
      this.alb.addListener(listenerId, {
        port,
        protocol: this.protocol,
        // The security group already admits the VPC; "open" would add 0.0.0.0/0.
        open: false,
        ...(props.certificate
          ? { certificates: [props.certificate], sslPolicy: elbv2.SslPolicy.RECOMMENDED_TLS }
          : {}),
        defaultAction: elbv2.ListenerAction.fixedResponse(503, {
          contentType: 'text/plain',
          messageBody: 'no deployment is serving this listener',
        }),
      });
    this.productionListener = listener('Production', ports.production);
    this.testListener = listener('Test', ports.test);

    props.services.forEach((service, index) => {
      const id = (part: string) => servicePartId(props.services, index, part);
      const deregistrationDelay = Duration.seconds(service.deregistrationDelaySeconds);
      const targetGroup = (groupId: string) =>
        new elbv2.ApplicationTargetGroup(this, id(groupId), {
          vpc: props.vpc,
          // Bridge networking: targets are instances on dynamic host ports.
          targetType: elbv2.TargetType.INSTANCE,
          protocol: elbv2.ApplicationProtocol.HTTP,
          port: service.containerPort,
          deregistrationDelay,
          healthCheck: {
            path: service.healthCheck.path,
            interval: Duration.seconds(service.healthCheck.intervalSeconds),
            timeout: Duration.seconds(service.healthCheck.timeoutSeconds),
            healthyThresholdCount: service.healthCheck.healthyThresholdCount,
            unhealthyThresholdCount: service.healthCheck.unhealthyThresholdCount,
            healthyHttpCodes: '200-399',
          },
        });
      const blue = targetGroup('Blue');
      const green = targetGroup('Green');
      const rule = (ruleId: string, listener: elbv2.ApplicationListener, weights: [number, number]) =>
        new HandedOverListenerRule(this, id(ruleId), {
          listener,
          loadBalancer: this.alb,
          priority: rulePriorityOf(props.services, index),
          ...(service.routing ? { conditions: conditionsOf(service.routing) } : {}),
          initialTargets: [
            { targetGroup: blue, weight: weights[0] },
            { targetGroup: green, weight: weights[1] },
          ],
          logGroup: props.deployTimeCallLogs,
        });
      const productionRule = rule('ProductionTraffic', this.productionListener, [100, 0]);
      const testRule = rule('TestTraffic', this.testListener, [0, 100]);
      // The rules are custom resources, so CDK does not know the groups are attached: tell it
      // (metrics, and anything that waits for "attached" then waits for the rules).
      for (const group of [blue, green]) {
        group.registerListener(this.productionListener, productionRule.resource);
        group.registerListener(this.testListener, testRule.resource);
      }
      this.routes.set(service.name, { blue, green, productionRule, testRule, deregistrationDelay });
    });
  }

  /** The route of a configured service. */
  routeOf(service: string): ServiceRoute {
    const route = this.routes.get(service);
    if (!route) throw new Error(`LoadBalancer: no route for service ${service}`);
    return route;
  }
}
