// Least privilege, from what the test suite really did: for every role of the control plane, the
// grants its policies hold (action x resource), those the suite exercised (the IAM ledger each
// test file writes, see local/iam-enforcement.ts) and those it never did. Every grant never
// exercised, and every `*` resource on an action that takes a resource, must be removed or
// carry a reason in tools/iam-grant-reasons.json (tests/infra/iam-grant-reasons.test.ts checks
// the file against the template). Run `npm test` first: the ledger is that run's.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { synthControlPlane } from '../../local/control-plane.ts';
import { EMULATOR_ACCOUNT_ID, EMULATOR_REGION } from '../../local/emulator.ts';
import type { AppStack } from '../../local/iam.ts';
import { readIamLedger } from '../../local/iam-enforcement.ts';
import { type GrantReason, reasonFor, roleGrants } from '../../local/iam-grants.ts';
import { REPO_ROOT } from '../../local/python-env.ts';
import type { SuiteContext, SuiteResult } from '../run.ts';

export const name = 'iam';
export const description =
  "Per role of the control plane: the grants (action x resource) its synthesized policies hold, those `npm test` exercised on the rig's IAM evaluation, and those it never did, each with its reason.";

export const LEDGER_DIR = join(REPO_ROOT, '.iam-ledger');
export const REASONS_FILE = join(REPO_ROOT, 'tools', 'iam-grant-reasons.json');

export async function run(ctx: SuiteContext): Promise<SuiteResult> {
  const ledger = readIamLedger(LEDGER_DIR);
  if (ledger.length === 0)
    return {
      title: 'Least privilege: no IAM ledger yet',
      columns: [],
      rows: [],
      notes: [`No IAM ledger in ${LEDGER_DIR}: run \`npm test\` first, then this suite.`],
      checks: [{ name: 'the IAM ledger of a test run exists', ok: false }],
    };
  ctx.log(`ledger of ${ledger.length} processes`);
  const exercised = ledger.flatMap((entry) =>
    entry.grants.map((line) => {
      const [principal, action, resource] = line.split('\t') as [string, string, string];
      return { principal, action, resource };
    }),
  );
  const { stackName, template } = await synthControlPlane('local');
  const roles = await roleGrants({
    stackName,
    template: template as unknown as AppStack['template'],
    region: EMULATOR_REGION,
    accountId: EMULATOR_ACCOUNT_ID,
  });
  const reasons = JSON.parse(readFileSync(REASONS_FILE, 'utf8')) as GrantReason[];

  const rows: SuiteResult['rows'] = [];
  const unexplained: string[] = [];
  const neverLines: string[] = [];
  for (const role of roles) {
    const used = exercised.filter((e) => e.principal === role.arn);
    const never = role.grants.filter((g) => !used.some((e) => g.covers(e.action, e.resource)));
    for (const grant of never) {
      const reason = reasonFor(reasons, role.name, grant)?.reason;
      neverLines.push(`${role.name}: ${grant.action} on ${grant.resource}: ${reason ?? 'NO REASON'}`);
      if (!reason) unexplained.push(`${role.name}: ${grant.action} on ${grant.resource}`);
    }
    for (const grant of role.grants.filter((g) => g.starOnResourceAction && !never.includes(g))) {
      if (!reasonFor(reasons, role.name, grant))
        unexplained.push(`${role.name}: ${grant.action} on * (takes a resource)`);
    }
    rows.push({
      role: role.name,
      calls: used.length,
      granted: role.grants.length,
      exercised: role.grants.length - never.length,
      neverExercised: never.length,
      starOnResourceActions: role.grants.filter((g) => g.starOnResourceAction).length,
    });
  }
  const sum = (key: 'evaluated' | 'allowed' | 'denied' | 'rig') =>
    ledger.reduce((total, entry) => total + entry.stats[key], 0);
  return {
    title: 'Least privilege: grants held, exercised by the test suite, and never exercised',
    columns: [
      { key: 'role', label: 'role' },
      { key: 'calls', label: 'distinct requests allowed' },
      { key: 'granted', label: 'grants (action x resource)' },
      { key: 'exercised', label: 'exercised' },
      { key: 'neverExercised', label: 'never exercised' },
      { key: 'starOnResourceActions', label: '* on an action that takes a resource' },
    ],
    rows,
    notes: [
      `From the IAM ledger of the last \`npm test\` (${ledger.length} ledgers: test files and the ops processes they started): ${sum('evaluated')} calls made as a role, every one evaluated (${sum('allowed')} allowed, ${sum('denied')} denied, the denials being the tests that prove them); ${sum('rig')} calls by the rig itself (setup and read-back).`,
      'Never exercised, each with its reason (tools/iam-grant-reasons.json):',
      ...neverLines.map((line) => `- ${line}`),
    ],
    checks: [
      {
        name: 'every grant never exercised, and every * on an action that takes a resource, has a reason',
        ok: unexplained.length === 0,
        ...(unexplained.length > 0 ? { detail: unexplained.join('; ') } : {}),
      },
      { name: 'no role call went unevaluated', ok: sum('evaluated') === sum('allowed') + sum('denied') },
    ],
  };
}
