// `ops journal`: every decision the control plane journaled, oldest first, locally or on AWS.
import { CONTROL_PLANE_OUTPUTS } from '../infra/shared/stack-outputs.ts';
import { readJournal } from '../local/control-plane.ts';
import { controlPlaneOutputs, outputOf, type TargetFlags } from './target.ts';
import type { Out } from './usage.ts';

export async function journal(flags: TargetFlags & { limit?: string }, out: Out): Promise<number> {
  const table = outputOf(await controlPlaneOutputs(flags), CONTROL_PLANE_OUTPUTS.journalTable, 'the journal');
  const records = await readJournal(table);
  const limit = flags.limit ? Number(flags.limit) : records.length;
  const shown = records.slice(-limit);
  const human =
    shown.length === 0
      ? 'the journal is empty'
      : shown
          .map(
            (r) =>
              `${r.at.slice(0, 23)}  ${r.outcome.padEnd(9)} ${r.action.padEnd(22)} ${r.resource}\n    ${r.reason}`,
          )
          .join('\n');
  out(human, shown);
  return 0;
}
