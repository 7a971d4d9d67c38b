// Dedup keys join names (a rollout's: kind, cluster, service, execution, gate), and ECS allows
// 255 characters per cluster and per service name: raiseAlert bounds a long key so the router
// still takes the alert (functions/shared/alerts.ts boundedDedupKey).
import { describe, expect, it } from 'vitest';
import { parseQueueMessage } from '../../functions/alert-router/messages.ts';
import { type Alert, boundedDedupKey, MAX_DEDUP_KEY_LENGTH } from '../../functions/shared/alerts.ts';
import { InvalidInputError } from '../../functions/shared/errors.ts';

const alert = (dedupKey: string): Alert => ({
  severity: 'warning',
  state: 'firing',
  kind: 'rollout-approval',
  title: 'Rollout waits for a decision',
  summary: '',
  resources: [],
  whatHappened: '',
  whatWeDid: '',
  nextSteps: [],
  dedupKey,
  at: '2026-12-05T12:00:00.000Z',
});

describe('alert dedup keys', () => {
  const long = `rollout-approval/${'c'.repeat(255)}/${'s'.repeat(255)}/rollout-api-20261205T120000-ab12/inconclusive@25%`;

  it('are refused by the router past the limit, and taken once bounded', () => {
    expect(long.length).toBeGreaterThan(MAX_DEDUP_KEY_LENGTH);
    expect(() => parseQueueMessage(alert(long))).toThrow(InvalidInputError);
    const bounded = boundedDedupKey(long);
    expect(bounded).toHaveLength(MAX_DEDUP_KEY_LENGTH);
    expect(parseQueueMessage(alert(bounded))).toMatchObject({ type: 'alert', alert: { dedupKey: bounded } });
  });

  it('keep their start, shorten the same key the same way, and two keys apart', () => {
    const bounded = boundedDedupKey(long);
    expect(bounded.startsWith(long.slice(0, 400))).toBe(true);
    expect(boundedDedupKey(long)).toBe(bounded);
    expect(boundedDedupKey(long.replace('@25%', '@50%'))).not.toBe(bounded);
  });

  it('leave a key within the limit as it is', () => {
    const key = 'rollout-approval/web/api/rollout-api-1/before-traffic@0%';
    expect(boundedDedupKey(key)).toBe(key);
    expect(boundedDedupKey('k'.repeat(MAX_DEDUP_KEY_LENGTH))).toBe('k'.repeat(MAX_DEDUP_KEY_LENGTH));
  });
});
