// Console usability: every workflow's input has a JSON Schema (generated from its zod schema,
// committed under events/schemas/) and example inputs (events/inputs/) that both accept.
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { parseOrThrow } from '../../functions/shared/validation.ts';
import {
  EXAMPLES_DIR,
  inputJsonSchema,
  REPO_ROOT,
  renderInputSchemas,
  SCHEMAS_DIR,
  schemaFileOf,
  WORKFLOW_INPUTS,
} from '../../tools/write-input-schemas.ts';

const readJson = (file: string): unknown => JSON.parse(readFileSync(join(REPO_ROOT, file), 'utf8'));

const examples = readdirSync(join(REPO_ROOT, EXAMPLES_DIR))
  .filter((f) => f.endsWith('.json'))
  .sort();
const workflowOf = (file: string) => WORKFLOW_INPUTS.find((w) => basename(file).startsWith(w.examplePrefix));

// Formats are not validated: z.toJSONSchema writes every format's regex as `pattern` beside it.
const ajv = new Ajv2020({ strict: true, allErrors: true, validateFormats: false });

describe('workflow input JSON Schemas', () => {
  it('cover every workflow in workflows/', () => {
    const workflows = readdirSync(join(REPO_ROOT, 'workflows'))
      .filter((f) => f.endsWith('.ts'))
      .map((f) => f.replace(/\.ts$/, ''))
      .sort();
    expect(WORKFLOW_INPUTS.map((w) => w.workflow).sort()).toEqual(workflows);
  });

  it('are committed and up to date with the zod schemas (npm run schemas)', () => {
    const rendered = renderInputSchemas();
    const committed = readdirSync(join(REPO_ROOT, SCHEMAS_DIR))
      .filter((f) => f.endsWith('.json'))
      .map((f) => `${SCHEMAS_DIR}/${f}`)
      .sort();
    expect(committed, 'schema files without a workflow, or missing ones').toEqual(
      [...rendered.keys()].sort(),
    );
    for (const [file, text] of rendered) {
      // Compared as JSON: the files are formatted by biome, the generator's text is not.
      expect(readJson(file), `${file} is stale: run npm run schemas`).toEqual(JSON.parse(text));
    }
  });

  it('are valid draft 2020-12 schemas that ajv compiles in strict mode', () => {
    for (const entry of WORKFLOW_INPUTS) {
      const schema = readJson(schemaFileOf(entry.workflow)) as Record<string, unknown>;
      expect(ajv.validateSchema(schema), `${entry.workflow}: ${ajv.errorsText()}`).toBe(true);
      expect(() => ajv.compile(schema)).not.toThrow();
      expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    }
  });

  it('give every workflow at least one example input', () => {
    for (const entry of WORKFLOW_INPUTS) {
      expect(
        examples.filter((f) => workflowOf(f) === entry),
        entry.workflow,
      ).not.toHaveLength(0);
    }
    expect(
      examples.filter((f) => !workflowOf(f)),
      'examples of no workflow',
    ).toEqual([]);
  });

  describe.each(examples)('example %s', (file) => {
    const entry = workflowOf(file);
    const input = readJson(`${EXAMPLES_DIR}/${file}`);

    it('validates against its JSON Schema (ajv)', () => {
      const validate = ajv.compile(readJson(schemaFileOf(entry?.workflow ?? '?')) as object);
      expect(validate(input), ajv.errorsText(validate.errors)).toBe(true);
    });

    it("validates against its zod schema (the workflow's first state)", () => {
      const parsed = entry?.schema.safeParse(input);
      expect(parsed?.success, JSON.stringify(parsed?.error?.issues)).toBe(true);
      expect(() =>
        parseOrThrow(entry?.schema as NonNullable<typeof entry>['schema'], input, 'input'),
      ).not.toThrow();
    });
  });

  it('reject what the first state rejects for shape: a wrong type, a missing or unknown field', () => {
    const spotSurge = WORKFLOW_INPUTS.find((w) => w.workflow === 'spot-surge');
    const scale = WORKFLOW_INPUTS.find((w) => w.workflow === 'scale-service');
    const rollout = WORKFLOW_INPUTS.find((w) => w.workflow === 'blue-green-rollout');
    const cases: [typeof spotSurge, unknown][] = [
      [spotSurge, { cluster: 'web', instances: [], replacements: 1 }],
      [
        spotSurge,
        { cluster: 'web', instances: [{ instanceId: 'i-1', containerInstanceArn: 'x' }], replacements: 1 },
      ],
      [scale, { cluster: 'web', service: 'api', desiredCount: '6', reason: 'as a string' }],
      [scale, { cluster: 'web', service: 'api', desiredCount: 6, reason: 'typo', dryrun: true }],
      [rollout, { cluster: 'web', service: 'api', image: 'x', strategy: { type: 'bogus' } }],
      [
        rollout,
        { cluster: 'web', service: 'api', image: 'x', strategy: { type: 'all-at-once' }, approval: 'later' },
      ],
    ];
    for (const [entry, input] of cases) {
      if (!entry) throw new Error('unknown workflow');
      const validate = ajv.compile(inputJsonSchema(entry));
      expect(validate(input), JSON.stringify(input)).toBe(false);
      expect(entry.schema.safeParse(input).success, JSON.stringify(input)).toBe(false);
    }
  });
});
