// Parts of the requests a workflow's Lambda steps receive, the same in every workflow.
import * as z from '../../events/zod.ts';

/** A workflow's validate request names its execution ($$.Execution.Id and .Name). */
export const ExecutionRefSchema = z.object({
  id: z.string().check(z.minLength(1)),
  name: z.string().check(z.minLength(1)),
});

/** What a workflow's Catch put at $.failure: the error's name and cause. */
export const WorkflowFailureSchema = z.object({
  Error: z.optional(z.string()),
  Cause: z.optional(z.string()),
});

/** A workflow's first step: the console input, checked, and the execution it runs in. */
export const ValidateRequestSchema = z.object({
  action: z.literal('validate'),
  input: z.unknown(),
  execution: ExecutionRefSchema,
});

/** A workflow's clean-up step: the plan, and the failure it cleans up after. */
export const AbortRequestSchema = z.object({
  action: z.literal('abort'),
  plan: z.unknown(),
  failure: z.optional(WorkflowFailureSchema),
});
