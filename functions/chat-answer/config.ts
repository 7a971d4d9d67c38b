// The chat-answer function's environment: the rollout records it answers on, the journal, and the
// name of the chat channel it answers for (journaled as who answered).
import * as z from '../../events/zod.ts';
import { ControlPlaneEnvSchema } from '../shared/env.ts';

export const ChatAnswerEnvSchema = z.extend(
  z.pick(ControlPlaneEnvSchema, { OPERATIONS_TABLE: true, JOURNAL_TABLE: true, OPS_ENVIRONMENT: true }),
  {
    /** The chat channel configuration's name, or `chat` where the stack configures none. */
    CHAT_CHANNEL: z._default(z.string().check(z.minLength(1)), 'chat'),
  },
);
export type ChatAnswerEnv = z.infer<typeof ChatAnswerEnvSchema>;
export type ChatAnswerEnvInput = z.input<typeof ChatAnswerEnvSchema>;
