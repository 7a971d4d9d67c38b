// SNS subscription filter policies over the alert topics' message attributes (severity, state,
// kind, service, cluster, notification). docs/alerting.md shows these two; the alerting tests subscribe
// queues with exactly these and check who receives what.

/** Page only on critical alerts (firing and resolved) of one service. */
export function pageOnCriticalFor(service: string): Record<string, string[]> {
  return { severity: ['critical'], service: [service] };
}

/**
 * An email digest of warnings: firing warnings only (no `resolved` noise). The router already
 * folds each group window into one message, so the digest gets one mail per group and window.
 */
export const WARNING_DIGEST: Record<string, string[]> = { severity: ['warning'], state: ['firing'] };
