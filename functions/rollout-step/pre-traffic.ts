// Before any production traffic: the test listener is pointed at green (and read back), and the
// pre-traffic hook, a Lambda function named in the input, is asked whether green is fit. The
// state machine invokes the hook itself (lambda:invoke); this module builds what the hook is
// sent and judges what came back. A hook that throws, times out or answers anything but
// {"status": "SUCCEEDED"} fails the rollout, which then goes back to blue like a failed analysis.
import type { RolloutState } from '../../events/rollout-state.ts';

/** What the hook receives (documented in docs/rollouts.md; hooks depend on it: add, never rename). */
export interface PreTrafficHookRequest {
  kind: 'pre-traffic';
  rollout: {
    id: string;
    execution: string;
    cluster: string;
    service: string;
    image?: string;
    taskDefinition?: string;
  };
  green: { taskSetArn?: string; taskDefinition?: string; targetGroupArn: string };
  blue: { taskSetArn: string; taskDefinition: string; targetGroupArn: string };
  /** Where green answers on the test listener; null when the input did not ask for test traffic. */
  testTraffic: { endpoint: string; listenerArn: string; routeArn: string } | null;
}

export function hookRequest(state: RolloutState): PreTrafficHookRequest {
  const plan = state.rollout;
  const test = plan.preTraffic?.testTraffic ? state.topology.test : undefined;
  return {
    kind: 'pre-traffic',
    rollout: {
      id: plan.id,
      execution: plan.execution,
      cluster: plan.cluster,
      service: plan.service,
      ...(plan.image ? { image: plan.image } : {}),
      ...(plan.taskDefinition ? { taskDefinition: plan.taskDefinition } : {}),
    },
    green: {
      ...(state.green?.taskSetArn ? { taskSetArn: state.green.taskSetArn } : {}),
      ...(state.green?.taskDefinition ? { taskDefinition: state.green.taskDefinition } : {}),
      targetGroupArn: state.topology.greenTargetGroupArn,
    },
    blue: {
      taskSetArn: state.blue.taskSetArn,
      taskDefinition: state.blue.taskDefinition,
      targetGroupArn: state.topology.blueTargetGroupArn,
    },
    testTraffic: test
      ? { endpoint: test.endpoint, listenerArn: test.route.listenerArn, routeArn: test.route.arn }
      : null,
  };
}

/**
 * The judge's verdict on the hook's answer: small whatever the answer was, since it joins the
 * rollout's state (256 KiB in all). `finding` reads after "pre-traffic hook <name> ".
 */
export interface HookVerdict {
  status: 'passed' | 'failed';
  finding: string;
  /** The answer or the error, as JSON text cut to PREVIEW_CHARS, for the journal. */
  answer: string;
}

/** What a hook's own words are cut to: they go into the state, the journal and an alert. */
export const REASON_CHARS = 1000;
export const PREVIEW_CHARS = 2000;

/**
 * The hook's answer, as the workflow's judge step gets it: the lambda:invoke result
 * ({ Payload, StatusCode }), or `error`, what the invoke task's Catch put there when the
 * invocation failed (a function error, a timeout, a missing function, no permission, an answer
 * over 256 KiB).
 */
export function judgeHook(answer: unknown): HookVerdict {
  const verdict = judge(answer);
  return { ...verdict, finding: cut(verdict.finding, REASON_CHARS) };
}

function judge(answer: unknown): HookVerdict {
  // A function error fails the lambda:invoke task, so it arrives as `error`, never in the result.
  const given = (answer ?? {}) as { Payload?: unknown; error?: unknown };
  const error = given.error as { Error?: unknown; Cause?: unknown } | undefined;
  if (error && typeof error === 'object') {
    const name = typeof error.Error === 'string' ? error.Error : 'error';
    const cause = typeof error.Cause === 'string' ? `: ${errorMessageOf(error.Cause)}` : '';
    return { status: 'failed', finding: `failed: ${name}${cause}`, answer: previewOf(error) };
  }
  const payload = typeof given.Payload === 'string' ? parseJson(given.Payload) : given.Payload;
  const said = (payload ?? {}) as { status?: unknown; reason?: unknown };
  const status = typeof said.status === 'string' ? said.status.toUpperCase() : undefined;
  const why = typeof said.reason === 'string' && said.reason ? `: ${said.reason}` : '';
  if (status === 'SUCCEEDED')
    return { status: 'passed', finding: `passed${why}`, answer: previewOf(payload) };
  if (status === 'FAILED') return { status: 'failed', finding: `failed${why}`, answer: previewOf(payload) };
  // Verify, don't assume: a hook that does not say it passed has not passed.
  return {
    status: 'failed',
    finding: `answered ${cut(JSON.stringify(payload ?? null), 200)}; expected {"status": "SUCCEEDED"} or {"status": "FAILED"}`,
    answer: previewOf(payload),
  };
}

/** The function's name, for messages (the ARN is in the journal's details). */
export const hookName = (arn: string): string => arn.split(':function:')[1] ?? arn;

/** A Lambda error's Cause is {"errorType", "errorMessage", ...} as JSON text. */
function errorMessageOf(cause: string): string {
  const parsed = parseJson(cause) as { errorMessage?: unknown } | string;
  return typeof parsed === 'object' && parsed && typeof parsed.errorMessage === 'string'
    ? parsed.errorMessage
    : cause;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function previewOf(value: unknown): string {
  return cut(JSON.stringify(value ?? null), PREVIEW_CHARS);
}

function cut(text: string, chars: number): string {
  return text.length > chars ? `${text.slice(0, chars - 3)}...` : text;
}
