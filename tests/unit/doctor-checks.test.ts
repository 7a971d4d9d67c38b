// `ops doctor`'s rules on estates written out by hand: the misconfigurations the seeded-world test
// (tests/local/ops-doctor.test.ts) does not make, each found and named. Pure: no emulator.
import { describe, expect, it } from 'vitest';
import { diagnose, type Finding } from '../../cli/doctor/checks.ts';
import type { ObservedEstate } from '../../cli/doctor/estate.ts';
import { parseControlPlaneOnlyConfig } from '../../infra/control-plane-only-config.ts';

const A = 'arn:aws:elasticloadbalancing:us-east-1:123456789012';
const config = parseControlPlaneOnlyConfig({
  name: 'shop',
  mode: 'control-plane-only',
  account: '123456789012',
  region: 'us-east-1',
  logRetentionDays: 30,
  alerts: { emails: [] },
  clusters: [
    {
      cluster: 'shop',
      spot: { autoScalingGroup: 'shop-spot', capacityProvider: 'shop-spot', draining: 'managed' },
      onDemand: { autoScalingGroup: 'shop-od' },
    },
  ],
  services: [
    {
      cluster: 'shop',
      service: 'web',
      loadBalancer: 'shop-alb',
      targetGroups: { blue: 'web-blue', green: 'web-green' },
      listeners: { production: 443, test: 8443 },
      taskRoles: ['web-task'],
      taskDefinitionFamily: 'web',
    },
  ],
});

/** An estate that passes every check; each test spoils one part of a copy. */
function healthy(): ObservedEstate {
  const asg = (name: string) => ({
    arn: `arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:0:autoScalingGroupName/${name}`,
    minSize: 0,
    maxSize: 10,
    desiredCapacity: 2,
    tags: { AmazonECSManaged: '' },
    newInstancesProtectedFromScaleIn: true,
    userData: '',
  });
  const pair = [`${A}:targetgroup/web-blue/1`, `${A}:targetgroup/web-green/2`];
  const lbArn = `${A}:loadbalancer/app/shop-alb/9`;
  return {
    clusters: { shop: { capacityProviders: ['shop-spot'] } },
    capacityProviders: {
      'shop-spot': {
        autoScalingGroupArn: asg('shop-spot').arn,
        managedScaling: 'ENABLED',
        managedTerminationProtection: 'ENABLED',
        managedDraining: 'ENABLED',
      },
    },
    autoScalingGroups: { 'shop-spot': asg('shop-spot'), 'shop-od': asg('shop-od') },
    services: {
      'shop/web': {
        deploymentController: 'EXTERNAL',
        targetGroupArns: [pair[0] as string],
        taskDefinition: { family: 'web', taskRoleArn: 'arn:aws:iam::123456789012:role/web-task' },
      },
    },
    loadBalancers: {
      'shop-alb': {
        arn: lbArn,
        type: 'application',
        listeners: [
          { port: 443, arn: `${A}:listener/app/shop-alb/9/1`, routes: [{ targetGroupArns: pair }] },
          {
            port: 8443,
            arn: `${A}:listener/app/shop-alb/9/2`,
            routes: [{ targetGroupArns: [] }, { ruleArn: 'r', targetGroupArns: pair }],
          },
        ],
      },
    },
    targetGroups: {
      'web-blue': { arn: pair[0] as string, loadBalancerArns: [lbArn] },
      'web-green': { arn: pair[1] as string, loadBalancerArns: [lbArn] },
    },
    alarms: {},
    roles: { 'web-task': true },
  };
}

const failures = (findings: Finding[]) => findings.filter((f) => !f.ok).map((f) => `${f.check}: ${f.says}`);
const spoiled = (spoil: (e: ObservedEstate) => void) => {
  const estate = healthy();
  spoil(estate);
  return failures(diagnose(config, [], estate));
};

describe('ops doctor rules', () => {
  it('pass the healthy estate', () => {
    expect(failures(diagnose(config, [], healthy()))).toEqual([]);
  });

  it('name what is missing: cluster, service, load balancer, target group, listener', () => {
    expect(spoiled((e) => (e.clusters.shop = undefined))).toEqual(['capacity: cluster shop does not exist']);
    expect(spoiled((e) => (e.services['shop/web'] = undefined))).toEqual([
      'deployment controller: service web does not exist in cluster shop',
    ]);
    expect(spoiled((e) => (e.loadBalancers['shop-alb'] = undefined))).toEqual([
      'load balancing: load balancer shop-alb does not exist',
    ]);
    expect(spoiled((e) => (e.targetGroups['web-green'] = undefined))).toEqual([
      'load balancing: the green target group web-green does not exist',
    ]);
    expect(spoiled((e) => e.loadBalancers['shop-alb']?.listeners.pop())).toEqual([
      'load balancing: shop-alb has no listener on port 8443 (the test listener)',
    ]);
  });

  it('find routes that a rollout could not weigh, and a service serving from elsewhere', () => {
    expect(
      spoiled((e) => {
        const listener = e.loadBalancers['shop-alb']?.listeners[0];
        listener?.routes.push({
          ruleArn: 'second',
          targetGroupArns: [...(listener.routes[0]?.targetGroupArns ?? [])],
        });
      }),
    ).toEqual([
      'load balancing: 2 routes of the production listener (port 443) forward to the pair: a rollout would weigh one and miss the others',
    ]);
    expect(spoiled((e) => ((e.loadBalancers['shop-alb'] as { type: string }).type = 'network'))).toEqual([
      'load balancing: shop-alb is a network load balancer; rollouts weigh ALB listeners',
    ]);
    expect(
      spoiled((e) => (e.services['shop/web'] as { targetGroupArns: string[] }).targetGroupArns.splice(0)),
    ).toEqual(['load balancing: the service serves from no target group, neither blue nor green']);
  });

  it('find capacity providers over the wrong group, or with protection the group does not give', () => {
    expect(
      spoiled((e) => {
        (e.capacityProviders['shop-spot'] as { autoScalingGroupArn?: string }).autoScalingGroupArn = 'other';
        (
          e.autoScalingGroups['shop-spot'] as { newInstancesProtectedFromScaleIn: boolean }
        ).newInstancesProtectedFromScaleIn = false;
        e.autoScalingGroups['shop-od'] = undefined;
      }),
    ).toEqual([
      'capacity: capacity provider shop-spot is over other, not shop-spot',
      'capacity: capacity provider shop-spot has managed termination protection but shop-spot does not protect new instances from scale-in',
      'capacity: the on-demand Auto Scaling group shop-od does not exist',
    ]);
  });

  it('find a task definition outside the family rollouts may register in', () => {
    expect(
      spoiled((e) => ((e.services['shop/web']?.taskDefinition as { family: string }).family = 'web-v2')),
    ).toEqual([
      'permissions: its task definition is of family web-v2; rollouts may register revisions in web only',
    ]);
  });

  it('check a worker without a load balancer for existence only, whatever its controller', () => {
    const withWorker = parseControlPlaneOnlyConfig({
      ...config,
      services: [...config.services, { cluster: 'shop', service: 'worker' }],
    });
    const estate = healthy();
    estate.services['shop/worker'] = { deploymentController: 'ECS', targetGroupArns: [] };
    const worker = diagnose(withWorker, [], estate).filter((f) => f.subject === 'service shop/worker');
    expect(worker).toEqual([
      {
        subject: 'service shop/worker',
        check: 'deployment controller',
        ok: true,
        says: 'ECS: scaled and remediated only (no load balancer in the config, so no rollouts)',
      },
    ]);
    estate.services['shop/worker'] = undefined;
    expect(failures(diagnose(withWorker, [], estate))).toEqual([
      'deployment controller: service worker does not exist in cluster shop',
    ]);
  });

  it('fail a check that could not see what it judges, rather than pass it', () => {
    expect(spoiled((e) => (e.capacityProviders['shop-spot'] = undefined))).toEqual([
      'capacity: the spot capacity provider shop-spot does not exist (or is not ACTIVE)',
      'spot draining: cannot tell whether managed draining is on: capacity provider shop-spot does not exist',
    ]);
    expect(
      spoiled((e) => delete (e.services['shop/web'] as { taskDefinition?: unknown }).taskDefinition),
    ).toEqual([
      'permissions: the service runs no task definition that could be read (no primary task set): its roles and family cannot be checked',
    ]);
    const agent = parseControlPlaneOnlyConfig({
      ...config,
      clusters: [
        {
          cluster: 'shop',
          spot: { autoScalingGroup: 'shop-spot', draining: 'agent' },
          onDemand: { autoScalingGroup: 'shop-od' },
        },
      ],
    });
    const estate = healthy();
    estate.autoScalingGroups['shop-spot'] = undefined;
    expect(failures(diagnose(agent, [], estate))).toEqual([
      'capacity: the spot Auto Scaling group shop-spot does not exist',
      'spot draining: cannot tell whether the ECS agent drains spot instances: the spot group shop-spot does not exist',
    ]);
  });
});
