// Telling a write's own lost success from a real conflict (pure: no I/O). The write carries a fresh
// id in the item (OWN_WRITE_ATTRIBUTE) and asks DynamoDB for the item as it is when the condition
// fails (ReturnValuesOnConditionCheckFailure: ALL_OLD). A retry whose first attempt applied finds
// our id there: the write happened, and the caller gets the success it missed. An Update is also
// guarded against applying twice (a counter ADDed again, or a condition its own first attempt
// still meets): its retry fails while the item still carries its id. A write of someone else in
// between replaces the id; items that many writers update at once keep their own ledger of
// applied writes (the alert router's windows).
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';

export const OWN_WRITE_ATTRIBUTE = 'ownWrite';
const NAME = '#ownWrite';
const VALUE = ':ownWrite';

export interface MarkedWrite {
  id: string;
  input: Record<string, unknown>;
  /** The caller asked for the item back (Update's ReturnValues): it gets the item as it is. */
  returnsItem: boolean;
}

/**
 * The document-client input of a conditional Put, or of an Update that is conditional or ADDs,
 * marked with `id`; undefined for anything else (those are safe to repeat as they are).
 */
export function markOwnWrite(
  commandName: string,
  input: Record<string, unknown>,
  id: string,
): MarkedWrite | undefined {
  const condition = typeof input?.ConditionExpression === 'string' ? input.ConditionExpression : undefined;
  const adds = typeof input?.UpdateExpression === 'string' && /(^|\s)ADD\s/i.test(input.UpdateExpression);
  if (condition === undefined && !(commandName === 'UpdateItemCommand' && adds)) return undefined;
  const onFailure = { ReturnValuesOnConditionCheckFailure: 'ALL_OLD' };
  const returnsItem = typeof input.ReturnValues === 'string' && input.ReturnValues !== 'NONE';
  if (commandName === 'PutItemCommand' && condition !== undefined) {
    const item = input.Item as Record<string, unknown>;
    return {
      id,
      returnsItem,
      input: { ...input, ...onFailure, Item: { ...item, [OWN_WRITE_ATTRIBUTE]: id } },
    };
  }
  if (commandName === 'UpdateItemCommand' && typeof input.UpdateExpression === 'string') {
    return {
      id,
      returnsItem,
      input: {
        ...input,
        ...onFailure,
        UpdateExpression: withOwnWriteSet(input.UpdateExpression),
        ConditionExpression: withNotAppliedGuard(condition),
        ExpressionAttributeNames: {
          ...(input.ExpressionAttributeNames as Record<string, string> | undefined),
          [NAME]: OWN_WRITE_ATTRIBUTE,
        },
        ExpressionAttributeValues: {
          ...(input.ExpressionAttributeValues as Record<string, unknown> | undefined),
          [VALUE]: id,
        },
      },
    };
  }
  return undefined;
}

/** Adds `#ownWrite = :ownWrite` to the expression's one SET clause, or a SET clause of its own. */
export function withOwnWriteSet(expression: string): string {
  const set = /(^|\s)SET\s+/i.exec(expression);
  const assignment = `${NAME} = ${VALUE}`;
  if (!set) return `SET ${assignment} ${expression}`;
  const at = set.index + set[0].length;
  return `${expression.slice(0, at)}${assignment}, ${expression.slice(at)}`;
}

/** The write's condition, and: not already applied by this same write (a retry of it). */
export function withNotAppliedGuard(condition: string | undefined): string {
  const guard = `(attribute_not_exists(${NAME}) OR ${NAME} <> ${VALUE})`;
  return condition === undefined ? guard : `(${condition}) AND ${guard}`;
}

/**
 * The output a marked write should have returned when `error` is its own retry failing the
 * condition its first attempt met; undefined when the error is anything else.
 */
export function ownWriteOutput(
  marked: MarkedWrite,
  error: unknown,
): { Attributes?: Record<string, unknown> } | undefined {
  const item = itemOfConditionFailure<Record<string, unknown>>(error);
  if (item?.[OWN_WRITE_ATTRIBUTE] !== marked.id) return undefined;
  return marked.returnsItem ? { Attributes: item } : {};
}

/** The item as it was when a marked write's condition failed (the marks ask for it), if any. */
export function itemOfConditionFailure<T>(error: unknown): T | undefined {
  const failure = error as { name?: string; Item?: Record<string, AttributeValue> } | undefined;
  if (failure?.name !== 'ConditionalCheckFailedException' || !failure.Item) return undefined;
  return unmarshall(failure.Item) as T;
}
