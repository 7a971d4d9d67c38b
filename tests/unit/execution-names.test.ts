// Every execution name derived from user input stays valid for Step Functions (1-80 characters,
// no forbidden characters) and keeps the part that makes it unique, whatever the input's length.
import { describe, expect, it } from 'vitest';
import {
  childExecutionName,
  executionName,
  executionNameProblem,
  operatorExecutionName,
} from '../../functions/shared/execution-names.ts';
import { executionNameFor } from '../../functions/shared/named-executions.ts';
import { newExecutionName } from '../../local/rollouts.ts';

const long = (stem: string) => `${stem}-${'x'.repeat(300)}`.slice(0, 255);

describe('execution names', () => {
  it('knows the rules: 1 to 80 characters, none of the forbidden ones', () => {
    expect(executionNameProblem('a'.repeat(80))).toBeUndefined();
    expect(executionNameProblem('a'.repeat(81))).toMatch(/at most 80/);
    expect(executionNameProblem('')).toMatch(/at least 1/);
    for (const bad of ['a b', 'a:b', 'a/b', 'a*b', 'a{b', 'a$b', 'a\u0007b'])
      expect(executionNameProblem(bad), bad).toMatch(/may not contain/);
  });

  it('keeps alarm-triggered names valid and distinct for 255-character alarm names', () => {
    const a = executionNameFor('remediate', long('web-api-cpu-high'), 'arn:alarm:a', '2026-12-02T10:00:00Z');
    const b = executionNameFor('remediate', long('web-api-cpu-high'), 'arn:alarm:a', '2026-12-02T10:05:00Z');
    for (const name of [a, b]) expect(executionNameProblem(name)).toBeUndefined();
    expect(a).not.toBe(b);
  });

  it('names a nested execution within 80 characters, stable and unique per parent', () => {
    const parent = executionNameFor('remediate', long('web-api-cpu-high'), 'arn:alarm:a', 't1');
    const other = executionNameFor('remediate', long('web-api-cpu-high'), 'arn:alarm:a', 't2');
    const child = childExecutionName(parent, 'scale');
    expect(parent).toHaveLength(80);
    expect(executionNameProblem(child)).toBeUndefined();
    expect(child.endsWith('-scale')).toBe(true);
    expect(childExecutionName(parent, 'scale')).toBe(child);
    expect(childExecutionName(other, 'scale')).not.toBe(child);
    expect(childExecutionName('short', 'scale')).toBe('short-scale');
  });

  it('keeps operator-started and surge names valid for 255-character service and cluster names', () => {
    const rollout = newExecutionName(long('checkout'), Date.parse('2026-12-02T10:00:00Z'));
    expect(executionNameProblem(rollout)).toBeUndefined();
    expect(rollout).toMatch(/-20261202T100000-[0-9a-f]{4}$/);
    // ops remediate, ops scale and ops rollout on AWS: the longest prefix with a 255-character subject.
    for (const prefix of ['remediate-manual', 'scale', 'rollout']) {
      const name = operatorExecutionName(prefix, long('web-api-5xx'), Date.parse('2026-12-02T10:00:00Z'));
      expect(executionNameProblem(name), name).toBeUndefined();
      expect(name).toMatch(new RegExp(`^${prefix}-web-api-5xx-x+-20261202T100000-[0-9a-f]{4}$`));
    }
    const surge = executionName('surge', long('prod-cluster'), 'abcdef0123456789');
    expect(executionNameProblem(surge)).toBeUndefined();
    expect(surge.endsWith('-abcdef0123456789')).toBe(true);
  });
});
