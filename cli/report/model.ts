// What a rollout report shows: plain data (ISO times, numbers, strings), so `ops report --json`
// prints the same thing the HTML page is drawn from.
import type { Comparison, MetricNumbers } from '../../events/rollout-state.ts';

export type OutcomeStatus = 'succeeded' | 'rolled-back' | 'frozen' | 'rollback-failed' | 'in-progress';

export interface ReportOutcome {
  status: OutcomeStatus;
  /** One line: what the operator needs to know first. */
  summary: string;
  /** Why, when there is more to say (the stop reason, the cleanup failure). */
  detail?: string;
}

/** Listener weights from `at` on, as read back after a change (or assumed at the start). */
export interface WeightPoint {
  at: string;
  blue: number;
  green: number;
  /** What changed them: `start`, `step 2 of 4`, `rollback`, `operator rollback`, … */
  label: string;
}

export interface VerdictRow {
  at: string;
  /** Zero-based, as journaled; shown one-based. */
  step: number;
  weight: number;
  verdict: string;
  window: { start: string; end: string };
  green?: MetricNumbers;
  blue?: MetricNumbers;
  comparisons: Comparison[];
  alarms: { name: string; state: string }[];
  reasons: string[];
}

export interface GateRow {
  at: string;
  /** `before-traffic`, `inconclusive`, `before-finalize`, `rollback window`, `pre-traffic hook`. */
  gate: string;
  event: 'opened' | 'answered' | 'timed out' | 'closed' | 'passed' | 'failed';
  decision?: string;
  by?: string;
  text: string;
}

export interface TimelineRow {
  at: string;
  action: string;
  outcome: string;
  reason: string;
  actor: string;
}

export interface MetricPoint {
  /** Start of the period. */
  at: string;
  requests: number;
  errors: number;
  /** errors / requests; null without requests. */
  errorRate: number | null;
  p95LatencyMs: number | null;
}

export interface ReportMetrics {
  periodSeconds: number;
  /** The latency statistic asked for (`p95`). */
  statistic: string;
  green: MetricPoint[];
  blue: MetricPoint[];
  greenTargetGroup: string;
  blueTargetGroup: string;
}

export interface ReportData {
  execution: { name: string; arn: string };
  cluster: string;
  service: string;
  /** Green's image (or task definition when the rollout named one). */
  target?: string;
  /** Blue's image (or task definition) when the rollout started. */
  previous?: string;
  strategy: string;
  plannedWeights: number[];
  requestedBy?: string;
  startedAt: string;
  finishedAt?: string;
  /** The rollout's current phase (from its record), when known. */
  phase?: string;
  outcome: ReportOutcome;
  analysis: {
    /** The analysis was switched off: a blind rollout. */
    blind?: boolean;
    /** What each step judged, in words (describeAnalysis), when the rollout recorded it. */
    plan?: string[];
    alarms: string[];
    maxErrorRate?: number;
    maxP95LatencyMs?: number;
    baseline?: string;
  };
  approval?: string;
  onFailure?: string;
  weights: WeightPoint[];
  verdicts: VerdictRow[];
  gates: GateRow[];
  timeline: TimelineRow[];
  /** Undefined with `metricsNote` saying why (no target groups known, the read failed). */
  metrics?: ReportMetrics;
  metricsNote?: string;
  /** Caveats about the data (e.g. the emulator's percentile stand-in). */
  notes: string[];
  generatedAt: string;
}

/**
 * Where the report's time range ends: the finish, or for a running rollout the latest thing
 * seen (locally the workflow's virtual clock runs ahead of the time the report is made).
 */
export function reportEnd(data: Pick<ReportData, 'finishedAt' | 'generatedAt' | 'timeline'>): number {
  if (data.finishedAt) return Date.parse(data.finishedAt);
  return Math.max(Date.parse(data.generatedAt), ...data.timeline.map((e) => Date.parse(e.at)));
}
