// withLockWaiting's work, once done, stands: a release that fails leaves the lease to expire
// instead of failing the caller, who would then redo the work (add capacity twice).
import { DeleteCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import type { Db } from '../../functions/shared/dynamo.ts';
import { withLockWaiting } from '../../functions/shared/lock.ts';

/** A table whose Put succeeds and whose Delete fails as DynamoDB does when it is unavailable. */
function tableWithFailingDeletes(): { db: Db; sent: string[] } {
  const sent: string[] = [];
  const db = {
    send: async (command: unknown) => {
      sent.push((command as object).constructor.name);
      if (command instanceof PutCommand) return {};
      if (command instanceof DeleteCommand)
        throw Object.assign(new Error('Service Unavailable'), { name: 'ServiceUnavailable', $retryable: {} });
      throw new Error('unexpected command');
    },
  } as unknown as Db;
  return { db, sent };
}

const request = { resource: 'asg/web-spot', owner: 'batch-1', leaseMs: 30_000, reason: 'add 2' };
const clock = { now: () => Date.parse('2026-12-04T12:00:00Z') };

describe('withLockWaiting', () => {
  it('returns the work done when the release fails', async () => {
    const { db, sent } = tableWithFailingDeletes();
    await expect(withLockWaiting(db, 'locks', clock, request, async () => 'raised')).resolves.toBe('raised');
    expect(sent).toEqual(['PutCommand', 'DeleteCommand']);
  });

  it("still fails with the work's own error, whatever the release does", async () => {
    const { db } = tableWithFailingDeletes();
    await expect(
      withLockWaiting(db, 'locks', clock, request, async () => {
        throw new Error('SetDesiredCapacity failed');
      }),
    ).rejects.toThrow('SetDesiredCapacity failed');
  });
});
