// The internal Application Load Balancer in front of the web service: a production and a
// test listener, a blue and a green target group, access logs to the log bucket. Traffic is
// routed by two handed-over rules (production: blue 100 / green 0, test: green) that the
// rollout workflow rewrites; the listeners' own default action is a fixed 503 that no one
// changes, so CloudFormation and the rollout never write the same property.
import { Duration } from 'aws-cdk-lib';
import type * as acm from 'aws-cdk-lib/aws-certificatemanager';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type { EnvironmentConfig } from '../config.ts';
import { HandedOverListenerRule } from './handed-over-listener-rule.ts';

/** Listener ports: HTTPS with a certificate (a domain is configured), plain HTTP inside the VPC otherwise. */
export function listenerPorts(tls: boolean): { production: number; test: number } {
  return tls ? { production: 443, test: 8443 } : { production: 80, test: 8080 };
}

/** Priority of the handed-over rule on each listener. */
export const TRAFFIC_RULE_PRIORITY = 10;

export interface LoadBalancerProps {
  /** Physical name: the control plane finds the load balancer of a rolled-out service by it. */
  readonly loadBalancerName: string;
  readonly vpc: ec2.IVpc;
  readonly subnets: ec2.SubnetSelection;
  readonly securityGroup: ec2.ISecurityGroup;
  readonly service: EnvironmentConfig['service'];
  /** Regional certificate for HTTPS listeners; without it the listeners speak HTTP (inside the VPC only). */
  readonly certificate?: acm.ICertificate;
  readonly accessLogs: { readonly bucket: s3.IBucket; readonly prefix: string };
  readonly deployTimeCallLogs: logs.ILogGroup;
}

export class LoadBalancer extends Construct {
  readonly alb: elbv2.ApplicationLoadBalancer;
  readonly productionListener: elbv2.ApplicationListener;
  readonly testListener: elbv2.ApplicationListener;
  readonly blue: elbv2.ApplicationTargetGroup;
  readonly green: elbv2.ApplicationTargetGroup;
  readonly productionRule: HandedOverListenerRule;
  readonly testRule: HandedOverListenerRule;
  readonly deregistrationDelay: Duration;
  readonly protocol: elbv2.ApplicationProtocol;

  constructor(scope: Construct, id: string, props: LoadBalancerProps) {
    super(scope, id);
    const { service } = props;
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

    this.deregistrationDelay = Duration.seconds(service.deregistrationDelaySeconds);
    const targetGroup = (groupId: string) =>
      new elbv2.ApplicationTargetGroup(this, groupId, {
        vpc: props.vpc,
        // Bridge networking: targets are instances on dynamic host ports.
        targetType: elbv2.TargetType.INSTANCE,
        protocol: elbv2.ApplicationProtocol.HTTP,
        port: service.containerPort,
        deregistrationDelay: this.deregistrationDelay,
        healthCheck: {
          path: service.healthCheck.path,
          interval: Duration.seconds(service.healthCheck.intervalSeconds),
          timeout: Duration.seconds(service.healthCheck.timeoutSeconds),
          healthyThresholdCount: service.healthCheck.healthyThresholdCount,
          unhealthyThresholdCount: service.healthCheck.unhealthyThresholdCount,
          healthyHttpCodes: '200-399',
        },
      });
    this.blue = targetGroup('Blue');
    this.green = targetGroup('Green');

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

    this.productionRule = new HandedOverListenerRule(this, 'ProductionTraffic', {
      listener: this.productionListener,
      loadBalancer: this.alb,
      priority: TRAFFIC_RULE_PRIORITY,
      initialTargets: [
        { targetGroup: this.blue, weight: 100 },
        { targetGroup: this.green, weight: 0 },
      ],
      logGroup: props.deployTimeCallLogs,
    });
    this.testRule = new HandedOverListenerRule(this, 'TestTraffic', {
      listener: this.testListener,
      loadBalancer: this.alb,
      priority: TRAFFIC_RULE_PRIORITY,
      initialTargets: [
        { targetGroup: this.blue, weight: 0 },
        { targetGroup: this.green, weight: 100 },
      ],
      logGroup: props.deployTimeCallLogs,
    });
    // The rules are custom resources, so CDK does not know the groups are attached: tell it (metrics,
    // and anything that waits for "attached" then waits for the rules).
    for (const group of [this.blue, this.green]) {
      group.registerListener(this.productionListener, this.productionRule.resource);
      group.registerListener(this.testListener, this.testRule.resource);
    }
  }
}
