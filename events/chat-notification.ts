// Amazon Q Developer in chat applications (formerly AWS Chatbot) custom notification, written down
// from "Custom notifications using Amazon Q Developer in chat applications", section "Event schema"
// and "Parameter details" (docs.aws.amazon.com/chatbot/latest/adminguide/custom-notifs.html).
// A message on a topic mapped to a chat channel that does not follow this schema is dropped
// without an error, so the router's chat body is validated against it in tests.
//
// From the documentation: version (required, must be "1.0"), source (required, must be
// "custom"), id (optional, unique event identifier), content.textType (optional, only
// "client-markdown" is supported), content.title, content.description, content.nextSteps and
// content.keywords (lists of strings), metadata.threadId (notifications with the same threadId
// are threaded in the channel), metadata.summary, metadata.eventType, metadata.relatedResources
// (list of strings) and metadata.additionalContext (string to string map).
// The documentation gives no lengths; the router keeps every field short on its own.
// metadata.enableCustomActions (a boolean) lets the channel's custom actions attach their buttons
// to the notification; their criteria and variables read metadata.additionalContext
// (CHAT_ACTION_CONTEXT below, and infra/control-plane/alerting/chat-answers.ts).
import * as z from './zod.ts';

export const ChatNotificationSchema = z.strictObject({
  version: z.literal('1.0'),
  source: z.literal('custom'),
  id: z.optional(z.string().check(z.minLength(1))),
  content: z.strictObject({
    textType: z.optional(z.literal('client-markdown')),
    title: z.optional(z.string().check(z.minLength(1))),
    description: z.string().check(z.minLength(1)),
    nextSteps: z.optional(z.array(z.string())),
    keywords: z.optional(z.array(z.string())),
  }),
  metadata: z.optional(
    z.strictObject({
      threadId: z.optional(z.string().check(z.minLength(1))),
      summary: z.optional(z.string()),
      eventType: z.optional(z.string()),
      relatedResources: z.optional(z.array(z.string())),
      additionalContext: z.optional(z.record(z.string(), z.string())),
      enableCustomActions: z.optional(z.boolean()),
    }),
  ),
});

/** The answers a notification offers as buttons: a gate's, or a rollback inside the window. */
export const CHAT_CHOICES = ['approve-reject', 'rollback'] as const;
export type ChatChoices = (typeof CHAT_CHOICES)[number];

/** The additionalContext keys a button reads: the rollout's execution, and which buttons apply. */
export const CHAT_ACTION_CONTEXT = { execution: 'ecsOpsExecution', choices: 'ecsOpsChoices' } as const;
export type ChatNotification = z.infer<typeof ChatNotificationSchema>;
