// Writes events/schemas/<workflow>.input.schema.json from the workflows' zod input schemas, with
// zod 4's own z.toJSONSchema: the zod schemas stay the one definition (the first state parses
// with them), the JSON Schemas are what editors, the console and other tools can read.
// `npm run schemas` rewrites them; tests/reliability/input-schemas.test.ts fails when they are stale.
//
// What JSON Schema cannot say is left to the first state: cross-field rules (exactly one of
// image or taskDefinition; one of desiredCount, delta, percent, min/max; increasing step weights)
// and custom checks (a pre-traffic hook's ARN). A document valid here may still be rejected
// there, by field name; one invalid here is always rejected there.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { RemediationInputSchema } from '../events/remediation-input.ts';
import { ApprovalSchema, RolloutInputSchema } from '../events/rollout-input.ts';
import { ScaleInputSchema } from '../events/scale-input.ts';
import { SpotSurgeInputSchema } from '../events/spot-surge-input.ts';
import { TrainInputSchema } from '../events/train-input.ts';
import * as z from '../events/zod.ts';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const SCHEMAS_DIR = 'events/schemas';
export const EXAMPLES_DIR = 'events/inputs';

export interface WorkflowInput {
  /** The workflow's name, as in workflows/<name>.ts and local/workflows.ts. */
  workflow: 'spot-surge' | 'scale-service' | 'blue-green-rollout' | 'release-train' | 'remediate-alarm';
  /** Where the zod schema is defined (repository-relative). */
  source: string;
  schema: z.ZodMiniType;
  /** Example inputs in events/inputs/ whose file name starts with this belong to the workflow. */
  examplePrefix: string;
}

export const WORKFLOW_INPUTS: readonly WorkflowInput[] = [
  {
    workflow: 'spot-surge',
    source: 'events/spot-surge-input.ts',
    schema: SpotSurgeInputSchema,
    examplePrefix: 'spot-surge',
  },
  {
    workflow: 'scale-service',
    source: 'events/scale-input.ts',
    schema: ScaleInputSchema,
    examplePrefix: 'scale-',
  },
  {
    workflow: 'blue-green-rollout',
    source: 'events/rollout-input.ts',
    schema: RolloutInputSchema,
    examplePrefix: 'rollout-',
  },
  {
    workflow: 'release-train',
    source: 'events/train-input.ts',
    schema: TrainInputSchema,
    examplePrefix: 'release-train',
  },
  {
    workflow: 'remediate-alarm',
    source: 'events/remediation-input.ts',
    schema: RemediationInputSchema,
    examplePrefix: 'remediate-alarm',
  },
];

export const schemaFileOf = (workflow: string): string => `${SCHEMAS_DIR}/${workflow}.input.schema.json`;

/** zod string checks that z.toJSONSchema writes as a `format` no validator knows; the `pattern` beside it says the same. */
const NON_STANDARD_FORMATS = new Set(['starts_with', 'ends_with', 'includes']);

type JsonObject = Record<string, unknown>;

/** The JSON Schema of one workflow's console input (what may be pasted: defaults make fields optional). */
export function inputJsonSchema(entry: WorkflowInput): JsonObject {
  const generated = z.toJSONSchema(entry.schema, {
    target: 'draft-2020-12',
    io: 'input',
    unrepresentable: 'throw',
    override: (ctx) => {
      const json = ctx.jsonSchema as JsonObject;
      if (typeof json.format === 'string' && NON_STANDARD_FORMATS.has(json.format)) delete json.format;
      // "approval": "before-traffic" is console shorthand for { "gate": "before-traffic" } (a
      // z.preprocess, which JSON Schema cannot see through): say both forms are accepted.
      if (ctx.zodSchema === ApprovalSchema) {
        const objectForm = { ...json };
        const gate = (objectForm.properties as JsonObject | undefined)?.gate as JsonObject | undefined;
        for (const key of Object.keys(json)) delete json[key];
        json.anyOf = [{ type: 'string', enum: gate?.enum ?? [] }, objectForm];
      }
    },
  }) as JsonObject;
  const { $schema, ...rest } = generated;
  return {
    $schema,
    title: `${entry.workflow} workflow input`,
    description: `Console input of the ${entry.workflow} state machine. Generated from ${entry.source} by tools/write-input-schemas.ts (npm run schemas): do not edit. The workflow's first state validates with the zod schema, which also checks the rules JSON Schema cannot express.`,
    ...rest,
  };
}

/** Every schema file's repository-relative path and text, as `npm run schemas` writes them. */
export function renderInputSchemas(): Map<string, string> {
  return new Map(
    WORKFLOW_INPUTS.map((entry) => [
      schemaFileOf(entry.workflow),
      `${JSON.stringify(inputJsonSchema(entry), null, 2)}\n`,
    ]),
  );
}

export function writeInputSchemas(root = REPO_ROOT): string[] {
  const written: string[] = [];
  for (const [file, text] of renderInputSchemas()) {
    const path = join(root, file);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
    written.push(file);
  }
  // Formatted as `npm run format` would (biome.json), so lint passes on what was written.
  const biome = spawnSync(join(root, 'node_modules', '.bin', 'biome'), ['format', '--write', ...written], {
    cwd: root,
    encoding: 'utf8',
  });
  if (biome.status !== 0) throw new Error(`biome format failed: ${biome.stderr || biome.stdout}`);
  return written;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  for (const file of writeInputSchemas()) process.stdout.write(`wrote ${file}\n`);
}
