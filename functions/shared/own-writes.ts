// Telling a conditional write's own lost success from a real conflict (pure: no I/O). The write
// carries a fresh id in the item (OWN_WRITE_ATTRIBUTE) and asks DynamoDB for the item as it is when
// the condition fails (ReturnValuesOnConditionCheckFailure: ALL_OLD). A retry whose first attempt
// applied finds our id there: the write happened, and the caller gets the success it missed.
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
 * The document-client input of a conditional Put or Update, marked with `id`; undefined for
 * anything else (unconditional writes are safe to repeat as they are).
 */
export function markOwnWrite(
  commandName: string,
  input: Record<string, unknown>,
  id: string,
): MarkedWrite | undefined {
  if (typeof input?.ConditionExpression !== 'string') return undefined;
  const onFailure = { ReturnValuesOnConditionCheckFailure: 'ALL_OLD' };
  const returnsItem = typeof input.ReturnValues === 'string' && input.ReturnValues !== 'NONE';
  if (commandName === 'PutItemCommand') {
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

/**
 * The output a marked write should have returned when `error` is its own retry failing the
 * condition its first attempt met; undefined when the error is anything else.
 */
export function ownWriteOutput(
  marked: MarkedWrite,
  error: unknown,
): { Attributes?: Record<string, unknown> } | undefined {
  const failure = error as { name?: string; Item?: Record<string, AttributeValue> } | undefined;
  if (failure?.name !== 'ConditionalCheckFailedException') return undefined;
  const item = failure.Item;
  if (item?.[OWN_WRITE_ATTRIBUTE]?.S !== marked.id) return undefined;
  return marked.returnsItem ? { Attributes: unmarshall(item) } : {};
}
