// Resources a control-plane-only environment does not own, referenced by name or by ARN. An ARN
// must be of the right kind and in the environment's own account and region (the control plane
// acts in one account and region); either way the name is what the grants are scoped by.

/** What a reference can point at, with the shape of its ARN's resource part. */
const KINDS = {
  cluster: { service: 'ecs', resource: /^cluster\/([^/]+)$/, what: 'an ECS cluster' },
  service: { service: 'ecs', resource: /^service\/([^/]+)\/([^/]+)$/, what: 'an ECS service' },
  capacityProvider: {
    service: 'ecs',
    resource: /^capacity-provider\/([^/]+)$/,
    what: 'an ECS capacity provider',
  },
  loadBalancer: {
    service: 'elasticloadbalancing',
    resource: /^loadbalancer\/app\/([^/]+)\/[0-9a-f]+$/,
    what: 'an Application Load Balancer',
  },
  targetGroup: {
    service: 'elasticloadbalancing',
    resource: /^targetgroup\/([^/]+)\/[0-9a-f]+$/,
    what: 'a target group',
  },
  autoScalingGroup: {
    service: 'autoscaling',
    resource: /^autoScalingGroup:[0-9a-f-]+:autoScalingGroupName\/(.+)$/,
    what: 'an Auto Scaling group',
  },
  alarm: { service: 'cloudwatch', resource: /^alarm:(.+)$/, what: 'a CloudWatch alarm' },
  /** IAM is global: its ARNs name no region. The name kept is the path and name. */
  role: { service: 'iam', resource: /^role\/((?:[\w+=,.@-]+\/)*[\w+=,.@-]+)$/, what: 'an IAM role' },
} as const;
export type ReferenceKind = keyof typeof KINDS;

const ARN = /^arn:(aws|aws-cn|aws-us-gov):([a-z0-9-]+):([a-z0-9-]*):(\d{12}|):(.+)$/;
/** Names as the services allow them (the strictest common subset is not needed: each kind's own). */
const NAMES: Record<ReferenceKind, RegExp> = {
  cluster: /^[A-Za-z0-9_-]{1,255}$/,
  service: /^[A-Za-z0-9_-]{1,255}$/,
  capacityProvider: /^[A-Za-z0-9_-]{1,255}$/,
  loadBalancer: /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?$/,
  targetGroup: /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?$/,
  autoScalingGroup: /^[^:]{1,255}$/,
  alarm: /^[^:]{1,255}$/,
  role: /^[\w+=,.@-]{1,64}$/,
};

export interface ResolvedReference {
  /** The resource's name (an ECS service's is its own name, its cluster is `parent`; a role's has its path). */
  name: string;
  parent?: string;
  /** The ARN as written, when one was. */
  arn?: string;
}

/** The name a reference stands for, or why it cannot stand for one here. */
export function resolveReference(
  kind: ReferenceKind,
  value: string,
  where: { account: string; region: string },
): ResolvedReference | { problem: string } {
  const spec = KINDS[kind];
  if (!value.startsWith('arn:')) {
    return NAMES[kind].test(value)
      ? { name: value }
      : { problem: `"${value}" is neither ${spec.what}'s name nor an ARN` };
  }
  const arn = ARN.exec(value);
  if (!arn) return { problem: `"${value}" is not an ARN` };
  const [, , service, region, account, resource] = arn as unknown as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  const match = spec.resource.exec(resource);
  if (service !== spec.service || !match) return { problem: `"${value}" is not ${spec.what}'s ARN` };
  const global = service === 'iam';
  if (global ? region !== '' : region !== where.region)
    return {
      problem: `"${value}" is in ${region || 'no region'}, not ${where.region} (the config's region)`,
    };
  if (account !== where.account)
    return {
      problem: `"${value}" is in account ${account || '(none)'}, not ${where.account} (the config's account)`,
    };
  if (kind === 'service') return { parent: match[1] as string, name: match[2] as string, arn: value };
  return { name: match[1] as string, arn: value };
}
