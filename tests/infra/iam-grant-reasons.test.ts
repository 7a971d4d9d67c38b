// The reasons a grant stays without the test suite exercising it (tools/iam-grant-reasons.json),
// checked against the synthesized control plane: every `*` on an action that takes a resource has
// one, and every reason still matches a grant (a reason for a grant since removed is stale).
// Which grants the suite exercised is `npm run bench -- iam`'s part: it needs the whole run.
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { REASONS_FILE } from '../../bench/suites/iam.ts';
import { synthControlPlane } from '../../local/control-plane.ts';
import { EMULATOR_ACCOUNT_ID, EMULATOR_REGION } from '../../local/emulator.ts';
import type { AppStack } from '../../local/iam.ts';
import { type GrantReason, type RoleGrants, reasonFor, roleGrants } from '../../local/iam-grants.ts';

let roles: RoleGrants[];
const reasons = JSON.parse(readFileSync(REASONS_FILE, 'utf8')) as GrantReason[];

beforeAll(async () => {
  const { stackName, template } = await synthControlPlane('local');
  roles = await roleGrants({
    stackName,
    template: template as unknown as AppStack['template'],
    region: EMULATOR_REGION,
    accountId: EMULATOR_ACCOUNT_ID,
  });
}, 240_000);

describe('grant reasons', () => {
  it('every reason is written out and still matches a grant of the control plane', () => {
    for (const reason of reasons) {
      expect(reason.reason.length, JSON.stringify(reason)).toBeGreaterThan(40);
      const matched = roles.some((role) =>
        role.grants.some((grant) => reasonFor([reason], role.name, grant)),
      );
      expect(matched, `stale reason: ${JSON.stringify(reason)}`).toBe(true);
    }
  });

  it('every * on an action that takes a resource carries a reason', () => {
    const unexplained = roles.flatMap((role) =>
      role.grants
        .filter((grant) => grant.starOnResourceAction && !reasonFor(reasons, role.name, grant))
        .map((grant) => `${role.name}: ${grant.action}`),
    );
    expect(unexplained).toEqual([]);
  });

  it('finds the roles of every function and workflow, and a grant narrowed to one service', () => {
    expect(roles.map((r) => r.name)).toEqual(
      expect.arrayContaining([
        'RolloutsStepRole',
        'RolloutsWorkflowRole',
        'RemediationStepRole',
        'ScalingWorkflowRole',
      ]),
    );
    const step = roles.find((r) => r.name === 'RolloutsStepRole');
    expect(
      step?.grants
        .find((g) => g.action === 'ecs:UpdateServicePrimaryTaskSet')
        ?.covers(
          'ecs:UpdateServicePrimaryTaskSet',
          `arn:aws:ecs:${EMULATOR_REGION}:${EMULATOR_ACCOUNT_ID}:service/web/api`,
        ),
    ).toBe(true);
    expect(
      step?.grants.some((g) =>
        g.covers(
          'ecs:UpdateServicePrimaryTaskSet',
          `arn:aws:ecs:${EMULATOR_REGION}:${EMULATOR_ACCOUNT_ID}:service/web/payments`,
        ),
      ),
    ).toBe(false);
  });
});
