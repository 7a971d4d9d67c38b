// The function bundles validate with events/zod-lite.ts in place of zod/mini (esbuild.config.mjs).
// Here every schema a function carries is built both ways, from the same source: with zod/mini as
// vitest imports it, and with zod-lite as esbuild bundles it. Each pair must agree on every input,
// valid and not: whether it parses, the data it gives, and each issue (code, path, message, input
// and the rest), since those are the field-naming errors operators read.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIST_FUNCTIONS_DIR, discoverFunctions, REQUIRE_SHIM, zodLitePlugin } from '../../esbuild.config.mjs';
import { datetimePattern } from '../../events/zod-lite.ts';
import { REPO_ROOT } from '../../local/python-env.ts';

type Parser = {
  safeParse: (
    value: unknown,
    ctx?: { reportInput?: boolean },
  ) => {
    success: boolean;
    data?: unknown;
    error?: { issues: unknown[] };
  };
  parse: (value: unknown) => unknown;
};
// zod/mini's internals, read here only to generate inputs that reach every branch.
interface ZodDef {
  type: string;
  checks?: { _zod: { def: Record<string, unknown> } }[];
  shape?: Record<string, ZodSchema>;
  catchall?: ZodSchema;
  element?: ZodSchema;
  valueType?: ZodSchema;
  options?: ZodSchema[];
  innerType?: ZodSchema;
  in?: ZodSchema;
  out?: ZodSchema;
  entries?: Record<string, unknown>;
  values?: unknown[];
  coerce?: boolean;
  format?: string;
  pattern?: RegExp;
  check?: string;
  minimum?: number;
  maximum?: number;
  value?: number;
  inclusive?: boolean;
  prefix?: string;
}
interface ZodSchema extends Parser {
  _zod: { def: ZodDef };
}

/** Modules under functions/ and events/ that build schemas (they import events/zod.ts). */
function schemaModules(): string[] {
  const files: string[] = [];
  for (const dir of ['functions', 'events']) {
    for (const file of readdirSync(join(REPO_ROOT, dir), { recursive: true, encoding: 'utf8' })) {
      if (!file.endsWith('.ts') || file.endsWith('zod.ts') || file.endsWith('zod-lite.ts')) continue;
      const path = join(REPO_ROOT, dir, file);
      if (/^import \* as z from '[./]+(events\/)?zod\.ts';$/m.test(readFileSync(path, 'utf8')))
        files.push(path);
    }
  }
  return files.sort();
}

const isZod = (v: unknown): v is ZodSchema => typeof v === 'object' && v !== null && '_zod' in v;

const weird = fc.oneof(
  fc.constant(undefined),
  fc.constant(null),
  fc.boolean(),
  fc.integer({ min: -5, max: 5 }),
  fc.constantFrom(0.5, -1e21, 2 ** 60, Number.NaN, Number.POSITIVE_INFINITY),
  fc.string({ maxLength: 6 }),
  fc.constantFrom('', ' padded ', '😀😀', '12', 'true'),
  fc.constant([]),
  fc.constant({}),
  fc.constant({ extra: 1 }),
  fc.array(fc.integer(), { maxLength: 3 }),
);

/** Inputs shaped by the schema (so that deep branches are reached), each part sometimes wrong. */
function inputs(schema: ZodSchema, depth = 0): fc.Arbitrary<unknown> {
  const shaped = shapedInputs(schema, depth);
  return fc.oneof({ weight: 6, arbitrary: shaped }, { weight: 1, arbitrary: weird });
}

function checksOf(def: ZodDef): Record<string, unknown>[] {
  return (def.checks ?? []).map((c) => c._zod.def);
}

function shapedInputs(schema: ZodSchema, depth: number): fc.Arbitrary<unknown> {
  const def = schema._zod.def;
  const checks = checksOf(def);
  const find = (check: string) => checks.find((c) => c.check === check);
  switch (def.type) {
    case 'string': {
      const regex = checks.find((c) => c.format === 'regex')?.pattern as RegExp | undefined;
      const pattern = regex ?? (def.format === 'datetime' ? def.pattern : undefined);
      const prefix = find('string_format')?.prefix as string | undefined;
      const min = (find('min_length')?.minimum as number | undefined) ?? 0;
      const max = find('max_length')?.maximum as number | undefined;
      const near = fc.string({
        minLength: Math.max(0, min - 1),
        maxLength: (max ?? min + 8) + 1,
        unit: 'grapheme',
      });
      const options: fc.Arbitrary<unknown>[] = [near];
      if (pattern) options.push(fc.stringMatching(pattern));
      if (def.format === 'datetime')
        options.push(
          fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
          fc.constant('2026-12-05T10:00:00+01:00'),
        );
      if (prefix) options.push(near.map((s) => `${prefix}${s}`));
      return fc.oneof(...options);
    }
    case 'number': {
      const lower = checks.find((c) => c.check === 'greater_than')?.value as number | undefined;
      const upper = checks.find((c) => c.check === 'less_than')?.value as number | undefined;
      const lo = Math.max(-1e6, (lower ?? -50) - 2);
      const hi = Math.min(1e6, (upper ?? 5000) + 2);
      const numbers = fc.oneof(
        fc.integer({ min: Math.ceil(lo), max: Math.floor(hi) }),
        fc.double({ min: lo, max: hi, noNaN: true }),
      );
      return def.coerce ? fc.oneof(numbers.map(String), fc.constantFrom('', 'x', ' 7 ')) : numbers;
    }
    case 'boolean':
      return fc.boolean();
    case 'enum':
      return fc.constantFrom(...Object.values(def.entries ?? {}));
    case 'literal':
      return fc.constantFrom(...(def.values ?? []));
    case 'unknown':
      return fc.jsonValue({ maxDepth: 2 });
    case 'never':
      return weird;
    case 'object': {
      const shape = def.shape ?? {};
      const fields = Object.fromEntries(Object.entries(shape).map(([k, s]) => [k, inputs(s, depth + 1)]));
      const record = fc.record(fields, { requiredKeys: [] });
      const required = fc.record(fields);
      return fc
        .tuple(
          fc.oneof(required, required, record),
          fc.option(fc.constantFrom('extra', 'Extra', '__proto__')),
        )
        .map(([value, extra]) => (extra ? { ...(value as object), [extra]: 1 } : value));
    }
    case 'array': {
      const element = inputs(def.element as ZodSchema, depth + 1);
      const min = (find('min_length')?.minimum as number | undefined) ?? 0;
      const max = find('max_length')?.maximum as number | undefined;
      const usual = fc.array(element, { minLength: Math.max(0, min - 1), maxLength: Math.max(min + 1, 3) });
      if (max === undefined) return usual;
      // Past its maxLength an array fails that check alone, before its elements are parsed.
      const tooLong = fc.array(element, { minLength: max + 1, maxLength: max + 2 });
      return fc.oneof({ weight: 5, arbitrary: usual }, { weight: 1, arbitrary: tooLong });
    }
    case 'record':
      return fc.dictionary(fc.string({ maxLength: 5 }), inputs(def.valueType as ZodSchema, depth + 1), {
        maxKeys: 3,
      });
    case 'optional':
    case 'default':
    case 'prefault':
      return fc.option(inputs(def.innerType as ZodSchema, depth + 1), { nil: undefined, freq: 4 });
    case 'nullable':
      return fc.option(inputs(def.innerType as ZodSchema, depth + 1), { nil: null, freq: 4 });
    case 'pipe': {
      const first = def.in as ZodSchema;
      // A transform takes anything; what the next schema wants is the likeliest to pass it.
      if (first._zod.def.type === 'transform')
        return fc.oneof(inputs(def.out as ZodSchema, depth + 1), fc.jsonValue({ maxDepth: 2 }));
      return inputs(first, depth + 1);
    }
    case 'transform':
      return fc.jsonValue({ maxDepth: 2 });
    case 'union':
      return fc.oneof(...(def.options ?? []).map((o) => inputs(o, depth + 1)));
    default:
      throw new Error(`no inputs for a zod ${def.type} schema: teach this test (and zod-lite) the type`);
  }
}

const outcome = (schema: Parser, value: unknown) => {
  const result = schema.safeParse(structuredClone(value), { reportInput: true });
  if (result.success) return { success: true, data: result.data };
  // What .parse() throws is what a handler logs: its name, and its message (the issues as JSON).
  let thrown: unknown;
  try {
    schema.parse(structuredClone(value));
  } catch (error) {
    thrown = { name: (error as Error).name, message: (error as Error).message, text: String(error) };
  }
  return { success: false, issues: result.error?.issues, thrown };
};

describe('zod-lite, the validator the function bundles carry', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'zod-lite-'));
  const pairs: { name: string; real: ZodSchema; lite: Parser }[] = [];

  beforeAll(async () => {
    const modules = schemaModules();
    const entry = modules.map((m, i) => `export * as m${i} from ${JSON.stringify(m)};`).join('\n');
    const outfile = join(scratch, 'schemas.mjs');
    await build({
      stdin: { contents: entry, resolveDir: REPO_ROOT, sourcefile: 'schemas.ts', loader: 'ts' },
      outfile,
      bundle: true,
      format: 'esm',
      platform: 'node',
      target: 'node24',
      mainFields: ['module', 'main'],
      banner: { js: REQUIRE_SHIM },
      plugins: [zodLitePlugin],
      logLevel: 'error',
    });
    const lite = (await import(pathToFileURL(outfile).href)) as Record<string, Record<string, unknown>>;
    for (const [i, path] of modules.entries()) {
      const real = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
      for (const [name, value] of Object.entries(real)) {
        if (!isZod(value)) continue;
        const liteValue = lite[`m${i}`]?.[name];
        pairs.push({ name: `${relative(REPO_ROOT, path)}: ${name}`, real: value, lite: liteValue as Parser });
      }
    }
  }, 120_000);
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('is what the function bundles carry: no zod/mini in any of them', async () => {
    const names = await discoverFunctions();
    expect(names.length).toBeGreaterThan(5);
    for (const name of names) {
      const meta = JSON.parse(readFileSync(join(DIST_FUNCTIONS_DIR, name, 'meta.json'), 'utf8')) as {
        inputs: Record<string, unknown>;
      };
      const inputs = Object.keys(meta.inputs);
      expect(
        inputs.filter((p) => p.includes('node_modules/zod/')),
        name,
      ).toEqual([]);
      expect(inputs, name).toContain('events/zod-lite.ts');
    }
  });

  it('covers every schema the handlers parse with', () => {
    const names = pairs.map((p) => p.name);
    expect(pairs.length).toBeGreaterThan(80);
    for (const expected of [
      'events/rollout-input.ts: RolloutInputSchema',
      'events/rollout-state.ts: RolloutStateSchema',
      'events/scale-input.ts: ScaleInputSchema',
      'events/remediation-input.ts: RemediationInputSchema',
      'events/spot-events.ts: SpotEventSchema',
      'events/spot-surge-input.ts: SpotSurgeStateSchema',
      'events/ecs-lifecycle-hook.ts: LifecycleHookPayloadSchema',
      'functions/rollout-step/handler.ts: RequestSchema',
      'functions/remediate-step/handler.ts: StepRequestSchema',
      'functions/scale-service-step/handler.ts: StepRequestSchema',
      'functions/spot-surge-step/handler.ts: StepRequestSchema',
      'functions/shared/alerts.ts: AlertSchema',
    ]) {
      expect(names).toContain(expected);
    }
    for (const pair of pairs) expect(typeof pair.lite?.safeParse, pair.name).toBe('function');
  });

  it("accepts exactly the date-times zod/mini's z.iso.datetime() accepts", async () => {
    const z = await import('../../events/zod.ts');
    for (const offset of [false, true]) {
      const real = z.iso.datetime({ offset })._zod.def.pattern as RegExp;
      expect(datetimePattern(offset).source).toBe(real.source);
    }
  });

  it('gives the same data, or the same issues, as zod/mini for every schema and input', () => {
    for (const { name, real, lite } of pairs) {
      fc.assert(
        fc.property(inputs(real), (value) => {
          expect(outcome(lite, value), `${name} on ${JSON.stringify(value)}`).toStrictEqual(
            outcome(real, value),
          );
        }),
        { numRuns: 150, seed: 20261205 },
      );
    }
  });
});
