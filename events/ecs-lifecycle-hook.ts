// What ECS sends a Lambda lifecycle hook of a service deployment (BLUE_GREEN, CANARY, LINEAR
// with the ECS deployment controller), and what the hook answers. The shape follows the Amazon
// ECS Developer Guide, "Lambda functions for Amazon ECS service deployment lifecycle hooks";
// samples in events/samples/constructed/ecs-lifecycle-hook-*.json.
import * as z from './zod.ts';

/** The stages a Lambda hook can be attached to (DeploymentLifecycleHookStage). */
export const HOOK_STAGES = [
  'RECONCILE_SERVICE',
  'PRE_SCALE_UP',
  'POST_SCALE_UP',
  'TEST_TRAFFIC_SHIFT',
  'POST_TEST_TRAFFIC_SHIFT',
  'PRE_PRODUCTION_TRAFFIC_SHIFT',
  'PRODUCTION_TRAFFIC_SHIFT',
  'POST_PRODUCTION_TRAFFIC_SHIFT',
] as const;
export type HookStage = (typeof HOOK_STAGES)[number];

/** The stages this project's hook is attached to (infra, the stand-in and the docs use this list). */
export const ANALYSED_HOOK_STAGES = [
  'POST_SCALE_UP',
  'POST_TEST_TRAFFIC_SHIFT',
  'PRODUCTION_TRAFFIC_SHIFT',
  'POST_PRODUCTION_TRAFFIC_SHIFT',
] as const satisfies readonly HookStage[];

const arn = (service: string, resource: string, example: string) =>
  z
    .string()
    .check(
      z.regex(
        new RegExp(`^arn:aws[a-z-]*:${service}:[a-z0-9-]+:\\d{12}:${resource}/[^/]+/[^/]+(/[^/]+)?$`),
        `expected an ARN like ${example}`,
      ),
    );

/** Revision ARN -> percentage of traffic; ECS sends {} (taken for null too) where it moves no traffic. */
const Weights = z.pipe(
  z.transform((value: unknown) => value ?? {}),
  z.record(z.string(), z.number().check(z.gte(0), z.lte(100))),
);

/** What the stack's hook configuration passes in `hookDetails` (and the hook hands back). */
export const HookDetailsSchema = z.looseObject({
  /** How long the hook bakes each analysed stage before it judges (production steps, the final 100%). */
  bakeSeconds: z._default(z.number().check(z.int(), z.gte(0), z.lte(86_400)), 300),
  /** How long it bakes test traffic at POST_TEST_TRAFFIC_SHIFT; 0 checks alarms only there. */
  testBakeSeconds: z._default(z.number().check(z.int(), z.gte(0), z.lte(86_400)), 0),
  /** ECS's own bake between two traffic steps (canary or linear): the service's lease outlasts it. */
  stepBakeSeconds: z._default(z.number().check(z.int(), z.gte(0), z.lte(86_400)), 0),
});
export type HookDetails = z.infer<typeof HookDetailsSchema>;

export const LifecycleHookPayloadSchema = z.looseObject({
  executionId: z.string().check(z.minLength(1)),
  lifecycleStage: z.enum(HOOK_STAGES),
  /** The service deployment. */
  resourceArn: arn(
    'ecs',
    'service-deployment',
    'arn:aws:ecs:eu-west-1:123456789012:service-deployment/web/shop/EZe5RNVLH6PPzHXINuP28',
  ),
  executionDetails: z.looseObject({
    serviceArn: arn('ecs', 'service', 'arn:aws:ecs:eu-west-1:123456789012:service/web/shop'),
    /** Green: the revision the deployment rolls out. */
    targetServiceRevisionArn: z.string().check(z.startsWith('arn:')),
    testTrafficWeights: Weights,
    productionTrafficWeights: Weights,
  }),
  /** The hook's configured details (CloudFormation allows them as a JSON string too). */
  hookDetails: z.optional(
    z.pipe(
      z.transform((value: unknown, ctx) => {
        if (typeof value !== 'string') return value;
        try {
          return JSON.parse(value) as unknown;
        } catch {
          ctx.issues.push({ code: 'custom', message: 'is a string that is not JSON', input: value });
          return z.NEVER;
        }
      }),
      z.unknown(),
    ),
  ),
});
export type LifecycleHookPayload = z.infer<typeof LifecycleHookPayloadSchema>;

export type HookStatus = 'SUCCEEDED' | 'FAILED' | 'IN_PROGRESS';

/** The answer: IN_PROGRESS asks ECS to call again after callBackDelay seconds (default 30). */
export interface LifecycleHookResponse {
  hookStatus: HookStatus;
  callBackDelay?: number;
  hookDetails?: Record<string, unknown>;
}

/** A service deployment's id: the last part of its ARN (`…:service-deployment/<cluster>/<service>/<id>`). */
export const deploymentIdOf = (deploymentArn: string): string =>
  deploymentArn.split('/').pop() ?? deploymentArn;
