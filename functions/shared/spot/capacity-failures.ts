// Capacity-failure memory: a managed Auto Scaling group that could not launch (insufficient
// capacity in a zone, a type no pool can give) is remembered for a while, so replacements go to
// another group meanwhile instead of asking the failing one again. Each failure expires on its
// own. One item per group, one attribute per zone and instance type: a failure reported twice
// is written twice to the same value.
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { iso } from '../clock.ts';
import { type Db, ttlSeconds } from '../dynamo.ts';
import type { CapacityFailureSignal } from './signals.ts';

export interface RememberedFailure {
  group: string;
  availabilityZone?: string;
  instanceType?: string;
  cause: string;
  at: string;
  /** When the memory of it ends. */
  until: string;
}

/** The id prefix of the groups' items (ops status lists them). */
export const CAPACITY_FAILURE_PREFIX = 'capacity-failure#';
export const capacityFailureId = (group: string) => `${CAPACITY_FAILURE_PREFIX}${group}`;
const ATTRIBUTE = 'failure:';

/** EC2's messages for a launch it had no capacity for: "sufficient <type> capacity", "no Spot capacity". */
export const isCapacityShortage = (cause: string): boolean => /capacity/i.test(cause);

/** Remembers a launch failure until `memoryMinutes` after it happened. */
export async function rememberFailure(
  db: Db,
  table: string,
  signal: CapacityFailureSignal,
  memoryMinutes: number,
): Promise<RememberedFailure> {
  const untilMs = Date.parse(signal.at) + memoryMinutes * 60_000;
  const failure: RememberedFailure = {
    group: signal.group,
    ...(signal.availabilityZone ? { availabilityZone: signal.availabilityZone } : {}),
    ...(signal.instanceType ? { instanceType: signal.instanceType } : {}),
    cause: signal.cause,
    at: signal.at,
    until: iso(untilMs),
  };
  await db.send(
    new UpdateCommand({
      TableName: table,
      Key: { id: capacityFailureId(signal.group) },
      // TTL only cleans up (an hour after the latest failure's memory ends); reads check `until`.
      UpdateExpression: 'SET #failure = :failure, expiresAt = :ttl',
      ExpressionAttributeNames: {
        '#failure': `${ATTRIBUTE}${signal.availabilityZone ?? 'any-zone'}|${signal.instanceType ?? 'any-type'}`,
      },
      ExpressionAttributeValues: { ':failure': failure, ':ttl': ttlSeconds(untilMs) + 3600 },
    }),
  );
  return failure;
}

/** The failures of one group's item still remembered at `now`, the latest first (ops status reads them too). */
export function liveFailuresOf(item: Record<string, unknown>, now: number): RememberedFailure[] {
  return Object.entries(item)
    .filter(([key]) => key.startsWith(ATTRIBUTE))
    .map(([, value]) => value as RememberedFailure)
    .filter((f) => Date.parse(f.until) > now)
    .sort((a, b) => b.at.localeCompare(a.at));
}

/** One line about a group's remembered failure (the latest), for a journal entry or an alert. */
export function describeFailure(f: RememberedFailure): string {
  const what = [f.instanceType, f.availabilityZone && `in ${f.availabilityZone}`].filter(Boolean).join(' ');
  return `${f.group} could not launch${what ? ` ${what}` : ''} at ${f.at} (${f.cause}); remembered until ${f.until}`;
}
