// An answer given with a chat button: approve or reject the gate a rollout waits at, or roll it
// back (at a gate or in its rollback window), exactly as `ops approve|reject|abort` would, through
// the rollout's record (the first answer wins; a closed gate refuses). A refusal is journaled too.
import * as z from '../../events/zod.ts';
import { iso } from '../shared/clock.ts';
import { writeJournal } from '../shared/journal.ts';
import {
  abortRollout,
  answerGate,
  type OperatorDeps,
  OperatorRefusedError,
  type OperatorResult,
} from '../shared/rollouts/operator.ts';

/** What a button sends: `lambda invoke --payload {"rollout":"$e","answer":"approve"}`. */
export const ChatAnswerSchema = z.strictObject({
  /** The rollout's execution (name or ARN), from the notification's additionalContext. */
  rollout: z.string().check(z.minLength(1), z.maxLength(256)),
  answer: z.enum(['approve', 'reject', 'rollback']),
});
export type ChatAnswer = z.infer<typeof ChatAnswerSchema>;

export type ChatAnswerResult =
  | { status: 'answered'; result: OperatorResult; message: string }
  | { status: 'refused'; message: string };

/**
 * `by` names the channel: a button's command carries no chat user (the invocation's caller, the
 * channel's role or the user's own role, is in CloudTrail).
 */
export async function answerFromChat(
  deps: OperatorDeps,
  input: ChatAnswer,
  by: string,
): Promise<ChatAnswerResult> {
  const reason = `answered in chat (${by})`;
  try {
    const result =
      input.answer === 'rollback'
        ? await abortRollout(deps, input.rollout, by, reason)
        : await answerGate(deps, input.rollout, input.answer, by, reason);
    return { status: 'answered', result, message: `${result.service}: ${result.message}` };
  } catch (error) {
    if (!(error instanceof OperatorRefusedError)) throw error;
    await writeJournal(deps.db, deps.env.JOURNAL_TABLE, deps.clock, [
      {
        resource: `execution/${input.rollout}`,
        action: `chat-${input.answer}`,
        outcome: 'refused',
        reason: error.message,
        trigger: { kind: 'chat', id: by, at: iso(deps.clock.now()) },
        actor: 'chat-answer',
      },
    ]);
    return { status: 'refused', message: error.message };
  }
}
