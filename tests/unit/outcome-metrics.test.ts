// The outcome metrics each function publishes, from its report or result (no I/O), and the one
// EMF line Powertools writes for them, read back as CloudWatch reads it (local/emf.ts).
import { describe, expect, it } from 'vitest';
import type { RemediationPlan } from '../../events/remediation-input.ts';
import { routerMetrics } from '../../functions/alert-router/metrics.ts';
import { silenceNoticeAlert, silenceNoticesDue } from '../../functions/alert-router/rules.ts';
import type { Silence } from '../../functions/alert-router/silences.ts';
import { remediationMetrics } from '../../functions/remediate-step/metrics.ts';
import { rolloutMetrics } from '../../functions/rollout-step/metrics.ts';
import { scaleMetrics } from '../../functions/scale-service-step/metrics.ts';
import { publishOutcomeMetrics } from '../../functions/shared/emf.ts';
import { OUTCOME_METRICS } from '../../functions/shared/metric-names.ts';
import { ingest, takeEmf } from '../../local/emf.ts';

const plan = (p: Partial<RemediationPlan>) => p as RemediationPlan;

describe('outcome metrics', () => {
  it('scaling: one decision, by outcome; other steps publish nothing', () => {
    expect(scaleMetrics('decide', { decision: 'scale' })).toEqual([{ name: 'ScaleChanged', value: 1 }]);
    expect(scaleMetrics('decide', { decision: 'set-limits' })).toEqual([{ name: 'ScaleChanged', value: 1 }]);
    expect(scaleMetrics('decide', { decision: 'refused' })).toEqual([{ name: 'ScaleRefused', value: 1 }]);
    expect(scaleMetrics('decide', { decision: 'no-change' })).toEqual([{ name: 'ScaleUnchanged', value: 1 }]);
    expect(scaleMetrics('verify', { decision: 'scale' })).toEqual([]);
  });

  it('remediation: nothing to run at decide, else the outcome at the end', () => {
    expect(remediationMetrics('decide', plan({ decision: 'unknown-alarm' }))).toEqual([
      { name: 'RemediationsUnchanged', value: 1 },
    ]);
    expect(remediationMetrics('decide', plan({ decision: 'execute' }))).toEqual([]);
    expect(remediationMetrics('finish', plan({ outcome: 'remediated' }))).toEqual([
      { name: 'RemediationsChanged', value: 1 },
    ]);
    expect(remediationMetrics('abort', plan({ outcome: 'escalated' }))).toEqual([
      { name: 'RemediationsFailed', value: 1 },
    ]);
    expect(remediationMetrics('finish', plan({ outcome: 'rejected' }))).toEqual([
      { name: 'RemediationsUnchanged', value: 1 },
    ]);
  });

  it('rollouts: an operator stop is an abort, a failure a rollback, both with the duration', () => {
    const now = Date.parse('2026-12-05T10:10:00Z');
    const state = (cause: string) => ({ rollout: { startedAt: '2026-12-05T10:00:00Z' }, stop: { cause } });
    expect(rolloutMetrics('rolled-back', state('abort'), now)).toEqual([
      { name: 'RolloutsAborted', value: 1 },
      { name: 'RolloutDuration', value: 600 },
    ]);
    expect(rolloutMetrics('rolled-back', state('analysis'), now)[0]).toEqual({
      name: 'RolloutsRolledBack',
      value: 1,
    });
    expect(rolloutMetrics('lock', { lease: { owner: 'x' } }, now)).toEqual([
      { name: 'RolloutsStarted', value: 1 },
    ]);
    expect(rolloutMetrics('shift', state('abort'), now)).toEqual([]);
  });

  it('the router: published, and held back by reason', () => {
    const outcomes = (...results: string[]) => results.map((result, i) => ({ itemId: String(i), result }));
    expect(
      routerMetrics({
        sent: [{}, {}] as never,
        outcomes: outcomes(
          'silenced',
          'inhibited',
          'repeat-suppressed',
          'repeat-suppressed',
          'failed',
          'grouped',
        ) as never,
        // A failed item is a publish failure only where SNS refused the publish.
        publishFailures: 1,
      }),
    ).toEqual([
      { name: 'AlertsPublished', value: 2 },
      { name: 'AlertsSilenced', value: 1 },
      { name: 'AlertsInhibited', value: 1 },
      { name: 'AlertsDeduplicated', value: 2 },
      { name: 'AlertPublishFailures', value: 1 },
    ]);
  });

  it('publishes one EMF line CloudWatch ingests: namespace, units, the function and environment as dimensions', () => {
    const saved = { ...process.env };
    process.env.POWERTOOLS_SERVICE_NAME = 'spot-interruption';
    process.env.OPS_ENVIRONMENT = 'prod';
    const lines: string[] = [];
    const write = process.stdout.write;
    process.stdout.write = ((chunk: string) => {
      lines.push(chunk);
      return true;
    }) as typeof process.stdout.write;
    try {
      publishOutcomeMetrics([
        { name: 'InstancesDrained', value: 2 },
        { name: 'NoticeToDrain', value: 850 },
        { name: 'NoticeToDrain', value: 910 },
      ]);
      publishOutcomeMetrics([]);
    } finally {
      process.stdout.write = write;
      process.env = saved;
    }
    expect(lines).toHaveLength(1);
    takeEmf();
    for (const line of lines) ingest(line.trim());
    const points = takeEmf();
    expect(points.map((p) => [p.name, p.unit, p.values])).toEqual([
      ['InstancesDrained', 'Count', [2]],
      ['NoticeToDrain', 'Milliseconds', [850, 910]],
    ]);
    for (const p of points) {
      expect(p.namespace).toBe('EcsOps');
      expect(p.dimensions).toEqual({ service: 'spot-interruption', environment: 'prod' });
    }
    // Names CloudWatch shows as they are: one word each, and each published by a function.
    for (const [name, m] of Object.entries(OUTCOME_METRICS)) {
      expect(name).toMatch(/^[A-Z][A-Za-z]+$/);
      expect(m.fn).toMatch(/^[a-z-]+$/);
    }
  });

  it('refuses, as CloudWatch would, a line whose dimension is not a string member', () => {
    takeEmf();
    ingest(
      JSON.stringify({
        _aws: {
          Timestamp: 1,
          CloudWatchMetrics: [
            { Namespace: 'EcsOps', Dimensions: [['service']], Metrics: [{ Name: 'X', Unit: 'Count' }] },
          ],
        },
        X: 1,
      }),
    );
    expect(() => takeEmf()).toThrow(/dimension service is not a string member/);
  });

  it('silence notices: created while it lasts, then ended; both at once when it came and went; none for an old one', () => {
    const now = Date.parse('2026-12-05T12:00:00Z');
    const silence = (endsAt: string, marks: Partial<Silence> = {}): Silence => ({
      id: 's',
      matcher: { service: 'api' },
      startsAt: '2026-12-05T10:00:00Z',
      endsAt,
      reason: 'r',
      createdBy: 'x',
      createdAt: '2026-12-05T10:00:00Z',
      ...marks,
    });
    const due = (s: Silence) => silenceNoticesDue([s], now).map((n) => n.which);
    expect(due(silence('2026-12-05T13:00:00Z'))).toEqual(['created']);
    expect(due(silence('2026-12-05T13:00:00Z', { createdAnnouncedAt: 'x' }))).toEqual([]);
    expect(due(silence('2026-12-05T11:59:00Z', { createdAnnouncedAt: 'x' }))).toEqual(['ended']);
    expect(due(silence('2026-12-05T11:59:00Z'))).toEqual(['created-and-ended']);
    expect(due(silence('2026-12-05T10:30:00Z'))).toEqual(['stale']);
    expect(due(silence('2026-12-05T11:59:00Z', { createdAnnouncedAt: 'x', endAnnouncedAt: 'y' }))).toEqual(
      [],
    );
    const ended = silenceNoticeAlert({ silence: silence('2026-12-05T11:59:00Z'), which: 'ended' }, now);
    expect([ended.state, ended.dedupKey, ended.title]).toEqual([
      'resolved',
      'silence/s',
      'Silence expired: service api',
    ]);
    const cameAndWent = silenceNoticeAlert(
      { silence: silence('2026-12-05T11:59:00Z', { endedBy: 'ops-cli/x' }), which: 'created-and-ended' },
      now,
    );
    expect([cameAndWent.state, cameAndWent.title]).toEqual([
      'firing',
      'Silence ended early by ops-cli/x: service api',
    ]);
  });
});
