// Bad input, property-based: for every event schema and every workflow input, arbitrary JSON
// and mutations of the real samples and example inputs are either accepted or rejected with an
// InvalidInputError (name InvalidInput) whose field is a path of the input; nothing else is
// ever thrown. Seeded, bounded runs (see SEED): a failure prints the counterexample to replay.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseOrThrow } from '../../functions/shared/validation.ts';
import { badInputs, isRealPath, mutationsOf, rejectionOf, SEED, TARGETS } from './fuzz.ts';

const RUNS = { arbitrary: 300, mutations: 400 };

describe.each(TARGETS.map((t) => [t.name, t] as const))('%s', (_, target) => {
  it('accepts its real samples and example inputs', () => {
    expect(target.valid.length).toBeGreaterThan(0);
    for (const doc of target.valid) expect(() => parseOrThrow(target.schema, doc, target.root)).not.toThrow();
  });

  const property = (value: unknown) => {
    const error = rejectionOf(target.schema, value, target.root);
    if (!error) return;
    expect(isRealPath(value, error.field, target.root), `field ${error.field} of ${preview(value)}`).toBe(
      true,
    );
    expect(error.message.startsWith(`${error.field}: `)).toBe(true);
    expect(error.problem.length).toBeGreaterThan(0);
  };

  it('rejects arbitrary JSON with InvalidInput naming a field of it', () => {
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 4 }), property), { seed: SEED, numRuns: RUNS.arbitrary });
  });

  it('rejects arbitrary JavaScript values (not only JSON) the same way', () => {
    fc.assert(fc.property(fc.anything({ maxDepth: 3, withBigInt: true, withMap: true }), property), {
      seed: SEED + 1,
      numRuns: RUNS.arbitrary,
    });
  });

  it('rejects mutated samples (dropped, wrong-typed, extra, huge and unicode fields) naming the field', () => {
    let rejected = 0;
    fc.assert(
      fc.property(mutationsOf(target.valid), (value) => {
        if (rejectionOf(target.schema, value, target.root)) rejected++;
        property(value);
      }),
      { seed: SEED + 2, numRuns: RUNS.mutations },
    );
    // The mutations do reach the schema's checks: most of them break the document.
    expect(rejected).toBeGreaterThan(RUNS.mutations / 4);
  });

  it('mixes both in one stream without state carried between parses', () => {
    fc.assert(
      fc.property(fc.array(badInputs(target.valid), { minLength: 1, maxLength: 5 }), (values) => {
        for (const value of values) property(value);
        for (const doc of target.valid)
          expect(() => parseOrThrow(target.schema, doc, target.root)).not.toThrow();
      }),
      { seed: SEED + 3, numRuns: 60 },
    );
  });
});

function preview(value: unknown): string {
  try {
    const text = JSON.stringify(value) ?? String(value);
    return text.length > 300 ? `${text.slice(0, 300)}...` : text;
  } catch {
    return String(value);
  }
}
