// An operator's reason rides in a gate's answer into the workflow's state (256 KiB in all) and
// into the journal: too long a reason is refused before anything is read or written.
import { describe, expect, it } from 'vitest';
import { answerRemediationGate, type GateDeps } from '../../functions/remediate-step/operator.ts';
import { abortRollout, answerGate, type OperatorDeps } from '../../functions/shared/rollouts/operator.ts';
import { OPERATOR_REASON_MAX } from '../../functions/shared/validation.ts';

/** Deps that fail on any use: what reaches them got past the check. */
const untouchable = <T>() =>
  new Proxy({} as Record<string, unknown>, {
    get: (_, key) => {
      throw new Error(`touched ${String(key)}`);
    },
  }) as T;

describe("an operator's reason", () => {
  const calls = [
    (reason: string) => answerGate(untouchable<OperatorDeps>(), 'rollout-x', 'approve', 'ana', reason),
    (reason: string) => abortRollout(untouchable<OperatorDeps>(), 'rollout-x', 'ana', reason),
    (reason: string) =>
      answerRemediationGate(untouchable<GateDeps>(), 'remediate-x', 'reject', 'ana', reason),
  ];

  it('over the limit is refused, naming the field, with nothing read or written', async () => {
    for (const call of calls) {
      await expect(call('x'.repeat(OPERATOR_REASON_MAX + 1))).rejects.toMatchObject({
        name: 'InvalidInput',
        field: 'reason',
        message: expect.stringContaining(
          `is ${OPERATOR_REASON_MAX + 1} characters; at most ${OPERATOR_REASON_MAX}`,
        ),
      });
    }
  });

  it('at the limit goes on to the gate', async () => {
    for (const call of calls) {
      await expect(call('x'.repeat(OPERATOR_REASON_MAX))).rejects.toThrow(/^touched /);
    }
  });
});
