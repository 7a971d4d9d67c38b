// Bad input against the deployed control plane: the SQS-fed functions, given batches of fuzzed
// events, never throw (each bad record is a batch item failure, so SQS retries it and then
// dead-letters it), and invoked directly they answer InvalidInput naming a field; each
// workflow's first state rejects fuzzed console input. Nothing in the emulator changes: the
// snapshot (instances, capacities, desired counts, listener weights, every table, executions,
// queues) is the same before and after. Seeded and bounded (numRuns), like bad-input.test.ts.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AlarmStateChangeSchema } from '../../events/alarm-state-change.ts';
import { OperatorEventSchema } from '../../events/operator-events.ts';
import { SpotEventSchema } from '../../events/spot-events.ts';
import { localFunction } from '../../local/lambda-host.ts';
import { VirtualClock } from '../../local/virtual-clock.ts';
import { runDeployedWorkflow } from '../../local/workflows.ts';
import { WORKFLOW_INPUTS } from '../../tools/write-input-schemas.ts';
import {
  ALARM_SAMPLES,
  badInputs,
  examplesOf,
  isInvalid,
  isRealPath,
  type Json,
  OPERATOR_SAMPLES,
  OTHER_EVENTS,
  rejectionOf,
  SEED,
  SPOT_SAMPLES,
  workflowRoot,
} from './fuzz.ts';
import { snapshot, sqsBatch, useReliabilityWorld } from './world.ts';

const BATCH_RUNS = 50;
const DIRECT_RUNS = 25;
const WORKFLOW_RUNS = 4;

/** What the function parses from an SQS body: JSON, or the text itself (see sqs-batch.ts). */
function bodyValue(body: unknown): unknown {
  if (typeof body !== 'string') return body;
  try {
    return JSON.parse(body);
  } catch {
    return body;
  }
}

/** Bodies the function must reject: bad JSON documents, and bodies that are not JSON at all. */
function badBodies(
  schema: typeof SpotEventSchema | typeof AlarmStateChangeSchema | typeof OperatorEventSchema,
  documents: Json[],
) {
  const notJson = fc.oneof(
    fc.string({ maxLength: 40 }),
    fc.constantFrom('{', '{"detail-type": ', 'null', '', '\u0000', '[]'),
  );
  return fc.oneof(badInputs(documents), notJson).filter((body) => isInvalid(schema, bodyValue(body)));
}

const SQS_FUNCTIONS = [
  { name: 'spot-interruption', schema: SpotEventSchema, documents: [...SPOT_SAMPLES, ...OTHER_EVENTS] },
  { name: 'scale-alarm', schema: AlarmStateChangeSchema, documents: [...ALARM_SAMPLES, ...OTHER_EVENTS] },
  {
    name: 'remediation-trigger',
    schema: AlarmStateChangeSchema,
    documents: [...ALARM_SAMPLES, ...OTHER_EVENTS],
  },
  { name: 'event-alerts', schema: OperatorEventSchema, documents: [...OPERATOR_SAMPLES, ...SPOT_SAMPLES] },
] as const;

describe('bad input against the deployed control plane', () => {
  const world = useReliabilityWorld();

  describe.each(SQS_FUNCTIONS.map((f) => [f.name, f] as const))('%s', (name, fn) => {
    it('reports every fuzzed record of a batch as a batch item failure, throws nothing, changes nothing', async () => {
      const before = await snapshot();
      const handler = await localFunction(world.stack, name);
      await fc.assert(
        fc.asyncProperty(
          fc.array(badBodies(fn.schema, [...fn.documents]), { minLength: 1, maxLength: 10 }),
          async (bodies) => {
            const event = sqsBatch(bodies);
            const response = (await handler.invoke(event)) as {
              batchItemFailures: { itemIdentifier: string }[];
            };
            expect(response.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(
              event.Records.map((r) => r.messageId).sort(),
            );
          },
        ),
        { seed: SEED, numRuns: BATCH_RUNS },
      );
      expect(await snapshot()).toEqual(before);
    });

    it('invoked directly with a fuzzed event, fails with InvalidInput naming a field of it', async () => {
      const before = await snapshot();
      const handler = await localFunction(world.stack, name);
      const direct = badInputs([...fn.documents]).filter(
        // An object with Records of messageIds is an SQS batch, not a direct invocation.
        (v) => isInvalid(fn.schema, v) && !(v !== null && typeof v === 'object' && 'Records' in v),
      );
      await fc.assert(
        fc.asyncProperty(direct, async (event) => {
          const error = await handler.invoke(event).then(
            () => undefined,
            (e: unknown) => e as { name?: string; field?: string; message?: string },
          );
          expect(error?.name).toBe('InvalidInput');
          expect(isRealPath(event, error?.field ?? '?', ''), `field ${error?.field}`).toBe(true);
          expect(error?.message).toBe(rejectionOf(fn.schema, event, '')?.message);
        }),
        { seed: SEED + 1, numRuns: DIRECT_RUNS },
      );
      expect(await snapshot()).toEqual(before);
    });
  });

  describe.each(WORKFLOW_INPUTS.map((w) => [w.workflow, w] as const))('%s workflow', (workflow, entry) => {
    it('fails fuzzed console input in its first state with InvalidInput, naming the field, changing nothing', async () => {
      const before = await snapshot();
      const root = workflowRoot(workflow);
      // aws-local-stepfunctions evaluates `$` of a falsy root ("", 0, false) as no value and fails
      // the run with States.Runtime; Step Functions passes it to the first state, which rejects it.
      // Those inputs are left to the schema fuzzing of tests/reliability/bad-input.test.ts (docs/testing.md).
      const inputs = badInputs(examplesOf(workflow)).filter(
        (v) => isInvalid(entry.schema, v) && !(v === '' || v === 0 || v === false),
      );
      await fc.assert(
        fc.asyncProperty(inputs, async (input) => {
          const expected = rejectionOf(entry.schema, input, root);
          const result = await runDeployedWorkflow(world.stack, workflow, input, {
            clock: new VirtualClock(),
          });
          expect(result.status).toBe('FAILED');
          expect(result.error, result.cause).toBe('InvalidInput');
          expect(result.states).toEqual(['Validate input', 'Input rejected']);
          // The console shows Lambda's error JSON; its message is the one parseOrThrow wrote.
          expect(JSON.parse(result.cause ?? '{}').errorMessage).toBe(expected?.message);
          expect(isRealPath(input, expected?.field ?? '?', root)).toBe(true);
        }),
        { seed: SEED + 2, numRuns: WORKFLOW_RUNS },
      );
      expect(await snapshot()).toEqual(before);
    });
  });
});
