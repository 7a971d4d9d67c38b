// What the alert queue carries: alerts raised by producers (the Alert JSON itself), the router's
// own delayed flush messages, one per grouping window, and a scheduled tick each minute, which
// has the router look at the silences when no alert comes (their starts and ends are announced).
import * as z from '../../events/zod.ts';
import { type Alert, AlertSchema } from '../shared/alerts.ts';
import { parseOrThrow } from '../shared/validation.ts';

export const FlushMessageSchema = z.object({
  flush: z.object({ group: z.string().check(z.minLength(1)), window: z.string().check(z.minLength(1)) }),
  /** The alert that opened the window: a flush that ends in the dead-letter queue still holds it. */
  alert: AlertSchema,
});
export type FlushMessage = z.infer<typeof FlushMessageSchema>;

/** What the schedule sends (infra/control-plane/alerting/alerting.ts). */
export const TICK_MESSAGE = { tick: 'alert-controls' } as const;
export const TickMessageSchema = z.object({ tick: z.literal(TICK_MESSAGE.tick) });

export type QueueMessage =
  | { type: 'alert'; alert: Alert }
  | { type: 'flush'; flush: FlushMessage }
  | { type: 'tick' };

/** Parses one queue message body; a bad one is an InvalidInputError naming the field. */
export function parseQueueMessage(body: unknown): QueueMessage {
  if (body !== null && typeof body === 'object' && 'flush' in body) {
    return { type: 'flush', flush: parseOrThrow(FlushMessageSchema, body) };
  }
  if (body !== null && typeof body === 'object' && 'tick' in body) {
    parseOrThrow(TickMessageSchema, body);
    return { type: 'tick' };
  }
  return { type: 'alert', alert: parseOrThrow(AlertSchema, body) };
}
