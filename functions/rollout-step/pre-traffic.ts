// Before any production traffic: the test listener is pointed at green (and read back), and the
// pre-traffic hook, a Lambda function named in the input, is asked whether green is fit. The
// state machine invokes the hook itself (lambda:invoke); this module builds what the hook is
// sent and judges what came back. A hook that throws, times out or answers anything but
// {"status": "SUCCEEDED"} fails the rollout, which then goes back to blue like a failed analysis.
import type { RolloutState } from '../../events/rollout-input.ts';

/** What the hook receives (documented in the README; hooks depend on it: add, never rename). */
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

export interface HookVerdict {
  status: 'passed' | 'failed';
  reason: string;
}

/**
 * The hook's answer. `response` is the lambda:invoke result ({ Payload, StatusCode }), `error`
 * what the task's Catch put there when the invocation failed (a function error, a timeout, a
 * missing function, no permission).
 */
export function judgeHook(
  hook: string,
  response: unknown,
  error: { Error?: string; Cause?: string } | undefined,
): HookVerdict {
  if (error) {
    return {
      status: 'failed',
      reason: `pre-traffic hook ${hook} failed: ${error.Error ?? 'error'}${error.Cause ? `: ${errorMessageOf(error.Cause)}` : ''}`,
    };
  }
  const result = (response ?? {}) as { Payload?: unknown; FunctionError?: string };
  // The SDK integration reports a function error in the response instead of failing the task.
  if (result.FunctionError) {
    return {
      status: 'failed',
      reason: `pre-traffic hook ${hook} failed: ${result.FunctionError}: ${previewOf(result.Payload)}`,
    };
  }
  const payload = typeof result.Payload === 'string' ? parseJson(result.Payload) : result.Payload;
  const answer = (payload ?? {}) as { status?: unknown; reason?: unknown };
  const status = typeof answer.status === 'string' ? answer.status.toUpperCase() : undefined;
  const why = typeof answer.reason === 'string' && answer.reason ? `: ${answer.reason}` : '';
  if (status === 'SUCCEEDED') return { status: 'passed', reason: `pre-traffic hook ${hook} passed${why}` };
  if (status === 'FAILED') return { status: 'failed', reason: `pre-traffic hook ${hook} failed${why}` };
  // Verify, don't assume: a hook that does not say it passed has not passed.
  return {
    status: 'failed',
    reason: `pre-traffic hook ${hook} answered ${previewOf(payload)}; expected {"status": "SUCCEEDED"} or {"status": "FAILED"}`,
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
  const text = JSON.stringify(value ?? null);
  return text.length > 200 ? `${text.slice(0, 197)}...` : text;
}
