// Marking conditional writes so a retry can tell its own lost success from a real conflict.
import { describe, expect, it } from 'vitest';
import {
  markOwnWrite,
  OWN_WRITE_ATTRIBUTE,
  ownWriteOutput,
  withOwnWriteSet,
} from '../../functions/shared/own-writes.ts';

describe('own conditional writes', () => {
  it('adds the mark to the one SET clause, or a SET clause of its own, whatever else the expression does', () => {
    expect(withOwnWriteSet('SET a = :a, b = :b REMOVE c')).toBe(
      'SET #ownWrite = :ownWrite, a = :a, b = :b REMOVE c',
    );
    expect(withOwnWriteSet('REMOVE openWindow')).toBe('SET #ownWrite = :ownWrite REMOVE openWindow');
    expect(withOwnWriteSet('ADD #repeats :set')).toBe('SET #ownWrite = :ownWrite ADD #repeats :set');
    expect(withOwnWriteSet('ADD n :one set x = :x')).toBe('ADD n :one set #ownWrite = :ownWrite, x = :x');
  });

  it('marks conditional Puts, and Updates that are conditional or ADD, and asks for the item when the condition fails', () => {
    expect(markOwnWrite('PutItemCommand', { TableName: 't', Item: { id: 'a' } }, 'w1')).toBeUndefined();
    expect(markOwnWrite('DeleteItemCommand', { ConditionExpression: 'x = :x' }, 'w1')).toBeUndefined();
    expect(markOwnWrite('UpdateItemCommand', { UpdateExpression: 'SET a = :a' }, 'w1')).toBeUndefined();
    // A counter ADDed again by a retry would count twice: guarded though it has no condition.
    expect(
      markOwnWrite('UpdateItemCommand', { UpdateExpression: 'SET a = :a ADD n :one' }, 'w1')?.input,
    ).toMatchObject({
      UpdateExpression: 'SET #ownWrite = :ownWrite, a = :a ADD n :one',
      ConditionExpression: '(attribute_not_exists(#ownWrite) OR #ownWrite <> :ownWrite)',
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    });
    const put = markOwnWrite(
      'PutItemCommand',
      { Item: { id: 'a' }, ConditionExpression: 'attribute_not_exists(id)' },
      'w1',
    );
    expect(put?.input).toMatchObject({
      Item: { id: 'a', [OWN_WRITE_ATTRIBUTE]: 'w1' },
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    });
    const update = markOwnWrite(
      'UpdateItemCommand',
      {
        UpdateExpression: 'SET a = :a',
        ConditionExpression: 'a < :a',
        ExpressionAttributeValues: { ':a': 1 },
        ReturnValues: 'ALL_NEW',
      },
      'w2',
    );
    expect(update?.input).toMatchObject({
      UpdateExpression: 'SET #ownWrite = :ownWrite, a = :a',
      // Its retry fails while the item still carries its mark, even if its own condition still holds.
      ConditionExpression: '(a < :a) AND (attribute_not_exists(#ownWrite) OR #ownWrite <> :ownWrite)',
      ExpressionAttributeNames: { '#ownWrite': OWN_WRITE_ATTRIBUTE },
      ExpressionAttributeValues: { ':a': 1, ':ownWrite': 'w2' },
    });
    expect(update?.returnsItem).toBe(true);
  });

  it('answers a failed condition on an item carrying our mark as success, anything else as the error it is', () => {
    const marked = markOwnWrite(
      'UpdateItemCommand',
      { UpdateExpression: 'SET a = :a', ConditionExpression: 'c', ReturnValues: 'ALL_NEW' },
      'mine',
    );
    if (!marked) throw new Error('not marked');
    const failure = (mark?: string) =>
      Object.assign(new Error('The conditional request failed'), {
        name: 'ConditionalCheckFailedException',
        ...(mark ? { Item: { id: { S: 'a' }, a: { N: '2' }, [OWN_WRITE_ATTRIBUTE]: { S: mark } } } : {}),
      });
    expect(ownWriteOutput(marked, failure('mine'))).toEqual({
      Attributes: { id: 'a', a: 2, ownWrite: 'mine' },
    });
    expect(ownWriteOutput(marked, failure('theirs'))).toBeUndefined();
    expect(ownWriteOutput(marked, failure())).toBeUndefined();
    expect(
      ownWriteOutput(marked, Object.assign(new Error('slow down'), { name: 'ThrottlingException' })),
    ).toBeUndefined();
  });
});
