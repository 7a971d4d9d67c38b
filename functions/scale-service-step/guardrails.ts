// The safety envelope, as one pure function: given the request, the service as it is, the
// recent scaling history, the rollout lock and the time, decide what to do and say why in
// plain words. No AWS calls here, so every rule can be tested on its own.
import type { Decision, ScaleRequest } from '../../events/scale-input.ts';
import { describeOccurrence, type WindowOccurrence } from '../shared/freeze-windows.ts';
import type { Guardrails } from './config.ts';

export interface ServiceSnapshot {
  desiredCount: number;
  runningCount: number;
  pendingCount: number;
  /** The service's Application Auto Scaling target, when it has one. */
  scalableTarget?: { min: number; max: number };
}

export type ActionKind = 'out' | 'in' | 'limits';

export interface PastAction {
  at: number;
  kind: ActionKind;
  from: string;
  to: string;
  executionId: string;
}

export interface LockHolderView {
  owner: string;
  expiresAt: string;
  reason: string;
}

export interface GuardInput {
  request: ScaleRequest;
  guardrails: Guardrails;
  service: ServiceSnapshot;
  history: readonly PastAction[];
  /** Who holds the service's rollout lock right now, if anyone. */
  rolloutHolder?: LockHolderView;
  /** Freeze windows in force now that freeze this service's scale-in. */
  freezes?: readonly WindowOccurrence[];
  now: number;
}

export type Guardrail = 'cooldown' | 'rate' | 'rollout-lock' | 'limit' | 'step' | 'freeze';

export interface GuardResult {
  decision: Extract<Decision, 'scale' | 'set-limits' | 'no-change' | 'refused'>;
  direction: 'out' | 'in' | 'none';
  to: { desiredCount?: number; min?: number; max?: number };
  explanation: string[];
  blockedBy?: { guardrail: Guardrail; until?: string };
}

const HOUR = 3600_000;

/** "10:42:05 UTC": short enough for a chat line, exact enough for a 60-second cooldown. */
export const clockTime = (ms: number): string => `${new Date(ms).toISOString().slice(11, 19)} UTC`;

const tasks = (n: number) => `${n} task${n === 1 ? '' : 's'}`;
const signed = (n: number) => (n > 0 ? `+${n}` : `${n}`);

/** The desired count a count request asks for (before any guardrail). */
export function requestedCount(request: ScaleRequest, current: number): { count: number; asked: string } {
  if (request.desiredCount !== undefined) {
    return { count: request.desiredCount, asked: `set the desired count to ${request.desiredCount}` };
  }
  if (request.delta !== undefined) {
    return {
      count: Math.max(0, current + request.delta),
      asked: `${request.delta > 0 ? 'add' : 'remove'} ${tasks(Math.abs(request.delta))}`,
    };
  }
  const percent = request.percent ?? 0;
  const raw = (current * percent) / 100;
  // Out rounds up (a +10% of 4 still adds a task); in rounds toward zero (conservative).
  const step = percent > 0 ? Math.ceil(raw) : Math.trunc(raw);
  return {
    count: Math.max(0, current + step),
    asked: `${percent > 0 ? 'grow' : 'shrink'} by ${Math.abs(percent)}% of ${current} (${signed(step)})`,
  };
}

export function isLimitsRequest(request: ScaleRequest): boolean {
  return request.min !== undefined || request.max !== undefined;
}

export function decide(input: GuardInput): GuardResult {
  return isLimitsRequest(input.request) ? decideLimits(input) : decideCount(input);
}

function decideCount(input: GuardInput): GuardResult {
  const { request, guardrails: g, service, now } = input;
  const current = service.desiredCount;
  const { count: requested, asked } = requestedCount(request, current);
  const explanation = [`asked to ${asked}: ${current} -> ${requested}, because "${request.reason}"`];
  const direction = requested > current ? 'out' : requested < current ? 'in' : 'none';
  const nothing = (why: string, blockedBy?: GuardResult['blockedBy']): GuardResult => ({
    decision: 'no-change',
    direction,
    to: {},
    explanation: [...explanation, `did nothing because ${why}`],
    ...(blockedBy ? { blockedBy } : {}),
  });
  const refuse = (why: string, blockedBy: GuardResult['blockedBy']): GuardResult => ({
    decision: 'refused',
    direction,
    to: {},
    explanation: [...explanation, `refused because ${why}`],
    ...(blockedBy ? { blockedBy } : {}),
  });

  if (direction === 'none') return nothing(`the desired count is already ${current}`);

  const frozen = frozenScaleIn(input, direction, explanation);
  if (frozen) return refuse(frozen.why, { guardrail: 'freeze', until: frozen.until });

  if (direction === 'in' && input.rolloutHolder) {
    const h = input.rolloutHolder;
    return refuse(
      `a rollout (${h.owner}) holds the service's lock until ${clockTime(Date.parse(h.expiresAt))}; scale-in waits for it to end, scale-out is still allowed`,
      { guardrail: 'rollout-lock', until: h.expiresAt },
    );
  }
  if (direction === 'out' && input.rolloutHolder) {
    explanation.push(
      `a rollout (${input.rolloutHolder.owner}) holds the service's lock: scale-out is allowed and applies to both task sets through the desired count`,
    );
  }

  const cooldown = cooldownEnd(input, direction);
  if (cooldown && now < cooldown.endsAt) {
    return nothing(
      `the scale-${direction} cooldown ends at ${clockTime(cooldown.endsAt)} (last ${cooldown.what} at ${clockTime(cooldown.last.at)})`,
      { guardrail: 'cooldown', until: new Date(cooldown.endsAt).toISOString() },
    );
  }
  const rate = rateLimit(input);
  if (rate) return nothing(rate.why, { guardrail: 'rate', until: new Date(rate.until).toISOString() });

  // Limits: ours, and the scalable target's (Application Auto Scaling would undo a count outside it).
  const limits = effectiveLimits(g, service);
  let target = requested;
  if (target > limits.max.value || target < limits.min.value) {
    const bound = target > limits.max.value ? limits.max : limits.min;
    const side = target > limits.max.value ? 'maximum' : 'minimum';
    const why = `${requested} is past the ${side} of ${bound.value} (${bound.source})`;
    if (g.overLimit === 'refuse') {
      return refuse(`${why} and this service refuses such requests (overLimit: refuse)`, {
        guardrail: 'limit',
      });
    }
    target = bound.value;
    explanation.push(`clamped to ${target}: ${why}`);
  }

  const largest = largestStep(g, current);
  if (Math.abs(target - current) > largest.value) {
    const step = target - current;
    const why = `a step of ${signed(step)} is larger than the largest step allowed (${largest.why})`;
    if (g.overLimit === 'refuse') {
      return refuse(`${why} and this service refuses such requests (overLimit: refuse)`, {
        guardrail: 'step',
      });
    }
    target = current + Math.sign(step) * largest.value;
    explanation.push(`clamped to ${target}: ${why}`);
  }

  if (target === current) {
    return nothing(`after the guardrails the desired count stays at ${current}`, { guardrail: 'limit' });
  }
  explanation.push(`decided to scale ${direction} from ${current} to ${target}`);
  return { decision: 'scale', direction, to: { desiredCount: target }, explanation };
}

/**
 * Scale-in inside a freeze window: why it is refused and until when, or undefined when it may go
 * ahead (no window, or broken glass, which the explanation then records).
 */
function frozenScaleIn(
  input: GuardInput,
  direction: GuardResult['direction'],
  explanation: string[],
): { why: string; until: string } | undefined {
  const freezes = direction === 'in' ? (input.freezes ?? []) : [];
  if (freezes.length === 0) return undefined;
  const windows = freezes.map(describeOccurrence).join(' and ');
  const breakGlass = input.request.breakGlass;
  if (breakGlass) {
    explanation.push(`scales in inside ${windows} by break glass: ${breakGlass.reason}`);
    return undefined;
  }
  return {
    why: `${windows} freezes scale-in; to go ahead anyway, give breakGlass with a reason`,
    until: new Date(Math.max(...freezes.map((f) => f.end))).toISOString(),
  };
}

function decideLimits(input: GuardInput): GuardResult {
  const { request, guardrails: g, service } = input;
  const existing = service.scalableTarget;
  const asked = [
    request.min === undefined ? undefined : `min ${request.min}`,
    request.max === undefined ? undefined : `max ${request.max}`,
  ]
    .filter(Boolean)
    .join(' and ');
  const from = existing ? `min ${existing.min}, max ${existing.max}` : 'no scalable target yet';
  const explanation = [
    `asked to set the scalable target's ${asked} (now ${from}), because "${request.reason}"`,
  ];
  let min = request.min ?? existing?.min ?? g.minTasks;
  let max = request.max ?? existing?.max ?? g.maxTasks;
  if (!existing && (request.min === undefined || request.max === undefined)) {
    explanation.push(
      `the service has no scalable target yet: the missing ${request.min === undefined ? 'min' : 'max'} comes from the configuration`,
    );
  }
  const result = (
    decision: GuardResult['decision'],
    why: string,
    blockedBy?: GuardResult['blockedBy'],
  ): GuardResult => ({
    decision,
    direction: 'none',
    to: {},
    explanation: [...explanation, `${decision === 'refused' ? 'refused' : 'did nothing'} because ${why}`],
    ...(blockedBy ? { blockedBy } : {}),
  });

  for (const [name, value, lo, hi] of [
    ['min', min, g.minTasks, g.maxTasks],
    ['max', max, g.minTasks, g.maxTasks],
  ] as const) {
    if (value >= lo && value <= hi) continue;
    const bound = value > hi ? hi : lo;
    const why = `a ${name} of ${value} is outside the configured range ${lo}..${hi}`;
    if (g.overLimit === 'refuse') {
      return result('refused', `${why} and this service refuses such requests (overLimit: refuse)`, {
        guardrail: 'limit',
      });
    }
    if (name === 'min') min = bound;
    else max = bound;
    explanation.push(`clamped ${name} to ${bound}: ${why}`);
  }
  if (min > max) return result('refused', `min ${min} would exceed max ${max}`, { guardrail: 'limit' });
  if (existing && existing.min === min && existing.max === max) {
    return result('no-change', `the scalable target already has min ${min} and max ${max}`);
  }

  const current = service.desiredCount;
  const direction = max < current ? 'in' : min > current ? 'out' : 'none';
  if (direction === 'in' && input.rolloutHolder) {
    const h = input.rolloutHolder;
    return {
      ...result(
        'refused',
        `a max of ${max} below the desired count ${current} scales in, and a rollout (${h.owner}) holds the service's lock until ${clockTime(Date.parse(h.expiresAt))}`,
        { guardrail: 'rollout-lock', until: h.expiresAt },
      ),
      direction,
    };
  }
  const frozen = frozenScaleIn(input, direction, explanation);
  if (frozen) {
    return {
      ...result(
        'refused',
        `a max of ${max} below the desired count ${current} scales in, and ${frozen.why}`,
        {
          guardrail: 'freeze',
          until: frozen.until,
        },
      ),
      direction,
    };
  }
  const rate = rateLimit(input);
  if (rate)
    return result('no-change', rate.why, { guardrail: 'rate', until: new Date(rate.until).toISOString() });

  explanation.push(
    `decided to set min ${min} and max ${max}${
      direction === 'none'
        ? ''
        : `; Application Auto Scaling moves the desired count (${current}) into the new range`
    }`,
  );
  return { decision: 'set-limits', direction, to: { min, max }, explanation };
}

interface Bound {
  value: number;
  source: string;
}

export function effectiveLimits(g: Guardrails, service: ServiceSnapshot): { min: Bound; max: Bound } {
  const target = service.scalableTarget;
  const max: Bound =
    target && target.max < g.maxTasks
      ? { value: target.max, source: "the scalable target's maximum" }
      : { value: g.maxTasks, source: 'the configured maxTasks' };
  const min: Bound =
    target && target.min > g.minTasks
      ? { value: target.min, source: "the scalable target's minimum" }
      : { value: g.minTasks, source: 'the configured minTasks' };
  return { min, max };
}

/** The largest change one action may make: the count limit, and the percent limit of the current count. */
export function largestStep(g: Guardrails, current: number): { value: number; why: string } {
  if (current === 0) return { value: g.maxStepCount, why: `at most ${tasks(g.maxStepCount)}` };
  const byPercent = Math.max(1, Math.floor((current * g.maxStepPercent) / 100));
  const value = Math.min(g.maxStepCount, byPercent);
  return {
    value,
    why: `at most ${tasks(g.maxStepCount)} and ${g.maxStepPercent}% of ${current}, so ${signed(value)}`,
  };
}

function cooldownEnd(
  input: GuardInput,
  direction: 'out' | 'in',
): { endsAt: number; last: PastAction; what: string } | undefined {
  const { history, guardrails: g } = input;
  // Out waits only for the previous scale-out; in waits for any previous scaling, either way.
  const relevant = history.filter((a) => (direction === 'out' ? a.kind === 'out' : a.kind !== 'limits'));
  const last = relevant.reduce<PastAction | undefined>(
    (latest, a) => (!latest || a.at > latest.at ? a : latest),
    undefined,
  );
  if (!last) return undefined;
  const seconds = direction === 'out' ? g.cooldownOutSeconds : g.cooldownInSeconds;
  return { endsAt: last.at + seconds * 1000, last, what: `scale-${last.kind}, ${last.from} -> ${last.to},` };
}

function rateLimit(input: GuardInput): { why: string; until: number } | undefined {
  const { history, guardrails: g, now } = input;
  const inWindow = history.filter((a) => a.at > now - HOUR).sort((a, b) => a.at - b.at);
  if (inWindow.length < g.maxActionsPerHour) return undefined;
  // The window frees up when the oldest action that keeps it full leaves it.
  const oldest = inWindow[inWindow.length - g.maxActionsPerHour] as PastAction;
  const until = oldest.at + HOUR;
  return {
    why: `${inWindow.length} scaling actions already ran in the last hour (at most ${g.maxActionsPerHour}); the next is allowed at ${clockTime(until)}`,
    until,
  };
}
