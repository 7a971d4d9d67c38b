// A break-glass override: go ahead inside a freeze window (functions/shared/freeze-windows.ts).
// The reason is journaled with who asked, and alerted as a warning.
import * as z from './zod.ts';

export const BreakGlassSchema = z.strictObject({
  reason: z.string().check(z.trim(), z.minLength(3, 'say why, in a few words'), z.maxLength(300)),
});
export type BreakGlass = z.infer<typeof BreakGlassSchema>;
