// The runbook registry (config/remediation/<environment>.json) and the remediation functions'
// environment, defined once for infra, the handlers and the tests.

import { RunbookKindSchema } from '../../events/remediation-input.ts';
import * as z from '../../events/zod.ts';
import { ControlPlaneEnvSchema, jsonEnv } from '../shared/env.ts';
import { ManagedServicesSchema } from '../shared/rollouts/config.ts';

const AlarmNamePattern = z
  .string()
  .check(z.minLength(1), z.maxLength(255), z.describe('an alarm name; * matches any run of characters'));

/** Which alarms a runbook answers: by name (glob) or by the alarm's tags (all must match). */
export const RunbookMatchSchema = z.union([
  z.strictObject({ alarmName: AlarmNamePattern }),
  z.strictObject({
    tags: z
      .record(z.string().check(z.minLength(1)), z.string())
      .check(z.refine((t) => Object.keys(t).length > 0, 'expected at least one tag')),
  }),
]);
export type RunbookMatch = z.infer<typeof RunbookMatchSchema>;

export const RunbookSchema = z
  .strictObject({
    /** Stable id: cooldowns and rate limits are counted per runbook id. */
    id: z.string().check(z.regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'expected lowercase letters, digits and -')),
    match: RunbookMatchSchema,
    runbook: RunbookKindSchema,
    cluster: z.string().check(z.minLength(1)),
    /** Every runbook but drain-instance acts on one service. */
    service: z.optional(z.string().check(z.minLength(1))),
    /** scale-out: a fixed step; the scaling workflow's guardrails still apply. */
    delta: z.optional(z.number().check(z.int(), z.gte(1), z.lte(100))),
    percent: z.optional(z.number().check(z.int(), z.gte(1), z.lte(1000))),
    /** notify-only: which topic hears it. */
    severity: z._default(z.enum(['critical', 'warning', 'info']), 'warning'),
    /** No second execution of this runbook sooner than this after the last one. */
    cooldownSeconds: z._default(z.number().check(z.int(), z.gte(0), z.lte(86_400)), 900),
    maxPerHour: z._default(z.number().check(z.int(), z.gte(1), z.lte(60)), 4),
    /** At most this many tasks, or this share of the service's running tasks, touched per execution. */
    blastRadius: z.prefault(
      z.strictObject({
        maxTasks: z._default(z.number().check(z.int(), z.gte(1), z.lte(1000)), 1),
        maxPercent: z._default(z.number().check(z.int(), z.gte(1), z.lte(100)), 25),
      }),
      {},
    ),
    /** Risky runbooks wait for a human (task token) before they act. */
    requiresApproval: z._default(z.boolean(), false),
    approval: z.prefault(
      z.strictObject({
        timeoutSeconds: z._default(z.number().check(z.int(), z.gte(60), z.lte(86_400)), 900),
        defaultAction: z._default(z.enum(['approve', 'reject']), 'reject'),
      }),
      {},
    ),
    /** Any of these in ALARM aborts before any change (with the global GUARD_ALARMS). */
    guardAlarms: z._default(z.array(z.string().check(z.minLength(1))), []),
    /** After acting, the alarm must be OK within the window, or the control plane escalates. */
    verify: z.prefault(
      z.strictObject({
        windowSeconds: z._default(z.number().check(z.int(), z.gte(30), z.lte(3600)), 600),
        pollSeconds: z._default(z.number().check(z.int(), z.gte(5), z.lte(300)), 30),
      }),
      {},
    ),
    /** Act on an alarm's first transition out of INSUFFICIENT_DATA after it was (re)configured. */
    actOnFirstTransition: z._default(z.boolean(), false),
  })
  .check(
    z.superRefine((r, ctx) => {
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
        ctx.addIssue({
          code: 'custom',
          path: ['delta'],
          message: 'delta and percent are for scale-out only',
        });
      }
    }),
  );
export type Runbook = z.infer<typeof RunbookSchema>;
export type RunbookInput = z.input<typeof RunbookSchema>;

export const RemediationConfigSchema = z
  .strictObject({
    /** Any of these in ALARM aborts every runbook before it changes anything. */
    guardAlarms: z._default(z.array(z.string().check(z.minLength(1))), []),
    /** How long after an alarm was (re)configured its first transition is treated as deploy noise. */
    settleSeconds: z._default(z.number().check(z.int(), z.gte(0), z.lte(86_400)), 900),
    runbooks: z.array(RunbookSchema),
  })
  .check(
    z.superRefine((c, ctx) => {
      const seen = new Set<string>();
      for (const [i, r] of c.runbooks.entries()) {
        if (seen.has(r.id))
          ctx.addIssue({ code: 'custom', path: ['runbooks', i, 'id'], message: `duplicate id ${r.id}` });
        seen.add(r.id);
      }
    }),
  );
export type RemediationConfig = z.infer<typeof RemediationConfigSchema>;

export const RemediateStepEnvSchema = z.extend(ControlPlaneEnvSchema, {
  REMEDIATION_CONFIG: jsonEnv(RemediationConfigSchema),
  /**
   * The services rollouts manage: a rollback runbook only ever touches these. Remediation reads
   * their names only; their rollout defaults are the rollout functions' to check.
   */
  MANAGED_SERVICES: ManagedServicesSchema,
});
export type RemediateStepEnv = z.infer<typeof RemediateStepEnvSchema>;
export type RemediateStepEnvInput = z.input<typeof RemediateStepEnvSchema>;

/** Glob match of alarm names: `*` is any run of characters, everything else literal. */
export function alarmNameMatches(pattern: string, name: string): boolean {
  const escaped = pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${escaped.join('.*')}$`).test(name);
}
