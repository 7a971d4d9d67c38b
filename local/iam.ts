// IAM as AWS evaluates it, for the synthesized app: every role's identity policies, resolved to
// the ARNs CloudFormation would give them, and a real policy evaluator (@cloud-copilot/iam-simulate,
// which carries AWS's actions, resource types and condition keys) that decides a request the way
// AWS would: allowed, implicitly denied or explicitly denied. Used by the tests that prove a
// grant can work (or must not), never by the deployed code.
import type { SimulationIdentityPolicy, SingleResourceSimulationResult } from '@cloud-copilot/iam-simulate';
import { type Attrs, type CfnResource, type ResolveContext, resolveTokens } from './template.ts';

export interface AppStack {
  stackName: string;
  template: {
    Resources: Record<string, CfnResource>;
    Outputs?: Record<string, { Value: unknown; Export?: { Name: unknown } }>;
    [key: string]: unknown;
  };
  region: string;
  accountId: string;
}

export interface Principal {
  /** The role's ARN, as the caller's identity. */
  arn: string;
  accountId: string;
  policies: SimulationIdentityPolicy[];
}

export interface AuthorizationRequest {
  /** `service:Action`, e.g. `iam:PassRole`. */
  action: string;
  /** The resource ARN AWS authorizes the action on, or `*` for actions that take none. */
  resource: string;
  /** Condition keys of the request (`iam:PassedToService`, `ecs:service`, ...). */
  context?: Record<string, string | string[]>;
}

export type Decision = 'Allowed' | 'ImplicitlyDenied' | 'ExplicitlyDenied';

/** Thrown when the evaluator cannot run the request (an unknown action, a malformed ARN or policy). */
export class IamSimulationError extends Error {
  override readonly name = 'IamSimulationError';
}

/**
 * The app's stacks resolved as one deployment: each resource gets the physical name and ARN
 * CloudFormation would give it (its name property when set, `<stack>-<logicalId>` when not),
 * and Fn::ImportValue reads the other stacks' exports.
 */
export class ResolvedApp {
  private readonly contexts = new Map<string, ResolveContext>();

  constructor(readonly stacks: readonly AppStack[]) {
    const imports: Record<string, string> = {};
    for (const stack of stacks) {
      const resources: Record<string, Attrs> = {};
      for (const [id, r] of Object.entries(stack.template.Resources))
        resources[id] = plannedAttrs(stack, id, r.Type, r.Properties ?? {});
      this.contexts.set(stack.stackName, {
        resources,
        region: stack.region,
        accountId: stack.accountId,
        partition: 'aws',
        stackName: stack.stackName,
        urlSuffix: 'amazonaws.com',
        imports,
      });
    }
    // Exports resolve in their own stack; an export built from another import waits a pass.
    let pending = stacks.flatMap((stack) =>
      Object.values(stack.template.Outputs ?? {})
        .filter((o) => o.Export)
        .map((o) => ({ stack, output: o })),
    );
    while (pending.length > 0) {
      const next = pending.filter(({ stack, output }) => {
        try {
          const ctx = this.context(stack.stackName);
          imports[String(resolveTokens(output.Export?.Name, ctx))] = String(resolveTokens(output.Value, ctx));
          return false;
        } catch {
          return true;
        }
      });
      if (next.length === pending.length) break;
      pending = next;
    }
  }

  context(stackName: string): ResolveContext {
    const ctx = this.contexts.get(stackName);
    if (!ctx) throw new Error(`no stack ${stackName} in the app (${[...this.contexts.keys()].join(', ')})`);
    return ctx;
  }

  stack(stackName: string): AppStack {
    const found = this.stacks.find((s) => s.stackName === stackName);
    if (!found) throw new Error(`no stack ${stackName} in the app`);
    return found;
  }

  /** The ARN a resource of a stack resolves to (its Arn attribute, or its Ref when that is one). */
  arnOf(stackName: string, logicalId: string): string {
    const attrs = this.context(stackName).resources[logicalId];
    if (!attrs) throw new Error(`no resource ${logicalId} in ${stackName}`);
    return attrs.Arn ?? attrs.ref;
  }

  /**
   * The role `logicalId` (a role, or the function or state machine whose role it is) with every
   * identity policy attached to it: inline policies, and AWS::IAM::Policy and
   * AWS::IAM::ManagedPolicy resources that name it.
   */
  principal(stackName: string, logicalId: string): Principal {
    const stack = this.stack(stackName);
    return principalIn(stack.template, this.context(stackName), stack.accountId, logicalId);
  }
}

/**
 * The role `logicalId` of a template (a role, or the function or state machine whose role it is)
 * with every identity policy attached to it, resolved in `ctx`: inline policies, and
 * AWS::IAM::Policy and AWS::IAM::ManagedPolicy resources that name it.
 */
export function principalIn(
  template: Pick<AppStack['template'], 'Resources'>,
  ctx: ResolveContext,
  accountId: string,
  logicalId: string,
): Principal {
  const roleId = roleLogicalId(template, logicalId);
  const role = template.Resources[roleId];
  const roleName = (ctx.resources[roleId] as Attrs).ref;
  const policies: SimulationIdentityPolicy[] = [];
  const inline = (role?.Properties?.Policies ?? []) as { PolicyName: unknown; PolicyDocument: unknown }[];
  for (const p of inline)
    policies.push({
      name: String(resolveTokens(p.PolicyName, ctx)),
      policy: resolvePolicy(p.PolicyDocument, ctx),
    });
  for (const [id, r] of Object.entries(template.Resources)) {
    if (r.Type !== 'AWS::IAM::Policy' && r.Type !== 'AWS::IAM::ManagedPolicy') continue;
    const roles = resolveTokens(r.Properties?.Roles ?? [], ctx) as string[];
    if (!roles.includes(roleName)) continue;
    policies.push({ name: id, policy: resolvePolicy(r.Properties?.PolicyDocument, ctx) });
  }
  return { arn: (ctx.resources[roleId] as Attrs).Arn as string, accountId, policies };
}

// Loaded on the first decision: every `ops` command loads this module, few of them decide.
let evaluator: Promise<typeof import('@cloud-copilot/iam-simulate')> | undefined;

/**
 * AWS's decision on `request` made by `principal`, in the principal's account, with the
 * resource's own policy when it has one (a queue, topic or key policy).
 */
export async function authorize(
  principal: Principal,
  request: AuthorizationRequest,
  resourcePolicy?: unknown,
): Promise<Decision> {
  evaluator ??= import('@cloud-copilot/iam-simulate');
  const { runSimulation } = await evaluator;
  const result = await runSimulation(
    {
      identityPolicies: principal.policies,
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      ...(resourcePolicy ? { resourcePolicy } : {}),
      request: {
        principal: principal.arn,
        action: request.action,
        resource: { resource: request.resource, accountId: principal.accountId },
        contextVariables: request.context ?? {},
      },
    },
    {},
  );
  if (result.resultType === 'error')
    throw new IamSimulationError(`${request.action} on ${request.resource}: ${result.errors.message}`);
  if (result.resultType === 'wildcard' && request.resource === '*') return onNoResource(result);
  if (result.resultType !== 'single')
    throw new IamSimulationError(
      `${request.action} on ${request.resource}: ask about one resource, not a pattern (${result.resultType})`,
    );
  return (result as SingleResourceSimulationResult).overallResult as Decision;
}

/**
 * An action called on no resource is authorized on the literal `*`: only a statement whose
 * Resource is `*` matches it. The evaluator's wildcard mode would also count a statement on some
 * ARN of the action (say one CloudWatch dataset), which AWS would not.
 */
function onNoResource(result: { overallResult: string; results: unknown[] }): Decision {
  if (result.overallResult !== 'Allowed') return result.overallResult as Decision;
  type Analysed = { analysis?: { identityAnalysis?: { allowStatements?: { statement: unknown }[] } } };
  const onStar = result.results.some((r) =>
    ((r as Analysed).analysis?.identityAnalysis?.allowStatements ?? []).some((s) =>
      // The evaluator's statement is an object of its own: its JSON is the policy's statement.
      [(JSON.parse(JSON.stringify(s.statement)) as { Resource?: unknown }).Resource].flat().includes('*'),
    ),
  );
  return onStar ? 'Allowed' : 'ImplicitlyDenied';
}

function resolvePolicy(document: unknown, ctx: ResolveContext): SimulationIdentityPolicy['policy'] {
  return resolveTokens(document, ctx) as SimulationIdentityPolicy['policy'];
}

/** The role a resource runs as: itself, or the role its Role/RoleArn property names. */
function roleLogicalId(template: Pick<AppStack['template'], 'Resources'>, logicalId: string): string {
  const r = template.Resources[logicalId];
  if (r?.Type === 'AWS::IAM::Role') return logicalId;
  const ref = (r?.Properties?.Role ?? r?.Properties?.RoleArn) as
    | { 'Fn::GetAtt'?: [string, string] }
    | undefined;
  const roleId = ref?.['Fn::GetAtt']?.[0];
  if (!roleId) throw new Error(`${logicalId} (${r?.Type}) is not a role and names none`);
  return roleId;
}

/**
 * What a resource resolves to once CloudFormation created it: its name property when the
 * template sets one, `<stack>-<logicalId>` when not, and ARNs in each service's format.
 */
export function plannedAttrs(
  stack: Pick<AppStack, 'stackName' | 'region' | 'accountId'>,
  id: string,
  type: string,
  props: Record<string, unknown>,
): Attrs {
  const { region, accountId, stackName } = stack;
  const literal = (key: string) => (typeof props[key] === 'string' ? (props[key] as string) : undefined);
  const generated = (max: number) => `${stackName}-${id}`.slice(0, max);
  const arn = (service: string, resource: string, withRegion = true) =>
    `arn:aws:${service}:${withRegion ? region : ''}:${accountId}:${resource}`;
  switch (type) {
    case 'AWS::IAM::Role': {
      const name = literal('RoleName') ?? generated(64);
      return { ref: name, Arn: arn('iam', `role${literal('Path') ?? '/'}${name}`, false), RoleId: id };
    }
    case 'AWS::IAM::ManagedPolicy': {
      const name = literal('ManagedPolicyName') ?? generated(128);
      const policyArn = arn('iam', `policy${literal('Path') ?? '/'}${name}`, false);
      return { ref: policyArn, PolicyArn: policyArn };
    }
    case 'AWS::DynamoDB::Table': {
      const name = literal('TableName') ?? generated(255);
      const tableArn = arn('dynamodb', `table/${name}`);
      return { ref: name, Arn: tableArn, StreamArn: `${tableArn}/stream/2026-01-01T00:00:00.000` };
    }
    case 'AWS::SQS::Queue': {
      const name = literal('QueueName') ?? generated(80);
      return {
        ref: `https://sqs.${region}.amazonaws.com/${accountId}/${name}`,
        Arn: arn('sqs', name),
        QueueName: name,
        QueueUrl: `https://sqs.${region}.amazonaws.com/${accountId}/${name}`,
      };
    }
    case 'AWS::SNS::Topic': {
      const name = literal('TopicName') ?? generated(256);
      const topicArn = arn('sns', name);
      return { ref: topicArn, TopicArn: topicArn, TopicName: name };
    }
    case 'AWS::StepFunctions::StateMachine': {
      const name = literal('StateMachineName') ?? generated(80);
      const machineArn = arn('states', `stateMachine:${name}`);
      return { ref: machineArn, Arn: machineArn, Name: name };
    }
    case 'AWS::Lambda::Function': {
      const name = literal('FunctionName') ?? generated(64);
      return { ref: name, Arn: arn('lambda', `function:${name}`) };
    }
    case 'AWS::KMS::Key':
      return { ref: `key-${id}`, Arn: arn('kms', `key/key-${id}`), KeyId: `key-${id}` };
    case 'AWS::Logs::LogGroup': {
      const name = literal('LogGroupName') ?? `/${generated(500)}`;
      return { ref: name, Arn: arn('logs', `log-group:${name}:*`) };
    }
    case 'AWS::S3::Bucket': {
      const name = literal('BucketName') ?? generated(63).toLowerCase();
      return {
        ref: name,
        Arn: `arn:aws:s3:::${name}`,
        DomainName: `${name}.s3.amazonaws.com`,
        RegionalDomainName: `${name}.s3.${region}.amazonaws.com`,
      };
    }
    case 'AWS::ECS::Cluster': {
      const name = literal('ClusterName') ?? generated(255);
      return { ref: name, Arn: arn('ecs', `cluster/${name}`) };
    }
    case 'AWS::ECS::TaskDefinition': {
      const family = literal('Family') ?? generated(255);
      const definitionArn = arn('ecs', `task-definition/${family}:1`);
      return { ref: definitionArn, TaskDefinitionArn: definitionArn };
    }
    case 'AWS::SecretsManager::Secret': {
      const name = literal('Name') ?? generated(256);
      const secretArn = arn('secretsmanager', `secret:${name}-AbCdEf`);
      return { ref: secretArn, Id: secretArn };
    }
    case 'AWS::RDS::DBCluster': {
      const name = (literal('DBClusterIdentifier') ?? generated(63)).toLowerCase();
      return {
        ref: name,
        DBClusterArn: arn('rds', `cluster:${name}`),
        DBClusterResourceId: `cluster-${id.toUpperCase().slice(0, 26)}`,
        'MasterUserSecret.SecretArn': arn('secretsmanager', `secret:rds!cluster-${id.toLowerCase()}-AbCdEf`),
      };
    }
    default:
      return anyAttribute(id, arn(type.split('::')[1]?.toLowerCase() ?? 'unknown', id));
  }
}

/** A resource the IAM view does not model: every attribute resolves, to a stable placeholder. */
function anyAttribute(id: string, placeholderArn: string): Attrs {
  return new Proxy({ ref: id, Arn: placeholderArn } as Attrs, {
    get: (target, key) => (typeof key === 'string' ? (target[key] ?? `${placeholderArn}/${key}`) : undefined),
  });
}
