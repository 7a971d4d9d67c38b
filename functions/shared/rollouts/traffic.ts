// Listener weights between blue and green: set them, then read them back and fail if the load
// balancer does not report exactly what was asked (verify, don't assume). The route is the
// listener's default action or one of its rules, whichever forwards to the two target groups.
import {
  type Action,
  DescribeListenersCommand,
  DescribeRulesCommand,
  type ElasticLoadBalancingV2Client,
  ModifyListenerCommand,
  ModifyRuleCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import type { Topology } from '../../../events/rollout-state.ts';
import { OpsError, VerificationFailedError } from '../errors.ts';

export interface Weights {
  blue: number;
  green: number;
}

/** Someone else changed the route's weights between two of the rollout's steps. */
export class ListenerDriftError extends OpsError {
  override readonly name = 'ListenerDrift';
}

/** `…:loadbalancer/app/<name>/<id>` is named `<name>`. */
export const loadBalancerNameOf = (arn: string): string =>
  arn.split(':loadbalancer/')[1]?.split('/')[1] ?? '';

const same = (a: Weights, b: Weights) => a.blue === b.blue && a.green === b.green;

/**
 * Why the route's weights are not where the rollout left them, or undefined when they are. The
 * weights this step sets also count as expected: a retried step whose first attempt shifted
 * (and lost its answer) finds its own change.
 */
export function driftOf(current: Weights, left: Weights, next: Weights): string | undefined {
  if (same(current, left) || same(current, next)) return undefined;
  return `the route reads blue ${current.blue}% / green ${current.green}% where this rollout left blue ${left.blue}% / green ${left.green}%: someone else changed it`;
}

/** What the route forwards to blue and green right now. */
export async function readWeights(elb: ElasticLoadBalancingV2Client, topology: Topology): Promise<Weights> {
  const actions = await routeActions(elb, topology);
  return weightsOf(actions, topology);
}

export async function routeActions(elb: ElasticLoadBalancingV2Client, topology: Topology): Promise<Action[]> {
  const { route } = topology;
  if (route.kind === 'listener') {
    const out = await elb.send(new DescribeListenersCommand({ ListenerArns: [route.arn] }));
    return out.Listeners?.[0]?.DefaultActions ?? [];
  }
  return ruleActions(elb, route.arn);
}

/** A listener rule's actions. */
export async function ruleActions(elb: ElasticLoadBalancingV2Client, ruleArn: string): Promise<Action[]> {
  const out = await elb.send(new DescribeRulesCommand({ RuleArns: [ruleArn] }));
  return out.Rules?.[0]?.Actions ?? [];
}

export function weightsOf(
  actions: readonly Action[],
  topology: Pick<Topology, 'blueTargetGroupArn' | 'greenTargetGroupArn'>,
): Weights {
  const shares = sharesOf(actions, topology);
  return { blue: Math.round(shares.blue), green: Math.round(shares.green) };
}

/**
 * Blue's and green's shares of the route's traffic in percent, unrounded: an ECS canary of
 * 12.5% is 125 of 1000 weight units, not 13%.
 */
export function sharesOf(
  actions: readonly Action[],
  topology: Pick<Topology, 'blueTargetGroupArn' | 'greenTargetGroupArn'>,
): Weights {
  return {
    blue: shareOf(actions, topology.blueTargetGroupArn),
    green: shareOf(actions, topology.greenTargetGroupArn),
  };
}

/** The percentage of the forward action's traffic that goes to one target group. */
export function shareOf(actions: readonly Action[], targetGroupArn: string): number {
  const forward = actions.find((a) => a.Type === 'forward');
  const groups =
    forward?.ForwardConfig?.TargetGroups ??
    (forward?.TargetGroupArn ? [{ TargetGroupArn: forward.TargetGroupArn, Weight: 1 }] : []);
  const total = groups.reduce((sum, g) => sum + (g.Weight ?? 1), 0);
  const weight = groups
    .filter((g) => g.TargetGroupArn === targetGroupArn)
    .reduce((sum, g) => sum + (g.Weight ?? 1), 0);
  // A plain forward to one group carries no weights: it gets everything.
  return total === 0 ? 0 : (weight / total) * 100;
}

/** The route's shares right now, unrounded (see sharesOf). */
export async function readShares(elb: ElasticLoadBalancingV2Client, topology: Topology): Promise<Weights> {
  return sharesOf(await routeActions(elb, topology), topology);
}

/**
 * Sends `green` percent to green and the rest to blue with one modify call, then reads the
 * route back; throws VerificationFailed if it does not report those weights.
 */
export async function setWeights(
  elb: ElasticLoadBalancingV2Client,
  topology: Topology,
  green: number,
): Promise<Weights> {
  const wanted: Weights = { blue: 100 - green, green };
  const forward: Action = {
    Type: 'forward',
    ForwardConfig: {
      TargetGroups: [
        { TargetGroupArn: topology.blueTargetGroupArn, Weight: wanted.blue },
        { TargetGroupArn: topology.greenTargetGroupArn, Weight: wanted.green },
      ],
      ...(topology.stickiness ? { TargetGroupStickinessConfig: topology.stickiness } : {}),
    },
  };
  if (topology.route.kind === 'listener') {
    await elb.send(new ModifyListenerCommand({ ListenerArn: topology.route.arn, DefaultActions: [forward] }));
  } else {
    await elb.send(new ModifyRuleCommand({ RuleArn: topology.route.arn, Actions: [forward] }));
  }
  const after = await readWeights(elb, topology);
  if (after.blue !== wanted.blue || after.green !== wanted.green) {
    throw new VerificationFailedError(
      `${topology.route.kind} ${topology.route.arn} reads back blue ${after.blue}% / green ${after.green}% after setting blue ${wanted.blue}% / green ${wanted.green}%`,
    );
  }
  return after;
}
