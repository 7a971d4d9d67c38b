// The envelope EventBridge puts around every event it delivers
// (https://docs.aws.amazon.com/eventbridge/latest/ref/overiew-event-structure.html).
// Ours rather than a library's: the library's schema imports zod's whole namespace, which
// carries every locale into each function bundle. `account` is optional because we never read
// it and the emulator leaves it out when it delivers to a target.
import * as z from './zod.ts';

export const EventBridgeEnvelope = z.object({
  version: z.string(),
  id: z.string(),
  source: z.string(),
  account: z.optional(z.string()),
  time: z.iso.datetime(),
  region: z.string(),
  resources: z.array(z.string()),
  'detail-type': z.string(),
  detail: z.unknown(),
  'replay-name': z.optional(z.string()),
});
