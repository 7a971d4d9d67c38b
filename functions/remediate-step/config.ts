// The runbook registry (config/remediation/<environment>.json) and the remediation functions'
// environment, defined once for infra, the handlers and the tests.
import * as z from 'zod';
import { RunbookKindSchema } from '../../events/remediation-input.ts';
import { ManagedServiceSchema } from '../rollout-step/config.ts';
import { ControlPlaneEnvSchema, jsonEnv } from '../shared/env.ts';

const AlarmNamePattern = z
  .string()
  .min(1)
  .max(255)
  .describe('an alarm name; * matches any run of characters');

/** Which alarms a runbook answers: by name (glob) or by the alarm's tags (all must match). */
export const RunbookMatchSchema = z.union([
  z.object({ alarmName: AlarmNamePattern }).strict(),
  z
    .object({
      tags: z
        .record(z.string().min(1), z.string())
        .refine((t) => Object.keys(t).length > 0, 'expected at least one tag'),
    })
    .strict(),
]);
export type RunbookMatch = z.infer<typeof RunbookMatchSchema>;

export const RunbookSchema = z
  .object({
    /** Stable id: cooldowns and rate limits are counted per runbook id. */
    id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'expected lowercase letters, digits and -'),
    match: RunbookMatchSchema,
    runbook: RunbookKindSchema,
    cluster: z.string().min(1),
    /** Every runbook but drain-instance acts on one service. */
    service: z.string().min(1).optional(),
    /** scale-out: a fixed step; the scaling workflow's guardrails still apply. */
    delta: z.number().int().min(1).max(100).optional(),
    percent: z.number().int().min(1).max(1000).optional(),
    /** notify-only: which topic hears it. */
    severity: z.enum(['critical', 'warning', 'info']).default('warning'),
    /** No second execution of this runbook sooner than this after the last one. */
    cooldownSeconds: z.number().int().min(0).max(86_400).default(900),
    maxPerHour: z.number().int().min(1).max(60).default(4),
    /** At most this many tasks, or this share of the service's running tasks, touched per execution. */
    blastRadius: z
      .object({
        maxTasks: z.number().int().min(1).max(1000).default(1),
        maxPercent: z.number().int().min(1).max(100).default(25),
      })
      .strict()
      .default({ maxTasks: 1, maxPercent: 25 }),
    /** Risky runbooks wait for a human (task token) before they act. */
    requiresApproval: z.boolean().default(false),
    approval: z
      .object({
        timeoutSeconds: z.number().int().min(60).max(86_400).default(900),
        defaultAction: z.enum(['approve', 'reject']).default('reject'),
      })
      .strict()
      .default({ timeoutSeconds: 900, defaultAction: 'reject' }),
    /** Any of these in ALARM aborts before any change (with the global GUARD_ALARMS). */
    guardAlarms: z.array(z.string().min(1)).default([]),
    /** After acting, the alarm must be OK within the window, or the control plane escalates. */
    verify: z
      .object({
        windowSeconds: z.number().int().min(30).max(3600).default(600),
        pollSeconds: z.number().int().min(5).max(300).default(30),
      })
      .strict()
      .default({ windowSeconds: 600, pollSeconds: 30 }),
    /** Act on an alarm's first transition out of INSUFFICIENT_DATA after it was (re)configured. */
    actOnFirstTransition: z.boolean().default(false),
  })
  .strict()
  .superRefine((r, ctx) => {
    if (r.runbook !== 'drain-instance' && !r.service) {
      ctx.addIssue({ code: 'custom', path: ['service'], message: `${r.runbook} needs a service` });
    }
    if (r.runbook === 'scale-out' && (r.delta === undefined) === (r.percent === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['delta'],
        message: 'scale-out needs exactly one of delta or percent',
      });
    }
    if (r.runbook !== 'scale-out' && (r.delta !== undefined || r.percent !== undefined)) {
      ctx.addIssue({ code: 'custom', path: ['delta'], message: 'delta and percent are for scale-out only' });
    }
  });
export type Runbook = z.infer<typeof RunbookSchema>;
export type RunbookInput = z.input<typeof RunbookSchema>;

export const RemediationConfigSchema = z
  .object({
    /** Any of these in ALARM aborts every runbook before it changes anything. */
    guardAlarms: z.array(z.string().min(1)).default([]),
    /** How long after an alarm was (re)configured its first transition is treated as deploy noise. */
    settleSeconds: z.number().int().min(0).max(86_400).default(900),
    runbooks: z.array(RunbookSchema),
  })
  .strict()
  .superRefine((c, ctx) => {
    const seen = new Set<string>();
    for (const [i, r] of c.runbooks.entries()) {
      if (seen.has(r.id))
        ctx.addIssue({ code: 'custom', path: ['runbooks', i, 'id'], message: `duplicate id ${r.id}` });
      seen.add(r.id);
    }
  });
export type RemediationConfig = z.infer<typeof RemediationConfigSchema>;

export const RemediateStepEnvSchema = ControlPlaneEnvSchema.extend({
  REMEDIATION_CONFIG: jsonEnv(RemediationConfigSchema),
  /** The services rollouts manage: a rollback runbook only ever touches these. */
  MANAGED_SERVICES: jsonEnv(z.array(ManagedServiceSchema)),
});
export type RemediateStepEnv = z.infer<typeof RemediateStepEnvSchema>;
export type RemediateStepEnvInput = z.input<typeof RemediateStepEnvSchema>;

// The trigger raises no alerts (the workflow does): no alert queue, and no grant to send to it.
export const RemediationTriggerEnvSchema = ControlPlaneEnvSchema.omit({ ALERT_QUEUE_URL: true }).extend({
  REMEDIATION_STATE_MACHINE_ARN: z.string().min(1),
});
export type RemediationTriggerEnv = z.infer<typeof RemediationTriggerEnvSchema>;
export type RemediationTriggerEnvInput = z.input<typeof RemediationTriggerEnvSchema>;

/** Glob match of alarm names: `*` is any run of characters, everything else literal. */
export function alarmNameMatches(pattern: string, name: string): boolean {
  const escaped = pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${escaped.join('.*')}$`).test(name);
}
