// What the Step Functions console shows when a console input is rejected: the first state's
// InvalidInput error, whose cause is "<field>: <what was expected> (got <what came>)".
import { describe, expect, it } from 'vitest';
import { RemediationInputSchema } from '../../events/remediation-input.ts';
import { RolloutInputSchema } from '../../events/rollout-input.ts';
import { ScaleInputSchema } from '../../events/scale-input.ts';
import { SpotSurgeInputSchema } from '../../events/spot-surge-input.ts';
import type * as z from '../../events/zod.ts';
import { InvalidInputError } from '../../functions/shared/errors.ts';
import { parseOrThrow } from '../../functions/shared/validation.ts';

const INSTANCE = {
  instanceId: 'i-0123456789abcdef0',
  containerInstanceArn: 'arn:aws:ecs:us-east-1:123456789012:container-instance/web/0f1e2d3c',
};
const SCALE = { cluster: 'web', service: 'api', reason: 'campaign' };
const ROLLOUT = {
  cluster: 'web',
  service: 'api',
  image: 'registry.example.com/api:2',
  strategy: { type: 'all-at-once' },
};

interface Case {
  what: string;
  schema: z.ZodMiniType;
  /** The first states parse under `input` (remediate-alarm at the root). */
  root: 'input' | '';
  input: unknown;
  field: string;
  expected: string;
  /** What the cause shows as received; undefined: the field is missing, the cause says "is required". */
  got: string | undefined;
}

const cases: Case[] = [
  {
    what: 'a missing field',
    schema: ScaleInputSchema,
    root: 'input',
    input: { cluster: 'web', service: 'api', desiredCount: 6 },
    field: 'input.reason',
    expected: 'is required (expected string)',
    got: undefined,
  },
  {
    what: 'a wrong type',
    schema: ScaleInputSchema,
    root: 'input',
    input: { ...SCALE, desiredCount: '6' },
    field: 'input.desiredCount',
    expected: 'expected number',
    got: '"6"',
  },
  {
    what: 'a number out of range',
    schema: ScaleInputSchema,
    root: 'input',
    input: { ...SCALE, desiredCount: 20_000 },
    field: 'input.desiredCount',
    expected: 'expected number to be <=10000',
    got: '20000',
  },
  {
    what: 'an unknown enum value',
    schema: ScaleInputSchema,
    root: 'input',
    input: { ...SCALE, desiredCount: 6, trigger: { kind: 'cron' } },
    field: 'input.trigger.kind',
    expected: 'expected one of "operator"|"schedule"|"alarm"',
    got: '"cron"',
  },
  {
    what: 'an unknown field (a typo) in a strict input',
    schema: ScaleInputSchema,
    root: 'input',
    input: { ...SCALE, desiredCount: 6, dryrun: true },
    field: 'input.dryrun',
    expected: 'is not a field of this input: expected it absent',
    got: 'true',
  },
  {
    what: 'several unknown fields at the root',
    schema: RemediationInputSchema,
    root: '',
    input: { alarmName: 'web-api-cpu-high', dry: 1, run: 2 },
    field: 'dry',
    expected: 'expected it absent (remove it or fix its spelling) (nor are "run")',
    got: '1',
  },
  {
    what: 'an unknown strategy type',
    schema: RolloutInputSchema,
    root: 'input',
    input: { ...ROLLOUT, strategy: { type: 'blue-green' } },
    field: 'input.strategy.type',
    expected: "Expected 'all-at-once' | 'canary' | 'linear' | 'steps'",
    got: '"blue-green"',
  },
  {
    what: 'a console shorthand with a bad value',
    schema: RolloutInputSchema,
    root: 'input',
    input: { ...ROLLOUT, approval: 'after-lunch' },
    field: 'input.approval.gate',
    expected: 'expected one of "none"|"before-traffic"|"before-finalize"',
    got: '"after-lunch"',
  },
  {
    what: 'a rule across fields',
    schema: RolloutInputSchema,
    root: 'input',
    input: { ...ROLLOUT, taskDefinition: 'web-api:7' },
    field: 'input.taskDefinition',
    expected: 'give exactly one of image or taskDefinition',
    got: '"web-api:7"',
  },
  {
    what: 'a date that is not one',
    schema: SpotSurgeInputSchema,
    root: 'input',
    input: { cluster: 'web', instances: [INSTANCE], replacements: 1, startedAt: 'yesterday' },
    field: 'input.startedAt',
    expected: 'expected an ISO 8601 date-time with a time zone, e.g. 2026-11-20T10:15:00Z',
    got: '"yesterday"',
  },
  {
    what: 'a pattern in an array element',
    schema: SpotSurgeInputSchema,
    root: 'input',
    input: { cluster: 'web', instances: [{ ...INSTANCE, instanceId: 'web-1' }], replacements: 1 },
    field: 'input.instances.0.instanceId',
    expected: 'expected an EC2 instance id',
    got: '"web-1"',
  },
  {
    what: 'not an object at all',
    schema: RemediationInputSchema,
    root: '',
    input: 'web-api-cpu-high',
    field: '(root)',
    expected: 'expected object',
    got: '"web-api-cpu-high"',
  },
  {
    what: 'a huge value (shortened in the cause)',
    schema: ScaleInputSchema,
    root: 'input',
    input: { ...SCALE, desiredCount: 6, reason: 'x'.repeat(5000) },
    field: 'input.reason',
    expected: 'expected string to have <=500 characters',
    got: `"${'x'.repeat(76)}...`,
  },
];

function rejection(c: Case): InvalidInputError {
  try {
    parseOrThrow(c.schema, c.input, c.root);
  } catch (error) {
    if (error instanceof InvalidInputError) return error;
    throw error;
  }
  throw new Error(`${c.what}: accepted`);
}

describe('the first state rejects console input readably: field, expected, got', () => {
  it.each(cases.map((c) => [c.what, c] as const))('%s', (_, c) => {
    const error = rejection(c);
    // The name is what the workflows' Catch matches: renaming it is a breaking change.
    expect(error.name).toBe('InvalidInput');
    expect(error.field).toBe(c.field);
    const [field, ...rest] = error.message.split(': ');
    expect(field).toBe(c.field);
    const problem = rest.join(': ');
    expect(problem).toContain(c.expected);
    if (c.got === undefined) {
      expect(problem).toMatch(/^is required/);
      expect(problem).not.toContain('(got');
    } else {
      expect(problem.endsWith(`(got ${c.got})`), problem).toBe(true);
    }
    // One line, short enough to read in the console's error banner.
    expect(error.message).not.toMatch(/\n|\[object Object\]/);
    expect(error.message.length).toBeLessThan(300);
  });
});
