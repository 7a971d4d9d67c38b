// FIS experiments starting and ending: a game day's bracket. The interruptions an experiment sends
// are EC2's usual events and are handled as any other; what FIS adds is its own state changes,
// which are journaled and announced, so that whoever gets the spot alerts knows a drill is on.
// Each state of an experiment is noted once: claimed under a lease, marked when journaled and
// when announced.
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { raiseAlert } from '../shared/alerts.ts';
import { iso } from '../shared/clock.ts';
import { isConditionFailure, ttlSeconds } from '../shared/dynamo.ts';
import { writeJournal } from '../shared/journal.ts';
import type { ExperimentSignal } from '../shared/spot/signals.ts';
import { type BatchReport, LEASE_MS, type SpotDeps } from './batch-model.ts';

export interface ExperimentOutcome {
  experimentId: string;
  status: string;
  result: 'noted' | 'duplicate' | 'busy';
}

/** How long a noted state is remembered: longer than EventBridge retries a delivery (24 h). */
const NOTED_TTL_MS = 2 * 24 * 3_600_000;

export async function noteExperiments(
  deps: SpotDeps,
  signals: readonly { signal: ExperimentSignal; itemId: string }[],
  report: BatchReport,
  failed: Set<string>,
): Promise<void> {
  for (const { signal, itemId } of signals) {
    try {
      const result = await noteExperiment(deps, signal);
      report.experiments.push({ experimentId: signal.experimentId, status: signal.status, result });
      if (result === 'busy') failed.add(itemId);
    } catch (error) {
      deps.log.error('Noting the FIS experiment failed; retried', {
        experimentId: signal.experimentId,
        error: (error as Error).message,
      });
      failed.add(itemId);
    }
  }
}

async function noteExperiment(
  deps: SpotDeps,
  signal: ExperimentSignal,
): Promise<ExperimentOutcome['result']> {
  const table = deps.env.OPERATIONS_TABLE;
  const id = `fis-experiment/${signal.experimentId}/${signal.status}`;
  const now = deps.clock.now();
  let record: Record<string, unknown>;
  try {
    const out = await deps.db.send(
      new UpdateCommand({
        TableName: table,
        Key: { id },
        UpdateExpression: 'SET holder = :me, leaseUntil = :until, expiresAt = :ttl',
        // Free, or held by an invocation that stopped before it finished.
        ConditionExpression:
          'attribute_not_exists(id) OR (attribute_not_exists(notedAt) AND leaseUntil < :now)',
        ExpressionAttributeValues: {
          ':me': deps.owner,
          ':until': now + LEASE_MS,
          ':ttl': ttlSeconds(now + NOTED_TTL_MS),
          ':now': now,
        },
        ReturnValues: 'ALL_NEW',
      }),
    );
    record = out.Attributes ?? {};
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
    const held = await deps.db.send(new GetCommand({ TableName: table, Key: { id }, ConsistentRead: true }));
    return held.Item?.notedAt ? 'duplicate' : 'busy';
  }
  const mark = (attribute: string) =>
    deps.db.send(
      new UpdateCommand({
        TableName: table,
        Key: { id },
        UpdateExpression: `SET ${attribute} = :at${attribute === 'notedAt' ? ' REMOVE leaseUntil' : ''}`,
        ExpressionAttributeValues: { ':at': iso(deps.clock.now()) },
      }),
    );
  const running = signal.status === 'running';
  const template = signal.templateId ? ` (template ${signal.templateId})` : '';
  // A retry after the alert failed journals nothing twice.
  if (!record.journaledAt) {
    await writeJournal(deps.db, deps.env.JOURNAL_TABLE, deps.clock, [
      {
        resource: `fis-experiment/${signal.experimentId}`,
        action: running ? 'game-day-started' : 'game-day-ended',
        outcome: 'unchanged',
        reason: running
          ? `FIS experiment ${signal.experimentId}${template} is running: the spot interruptions that follow are a game day's`
          : `FIS experiment ${signal.experimentId}${template} ${signal.status}${signal.reason ? `: ${signal.reason}` : ''}`,
        trigger: { kind: 'fis-experiment', id: signal.eventId, source: 'aws.fis', at: signal.at },
        actor: deps.owner,
        details: { experimentId: signal.experimentId, templateId: signal.templateId, status: signal.status },
      },
    ]);
    await mark('journaledAt');
  }
  await raiseAlert(deps.sqs, deps.env.ALERT_QUEUE_URL, {
    severity: signal.status === 'failed' ? 'warning' : 'info',
    // One episode per experiment: opened when it runs, resolved when it ends.
    state: running ? 'firing' : 'resolved',
    kind: 'spot-game-day',
    title: running
      ? `Game day: FIS experiment ${signal.experimentId} is running`
      : `Game day over: FIS experiment ${signal.experimentId} ${signal.status}`,
    summary: running
      ? `AWS FIS experiment ${signal.experimentId}${template} started. Spot interruptions until it ends are a drill; they are handled as real ones.`
      : `AWS FIS experiment ${signal.experimentId}${template} ${signal.status}${signal.reason ? `: ${signal.reason}` : ''}.`,
    resources: [signal.experimentId],
    whatHappened: `FIS reported the experiment ${signal.status}.`,
    whatWeDid:
      'Journaled it. Interruptions during the experiment are drained, replaced and announced as usual.',
    nextSteps: running
      ? ['Follow it with ops gameday spot --aws, or stop it from the FIS console if a service suffers.']
      : ['Read the game day report (ops gameday spot writes it), and the journal for each drain.'],
    dedupKey: `fis-experiment/${signal.experimentId}`,
    at: iso(now),
  });
  await mark('notedAt');
  return 'noted';
}
