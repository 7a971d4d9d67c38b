// Keeps services at their minimum healthy percent through a drain: before the batch drains its
// instances, finds their services' tasks, and adds to the desired count of each service whose
// deployment configuration would leave it short (protection-rules.ts), then schedules the
// give-back on its own queue. The drain matters more than any of this: a failure here is
// journaled and the drain goes on.
import {
  DescribeServicesCommand,
  DescribeTasksCommand,
  ListTasksCommand,
  type Service,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import type { RestorePrescale } from '../../events/spot-follow-up.ts';
import { iso } from '../shared/clock.ts';
import { chunk } from '../shared/container-instances.ts';
import { digest } from '../shared/execution-names.ts';
import type { JournalEntry } from '../shared/journal.ts';
import { withLockWaiting } from '../shared/lock.ts';
import { drainBudgetOf, type ManagedCluster } from '../shared/managed-clusters.ts';
import type { Claimed, SpotDeps } from './batch-model.ts';
import { sendFollowUps } from './follow-up-schedule.ts';
import { readLedger, writeLedger } from './prescale-ledger.ts';
import {
  type Protection,
  protectionFor,
  type ServiceState,
  secondsLeft,
  serviceOfGroup,
} from './protection-rules.ts';

export interface AppliedProtection extends Protection {
  /** The drained instances its tasks were on. */
  instances: Claimed[];
  /** The desired count before and after (equal when nothing was added). */
  before: number;
  after: number;
  /** The give-back was scheduled (false: it must be done by hand, the journal says so). */
  restoreScheduled: boolean;
  failed?: string;
}

const SERVICES_PER_DESCRIBE = 10;
const TASKS_PER_DESCRIBE = 100;
/** A ledger older than two holds and a quarter of an hour lost its give-backs: it no longer counts. */
export const ledgerStaleAfterMs = (deps: Pick<SpotDeps, 'env'>) =>
  (2 * deps.env.PRESCALE_HOLD_SECONDS + 900) * 1000;

/** The lock on a service's desired count: concurrent batches add up, a give-back waits its turn. */
export const desiredCountLock = (cluster: string, service: string) => `desired-count/${cluster}/${service}`;

export async function protectServices(
  deps: SpotDeps,
  cluster: ManagedCluster,
  draining: readonly Claimed[],
  journal: JournalEntry[],
): Promise<AppliedProtection[]> {
  // An instance ECS counts no task on has nothing to protect: no call for it. One protected by an
  // earlier delivery of its episode (its drain failed, and it came back) is not protected twice.
  const hosts = draining.filter(
    (c) => (c.where.taskCount === undefined || c.where.taskCount > 0) && !c.episode.protectedAt,
  );
  if (cluster.protectServices?.length === 0 || hosts.length === 0) return [];
  let tasksByService: Map<string, { tasks: number; instances: Claimed[] }>;
  let states: Map<string, ServiceState>;
  try {
    tasksByService = await servicesOnInstances(deps, cluster.name, hosts);
    // Only the services handed to the control plane: another's count is its owner's to change.
    for (const service of tasksByService.keys())
      if (cluster.protectServices && !cluster.protectServices.includes(service)) {
        deps.log.info('Service not in protectServices: left to ECS', { cluster: cluster.name, service });
        tasksByService.delete(service);
      }
    states =
      tasksByService.size > 0
        ? await describeServices(deps, cluster.name, [...tasksByService.keys()])
        : new Map();
  } catch (error) {
    journal.push(failedEntry(deps, `cluster/${cluster.name}`, hosts, error));
    return [];
  }
  const budget = drainBudgetOf(cluster);
  const applied: AppliedProtection[] = [];
  for (const [service, { tasks, instances }] of tasksByService) {
    const state = states.get(service);
    if (!state) continue;
    const left = earliestSecondsLeft(deps, instances, budget.marginSeconds);
    const plan = protectionFor(state, tasks, {
      secondsLeft: left,
      replacementSeconds: budget.replacementSeconds,
    });
    if (plan.add === 0) {
      if (plan.stoppable < tasks && !plan.inBudget) {
        // ECS replaces them itself, but not before the reclaim: say so, nothing to add.
        const noted = {
          ...plan,
          before: state.desiredCount,
          after: state.desiredCount,
          restoreScheduled: true,
          instances,
        };
        applied.push(noted);
        journal.push(protectionEntry(deps, cluster.name, noted, instances));
      }
      continue;
    }
    // One service failing (its lock not won in time, a throttled call) leaves the others' done.
    try {
      const added = {
        ...(await addTasks(deps, cluster.name, service, tasks, left, budget.replacementSeconds)),
        instances,
      };
      applied.push(added);
      journal.push(protectionEntry(deps, cluster.name, added, instances));
    } catch (error) {
      journal.push(failedEntry(deps, `service/${cluster.name}/${service}`, instances, error));
    }
  }
  // Every give-back of what was applied, whatever failed after it.
  await scheduleRestores(deps, cluster.name, applied, journal);
  return applied;
}

function failedEntry(
  deps: SpotDeps,
  resource: string,
  hosts: readonly Claimed[],
  error: unknown,
): JournalEntry {
  deps.log.error('Protecting minimum healthy failed; draining anyway', {
    resource,
    error: (error as Error).message,
  });
  return {
    resource,
    action: 'protect-minimum-healthy',
    outcome: 'failed',
    reason: `could not read or scale the drained instances' services, drained anyway: ${(error as Error).message}`,
    trigger: { kind: 'spot-interruption', id: hosts[0]?.signal.eventId },
    actor: deps.owner,
    details: { instances: hosts.map((c) => c.where.instanceId) },
  };
}

/** The services with tasks on the instances, counted, with the instances they are on. */
async function servicesOnInstances(
  deps: SpotDeps,
  cluster: string,
  hosts: readonly Claimed[],
): Promise<Map<string, { tasks: number; instances: Claimed[] }>> {
  const byArn = new Map(hosts.map((c) => [c.where.containerInstanceArn, c]));
  const taskArns: string[] = [];
  // One filtered list per instance: the calls follow the batch, not the cluster's size.
  const lists = await Promise.all(
    hosts.map(async (c) => {
      const arns: string[] = [];
      let nextToken: string | undefined;
      do {
        const page = await deps.ecs.send(
          new ListTasksCommand({
            cluster,
            containerInstance: c.where.containerInstanceArn,
            desiredStatus: 'RUNNING',
            ...(nextToken ? { nextToken } : {}),
          }),
        );
        arns.push(...(page.taskArns ?? []));
        nextToken = page.nextToken;
      } while (nextToken);
      return arns;
    }),
  );
  for (const arns of lists) taskArns.push(...arns);
  const out = new Map<string, { tasks: number; instances: Claimed[] }>();
  for (const part of chunk([...new Set(taskArns)], TASKS_PER_DESCRIBE)) {
    const described = await deps.ecs.send(new DescribeTasksCommand({ cluster, tasks: part }));
    for (const task of described.tasks ?? []) {
      const service = serviceOfGroup(task.group);
      // Confirmed here: a task counts only on an instance of this batch, and only RUNNING (ECS
      // stops a draining instance's PENDING tasks at once; they were not healthy anyway).
      const host = task.containerInstanceArn ? byArn.get(task.containerInstanceArn) : undefined;
      if (!service || !host || task.lastStatus !== 'RUNNING' || task.desiredStatus === 'STOPPED') continue;
      const entry = out.get(service) ?? { tasks: 0, instances: [] };
      entry.tasks++;
      if (!entry.instances.includes(host)) entry.instances.push(host);
      out.set(service, entry);
    }
  }
  return out;
}

async function describeServices(
  deps: SpotDeps,
  cluster: string,
  services: readonly string[],
): Promise<Map<string, ServiceState>> {
  const out = new Map<string, ServiceState>();
  for (const part of chunk(services, SERVICES_PER_DESCRIBE)) {
    const described = await deps.ecs.send(new DescribeServicesCommand({ cluster, services: [...part] }));
    // A DAEMON service has no desired count to raise: one task per instance, ECS's own business.
    for (const s of described.services ?? [])
      if (s.serviceName && s.status === 'ACTIVE' && s.schedulingStrategy !== 'DAEMON')
        out.set(s.serviceName, stateOf(s));
  }
  return out;
}

function stateOf(s: Service): ServiceState {
  return {
    service: s.serviceName as string,
    desiredCount: s.desiredCount ?? 0,
    runningCount: s.runningCount ?? 0,
    pendingCount: s.pendingCount ?? 0,
    // ECS's defaults for a service created without a deployment configuration.
    minimumHealthyPercent: s.deploymentConfiguration?.minimumHealthyPercent ?? 100,
    maximumPercent: s.deploymentConfiguration?.maximumPercent ?? 200,
  };
}

/** The earliest deadline among the service's instances (a rebalance drain has none). */
function earliestSecondsLeft(deps: SpotDeps, instances: readonly Claimed[], marginSeconds: number) {
  const now = deps.clock.now();
  const lefts = instances
    .map((c) => secondsLeft(c.signal.channel, c.episode.noticeAt, now, marginSeconds))
    .filter((s): s is number => s !== undefined);
  return lefts.length > 0 ? Math.min(...lefts) : undefined;
}

/**
 * Adds the tasks under the service's desired-count lock, deciding again on what is read there:
 * a concurrent batch's additions are pending tasks by then, and ours come on top. UpdateService
 * sets an absolute count, so the SDK retrying it after a lost answer sets the same count again.
 */
async function addTasks(
  deps: SpotDeps,
  cluster: string,
  service: string,
  tasks: number,
  left: number | undefined,
  replacementSeconds: number,
): Promise<Omit<AppliedProtection, 'instances'>> {
  return withLockWaiting(
    deps.db,
    deps.env.LOCKS_TABLE,
    deps.clock,
    {
      resource: desiredCountLock(cluster, service),
      owner: deps.owner,
      leaseMs: 30_000,
      reason: `add tasks before draining ${tasks} of its task(s)`,
    },
    async () => {
      const table = deps.env.OPERATIONS_TABLE;
      const ledger = await readLedger(deps.db, table, deps.clock, cluster, service, ledgerStaleAfterMs(deps));
      const described = (await describeServices(deps, cluster, [service])).get(service);
      if (!described) throw new Error(`service ${service} is no longer active in ${cluster}`);
      // ECS reads are eventually consistent: a count another batch raised a moment ago may read
      // as before. The ledger holds what pre-scales added; the higher of the two is the count.
      const state = {
        ...described,
        desiredCount: Math.max(described.desiredCount, ledger ? ledger.base + ledger.outstanding : 0),
      };
      const plan = protectionFor(state, tasks, { secondsLeft: left, replacementSeconds });
      const after = state.desiredCount + plan.add;
      if (plan.add > 0) {
        // The ledger first: a give-back must know what the others still hold.
        await writeLedger(deps.db, table, deps.clock, cluster, service, {
          base: ledger?.base ?? state.desiredCount,
          outstanding: (ledger?.outstanding ?? 0) + plan.add,
        });
        try {
          await deps.ecs.send(new UpdateServiceCommand({ cluster, service, desiredCount: after }));
        } catch (error) {
          await writeLedger(deps.db, table, deps.clock, cluster, service, {
            base: ledger?.base ?? state.desiredCount,
            outstanding: ledger?.outstanding ?? 0,
          }).catch(() => undefined);
          throw error;
        }
      }
      return { ...plan, before: state.desiredCount, after, restoreScheduled: false };
    },
    // A held lock is another batch adding its own: wait a little, not the warning's whole budget.
    { attempts: 8 },
  );
}

/** One delayed message per pre-scale: the give-back, after the instance is gone. */
async function scheduleRestores(
  deps: SpotDeps,
  cluster: string,
  applied: AppliedProtection[],
  journal: JournalEntry[],
) {
  const added = applied.filter((p) => p.after > p.before);
  const at = iso(deps.clock.now());
  // A rebalance drain has no reclaim two minutes later: its tasks are held until its recheck.
  const holdFor = (p: AppliedProtection) =>
    p.instances.every((c) => c.signal.channel === 'rebalance')
      ? Math.min(900, deps.env.REBALANCE_RECHECK_SECONDS + deps.env.PRESCALE_HOLD_SECONDS)
      : deps.env.PRESCALE_HOLD_SECONDS;
  const problems = await sendFollowUps(
    deps,
    added.map((p) => ({
      message: {
        followUp: 'restore-prescale',
        prescaleId: digest(`${cluster}/${p.service}/${p.before}/${p.after}/${at}/${deps.owner}`, 32),
        cluster,
        service: p.service,
        added: p.after - p.before,
        before: p.before,
        prescaledAt: at,
      } satisfies RestorePrescale,
      delaySeconds: holdFor(p),
    })),
  );
  added.forEach((p, i) => {
    p.restoreScheduled = problems[i] === undefined;
    if (!p.restoreScheduled)
      journal.push({
        resource: `service/${cluster}/${p.service}`,
        action: 'schedule-give-back',
        outcome: 'failed',
        reason: `the ${p.after - p.before} task(s) added before the drain could not be scheduled to go (${problems[i]}): set the desired count back to ${p.before} by hand (ops scale)`,
        trigger: { kind: 'spot-interruption' },
        actor: deps.owner,
      });
  });
}

function protectionEntry(
  deps: SpotDeps,
  cluster: string,
  p: AppliedProtection,
  instances: readonly Claimed[],
): JournalEntry {
  const added = p.after - p.before;
  return {
    resource: `service/${cluster}/${p.service}`,
    action: 'protect-minimum-healthy',
    outcome: added > 0 ? 'changed' : 'unchanged',
    reason: p.inBudget ? p.why : `${p.why} (the warning's budget does not allow it)`,
    trigger: { kind: instances[0]?.signal.channel ?? 'warning', id: instances[0]?.signal.eventId },
    actor: deps.owner,
    before: { desiredCount: p.before },
    after: { desiredCount: p.after },
    details: {
      tasksOnDrained: p.tasksOnDrained,
      stoppableAtOnce: p.stoppable,
      replaceableAtOnce: p.room,
      added,
      inBudget: p.inBudget,
      instances: instances.map((c) => c.where.instanceId),
    },
  };
}
