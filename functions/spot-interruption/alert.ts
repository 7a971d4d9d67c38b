// The alert a batch raises for one cluster, with no I/O.
import { createHash } from 'node:crypto';
import { type Alert, consoleLinks } from '../shared/alerts.ts';
import type { ManagedCluster } from '../shared/managed-clusters.ts';
import type { Claimed } from './batch-model.ts';
import type { AppliedProtection } from './protection.ts';

function countBy(items: readonly Claimed[], key: (c: Claimed) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of items) out[key(c)] = (out[key(c)] ?? 0) + 1;
  return out;
}

/**
 * One alert for a cluster's batch: what was drained, surged or observed, counted by availability
 * zone and instance type, with what was asked of Auto Scaling (`capacityNote`).
 */
export function buildAlert(
  cluster: ManagedCluster,
  items: readonly Claimed[],
  capacityNote: string,
  surgeExecutionArn: string | undefined,
  at: string,
  region: string | undefined,
  protections: readonly AppliedProtection[] = [],
): Alert {
  const draining = items.filter((c) => c.intent === 'drain');
  const surging = items.filter((c) => c.intent === 'surge');
  const observed = items.filter((c) => c.intent === 'observe');
  const parts: string[] = [];
  if (draining.length > 0) parts.push(`draining ${draining.length}`);
  if (surging.length > 0) parts.push(`surging ${surging.length}`);
  if (observed.length > 0) parts.push(`observing ${observed.length}`);
  const n = items.length;
  const noun = n === 1 ? 'instance' : 'instances';
  // The episodes, not only the instances: an instance put back and interrupted again is news.
  const episodes = items.map((c) => `${c.where.instanceId}@${c.episode.openedAt}`).sort();
  return {
    severity: draining.length > 0 ? 'warning' : 'info',
    state: 'firing',
    kind: 'spot-interruption',
    cluster: cluster.name,
    title: `Spot interruption in ${cluster.name}: ${parts.join(', ')} ${noun}`,
    summary: `${n} spot ${noun} in cluster ${cluster.name} announced an interruption (${[...new Set(items.flatMap((c) => c.signals.map((s) => s.channel)))].join(', ')}).`,
    resources: items.map((c) => c.where.containerInstanceArn),
    whatHappened:
      draining.length > 0
        ? 'EC2 sent spot interruption warnings: these instances stop in about two minutes.'
        : 'EC2 sent rebalance recommendations: these instances are at elevated risk of interruption.',
    whatWeDid: [
      draining.length > 0
        ? `Set ${draining.length} container instance(s) to DRAINING so ECS moves their tasks.`
        : '',
      surging.length > 0
        ? `Requested replacement capacity for ${surging.length}; they drain once replacements register.`
        : '',
      observed.length > 0 ? `Recorded ${observed.length} recommendation(s) only (observe mode).` : '',
      protectionNote(protections),
      capacityNote ? `Capacity: ${capacityNote}.` : '',
    ]
      .filter(Boolean)
      .join(' '),
    nextSteps: [
      `Check the service's running count recovers: ops journal --json, or the ECS console for cluster ${cluster.name}.`,
      'If interruptions keep coming, consider more instance types in the spot group or a larger on-demand base.',
    ],
    // Keyed by what was done too: the drain that follows an observed recommendation is news, not a
    // repeat the router may fold into the info alert of the same instances.
    dedupKey: `spot-interruption/${cluster.name}/${draining.length > 0 ? 'drain' : surging.length > 0 ? 'surge' : 'observe'}/${createHash('sha256').update(episodes.join(',')).digest('hex').slice(0, 16)}`,
    counts: {
      'availability zone': countBy(items, (c) => c.where.availabilityZone),
      'instance type': countBy(items, (c) => c.where.instanceType),
    },
    links: consoleLinks(region, { cluster: cluster.name, executionArn: surgeExecutionArn }),
    at,
  };
}

/** The services kept at their minimum healthy, and those the warning left too little time for. */
function protectionNote(protections: readonly AppliedProtection[]): string {
  const added = protections.filter((p) => p.after > p.before);
  const late = protections.filter((p) => !p.inBudget);
  const parts: string[] = [];
  if (added.length > 0)
    parts.push(
      `Added tasks before draining to keep minimum healthy: ${added.map((p) => `${p.service} +${p.after - p.before}`).join(', ')} (given back once the instances are gone).`,
    );
  if (late.length > 0)
    parts.push(
      `Replacements cannot be healthy before the reclaim for ${late.map((p) => p.service).join(', ')}: they run short until then.`,
    );
  return parts.join(' ');
}
