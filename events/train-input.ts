// Input of the release-train workflow (console, `ops train start --file`): ordered waves of
// services, each rolled out by the blue-green-rollout workflow, under one budget for the train.
// Defined once: the workflow's first state, the CLI, the tests and the bench parse with it. Each
// service's rollout is checked with the rollout's own schema and the service's defaults in the
// first state too, so a bad service input is refused before any wave starts.
import { BreakGlassSchema } from './break-glass.ts';
import { StrategySchema } from './rollout-input.ts';
import * as z from './zod.ts';

/** Services in one train: the first state checks each one, and its record lists them all. */
export const MAX_TRAIN_SERVICES = 500;
/** An inline Map runs at most 40 iterations at once on Step Functions. */
export const MAX_WAVE_CONCURRENCY = 40;

const Name = z.string().check(z.minLength(1), z.maxLength(255));

export const TrainServiceSchema = z
  .strictObject({
    /** Optional when exactly one managed service has this name. */
    cluster: z.optional(Name),
    service: Name,
    /** New image for the service's container, or a registered task definition: exactly one. */
    image: z.optional(z.string().check(z.minLength(1), z.maxLength(1024))),
    taskDefinition: z.optional(z.string().check(z.minLength(1), z.maxLength(1024))),
    /** Default: the service's rollout default, else the rollout's built-in canary. */
    strategy: z.optional(StrategySchema),
  })
  .check(
    z.superRefine((s, ctx) => {
      if ((s.image === undefined) === (s.taskDefinition === undefined))
        ctx.addIssue({
          code: 'custom',
          path: [s.image === undefined ? 'image' : 'taskDefinition'],
          message: 'give exactly one of image or taskDefinition',
        });
    }),
  );
export type TrainService = z.infer<typeof TrainServiceSchema>;

export const WaveSchema = z.strictObject({
  /** Shown in status, the report and alerts; default `wave N`. */
  name: z.optional(z.string().check(z.minLength(1), z.maxLength(64))),
  /** Rollouts of this wave running at once (the green-task budget may hold them back further). */
  maxConcurrency: z._default(z.number().check(z.int(), z.gte(1), z.lte(MAX_WAVE_CONCURRENCY)), 5),
  services: z.array(TrainServiceSchema).check(z.minLength(1), z.maxLength(MAX_TRAIN_SERVICES)),
});
export type Wave = z.infer<typeof WaveSchema>;

export const TrainBudgetSchema = z.strictObject({
  /** Failed services the train tolerates; one more stops the line. 0: the first failure stops it. */
  maxFailedServices: z._default(z.number().check(z.int(), z.gte(0), z.lte(MAX_TRAIN_SERVICES)), 0),
  /**
   * At most this share of a cluster's tasks in green at once, counted as the desired counts of
   * the services rolling out over the desired counts of the cluster's managed services at the
   * train's start. A single service larger than this still rolls out, alone in its cluster.
   */
  maxGreenTaskPercent: z._default(z.number().check(z.int(), z.gte(1), z.lte(100)), 25),
});
export type TrainBudget = z.infer<typeof TrainBudgetSchema>;

export const TrainInputSchema = z
  .strictObject({
    /** A label for people (status, alerts, the report); the execution name identifies the train. */
    name: z.optional(z.string().check(z.minLength(1), z.maxLength(64))),
    waves: z.array(WaveSchema).check(z.minLength(1), z.maxLength(20)),
    budget: z.prefault(TrainBudgetSchema, {}),
    /**
     * When the line stops (the budget is spent, or `ops train abort`): rollouts already running
     * are aborted and go back to blue (`rollback`), or run to their own end (`finish`). Waves and
     * services not yet started never start.
     */
    onStop: z._default(z.enum(['rollback', 'finish']), 'rollback'),
    /** Who asked, for the journal (the CLI fills it in). */
    requestedBy: z.optional(z.string().check(z.minLength(1), z.maxLength(255))),
    /** Go ahead inside a freeze window (the train and its rollouts): journaled and alerted once. */
    breakGlass: z.optional(BreakGlassSchema),
  })
  .check(
    z.superRefine((input, ctx) => {
      const total = input.waves.reduce((sum, w) => sum + w.services.length, 0);
      if (total > MAX_TRAIN_SERVICES)
        ctx.addIssue({
          code: 'custom',
          path: ['waves'],
          message: `a train rolls out at most ${MAX_TRAIN_SERVICES} services; this one has ${total}`,
        });
      // A service twice would race itself for its own lock: name the second place.
      const seen = new Map<string, string>();
      input.waves.forEach((wave, w) => {
        wave.services.forEach((s, i) => {
          const key = `${s.cluster ?? ''}/${s.service}`;
          const first = seen.get(key);
          if (first)
            ctx.addIssue({
              code: 'custom',
              path: ['waves', w, 'services', i, 'service'],
              message: `${s.service} is already in the train (${first}): a service rolls out once per train`,
            });
          else seen.set(key, `waves.${w}.services.${i}`);
        });
      });
    }),
  );
export type TrainInput = z.infer<typeof TrainInputSchema>;
export type TrainInputDraft = z.input<typeof TrainInputSchema>;
