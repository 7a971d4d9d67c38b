// Bad input for the reliability suite: every event schema and every workflow input, their real
// samples (events/samples/**) and example inputs (events/inputs/), and fast-check arbitraries
// that make arbitrary JSON or mutate those documents (drop a field, wrong type, extra field,
// huge strings, unicode). Shared by the schema fuzz tests and the emulator-backed ones.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import fc from 'fast-check';
import { AlarmStateChangeSchema } from '../../events/alarm-state-change.ts';
import {
  FargateSpotTaskInterruptionSchema,
  RebalanceRecommendationSchema,
  SpotEventSchema,
  SpotInterruptionWarningSchema,
} from '../../events/spot-events.ts';
import type * as z from '../../events/zod.ts';
import { InvalidInputError } from '../../functions/shared/errors.ts';
import { parseOrThrow } from '../../functions/shared/validation.ts';
import {
  EXAMPLES_DIR,
  REPO_ROOT,
  WORKFLOW_INPUTS,
  type WorkflowInput,
} from '../../tools/write-input-schemas.ts';

export type Json = fc.JsonValue;

/** Every fuzz run is reproducible: failures print the seed and the path to replay them. */
export const SEED = 20_261_120;

const SAMPLES_DIR = join(REPO_ROOT, 'events', 'samples');

function readSamples(dir: string): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) Object.assign(out, readSamples(path));
    else if (entry.name.endsWith('.json'))
      out[relative(SAMPLES_DIR, path)] = JSON.parse(readFileSync(path, 'utf8'));
  }
  return out;
}

/** events/samples/**, keyed by path under events/samples. */
export const SAMPLES = readSamples(SAMPLES_DIR);

export function sample(name: string): Json {
  const value = SAMPLES[name];
  if (value === undefined) throw new Error(`no sample ${name} (have ${Object.keys(SAMPLES).join(', ')})`);
  return value;
}

export const SPOT_SAMPLES = [
  'aws/ec2-spot-instance-interruption-warning.json',
  'aws/ec2-instance-rebalance-recommendation.json',
  'constructed/ecs-task-state-change-fargate-spot-interruption.json',
].map(sample);
export const ALARM_SAMPLES = ['aws/cloudwatch-alarm-state-change.json'].map(sample);
/** Real AWS events that no capability here acts on (rules route them to event-alerts only). */
export const OTHER_EVENTS = ['aws/ecs-deployment-state-change-failed.json'].map(sample);
/** What event-alerts takes: each documented event it turns into an alert. */
export const OPERATOR_SAMPLES = [
  'aws/ecs-deployment-state-change-failed.json',
  'aws/ecs-service-action-task-placement-failure.json',
  'aws/aws-health-ec2-issue.json',
  'aws/aws-health-ecs-scheduled-change.json',
  'aws/autoscaling-launch-unsuccessful.json',
  'aws/cloudwatch-alarm-state-change.json',
].map(sample);

export function examplesOf(workflow: WorkflowInput['workflow']): Json[] {
  const entry = WORKFLOW_INPUTS.find((w) => w.workflow === workflow);
  if (!entry) throw new Error(`unknown workflow ${workflow}`);
  return readdirSync(join(REPO_ROOT, EXAMPLES_DIR))
    .filter((f) => f.endsWith('.json') && f.startsWith(entry.examplePrefix))
    .sort()
    .map((f) => JSON.parse(readFileSync(join(REPO_ROOT, EXAMPLES_DIR, f), 'utf8')) as Json);
}

export interface FuzzTarget {
  name: string;
  schema: z.ZodMiniType;
  /** The root the code parses under: workflows' first states name fields `input.…`. */
  root: '' | 'input';
  /** Documents the schema accepts: real samples, example inputs. */
  valid: Json[];
}

/** Workflow inputs are parsed under `input` by their first state; remediate-alarm at the root. */
export const workflowRoot = (workflow: WorkflowInput['workflow']): '' | 'input' =>
  workflow === 'remediate-alarm' ? '' : 'input';

export const TARGETS: FuzzTarget[] = [
  {
    name: 'EC2 Spot Instance Interruption Warning',
    schema: SpotInterruptionWarningSchema,
    root: '',
    valid: [SPOT_SAMPLES[0] as Json],
  },
  {
    name: 'EC2 Instance Rebalance Recommendation',
    schema: RebalanceRecommendationSchema,
    root: '',
    valid: [SPOT_SAMPLES[1] as Json],
  },
  {
    name: 'ECS Task State Change (Fargate Spot)',
    schema: FargateSpotTaskInterruptionSchema,
    root: '',
    valid: [SPOT_SAMPLES[2] as Json],
  },
  {
    name: 'spot event (what spot-interruption parses)',
    schema: SpotEventSchema,
    root: '',
    valid: SPOT_SAMPLES,
  },
  { name: 'CloudWatch Alarm State Change', schema: AlarmStateChangeSchema, root: '', valid: ALARM_SAMPLES },
  ...WORKFLOW_INPUTS.map((w) => ({
    name: `${w.workflow} input`,
    schema: w.schema,
    root: workflowRoot(w.workflow),
    valid: examplesOf(w.workflow),
  })),
];

// ---------------------------------------------------------------------------------------------
// Mutations

type Path = (string | number)[];

/** Every node of a document, the root included, as a path. */
export function pathsOf(value: Json, prefix: Path = []): Path[] {
  const out: Path[] = [prefix];
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) out.push(...pathsOf(v, [...prefix, i]));
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) out.push(...pathsOf(v as Json, [...prefix, k]));
  }
  return out;
}

function getAt(value: Json, path: Path): Json | undefined {
  let current: Json | undefined = value;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string | number, Json>)[key];
  }
  return current;
}

/** Replaces (or, with `undefined`, removes) the node at `path`; the root is replaced by returning. */
function setAt(root: Json, path: Path, next: Json | undefined): Json {
  if (path.length === 0) return next ?? null;
  const parent = getAt(root, path.slice(0, -1));
  const key = path[path.length - 1] as string | number;
  if (Array.isArray(parent)) {
    if (next === undefined) parent.splice(Number(key), 1);
    else parent[Number(key)] = next;
  } else if (parent !== null && typeof parent === 'object') {
    if (next === undefined) delete (parent as Record<string, Json>)[key];
    else
      Object.defineProperty(parent, key, {
        value: next,
        enumerable: true,
        writable: true,
        configurable: true,
      });
  }
  return root;
}

/** A value of another JSON type than `value`, shaped after it where that makes a likelier mistake. */
function wrongTypeOf(value: Json | undefined): Json {
  if (typeof value === 'string') return /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : value.length;
  if (typeof value === 'number') return String(value);
  if (typeof value === 'boolean') return value ? 'true' : 0;
  if (value === null) return {};
  if (Array.isArray(value)) return Object.fromEntries(value.map((v, i) => [String(i), v]));
  return Object.values(value ?? {}) as Json;
}

/** Strings long enough to find a quadratic regex or an unbounded echo; shaped like real fields. */
const HUGE = [
  'x'.repeat(100_000),
  `i-${'0123456789abcdef'.repeat(6_000)}`,
  `arn:aws:ecs:us-east-1:123456789012:${'/'.repeat(50_000)}`,
  '2026-11-20T10:15:00'.repeat(5_000),
  '\u{1F525}\u0301'.repeat(30_000),
];

const OPS = ['drop', 'wrong-type', 'replace', 'extra', 'huge', 'unicode', 'null'] as const;

const mutation = fc.record({
  op: fc.constantFrom(...OPS),
  /** Which node: an index into pathsOf(document), modulo its length. */
  at: fc.nat(),
  key: fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('__proto__', 'constructor', 'detail', 'input')),
  value: fc.jsonValue({ maxDepth: 2 }),
  huge: fc.nat({ max: HUGE.length - 1 }),
  // Graphemes, and lone surrogates (binary) that are not valid UTF-16 text.
  text: fc.oneof(
    fc.string({ unit: 'grapheme', maxLength: 24 }),
    fc.string({ unit: 'binary', maxLength: 24 }),
  ),
});

interface Mutation {
  op: (typeof OPS)[number];
  at: number;
  key: string;
  value: Json;
  huge: number;
  text: string;
}

export function applyMutation(document: Json, m: Mutation): Json {
  const paths = pathsOf(document);
  const path = paths[m.at % paths.length] as Path;
  const current = getAt(document, path);
  switch (m.op) {
    case 'drop':
      return path.length === 0 ? {} : setAt(document, path, undefined);
    case 'wrong-type':
      return setAt(document, path, wrongTypeOf(current));
    case 'replace':
      return setAt(document, path, m.value);
    case 'extra': {
      // On the node if it is an object, else on its parent.
      const target =
        current !== null && typeof current === 'object' && !Array.isArray(current) ? path : path.slice(0, -1);
      const holder = getAt(document, target);
      if (holder === null || typeof holder !== 'object' || Array.isArray(holder)) return document;
      return setAt(document, [...target, m.key], m.value);
    }
    case 'huge':
      return setAt(document, path, HUGE[m.huge] as string);
    case 'unicode':
      return setAt(document, path, typeof current === 'string' ? `${current}${m.text}` : m.text);
    case 'null':
      return setAt(document, path, null);
  }
}

/** One to three mutations of one of `documents` (each run mutates its own copy). */
export function mutationsOf(documents: readonly Json[]): fc.Arbitrary<Json> {
  return fc
    .tuple(fc.nat({ max: documents.length - 1 }), fc.array(mutation, { minLength: 1, maxLength: 3 }))
    .map(([i, ms]) =>
      ms.reduce<Json>((doc, m) => applyMutation(doc, m), structuredClone(documents[i] as Json)),
    );
}

/** Arbitrary JSON and mutations of the real documents, half each. */
export function badInputs(documents: readonly Json[]): fc.Arbitrary<Json> {
  return fc.oneof(fc.jsonValue({ maxDepth: 4 }), mutationsOf(documents), mutationsOf(documents));
}

// ---------------------------------------------------------------------------------------------
// Properties

/**
 * Parses as the code does. Returns the InvalidInputError, or undefined when the value is valid;
 * anything else thrown is a bug (and fails the property it is used in).
 */
export function rejectionOf(
  schema: z.ZodMiniType,
  value: unknown,
  root: '' | 'input',
): InvalidInputError | undefined {
  try {
    parseOrThrow(schema, value, root);
    return undefined;
  } catch (error) {
    if (error instanceof InvalidInputError && error.name === 'InvalidInput') return error;
    throw new Error(`parseOrThrow threw something else than InvalidInputError: ${String(error)}`, {
      cause: error,
    });
  }
}

export const isInvalid = (schema: z.ZodMiniType, value: unknown): boolean => !schema.safeParse(value).success;

const segment = (key: string) => (key === '' ? '""' : key);

/**
 * Whether `field` (as InvalidInputError names it) is a path of `value`: every segment exists,
 * but the last may be missing (a required field) or sit under a string (a console shorthand the
 * schema expands, "approval": "before-traffic").
 */
export function isRealPath(value: unknown, field: string, root: '' | 'input'): boolean {
  if (field === '(root)') return root === '';
  if (root !== '') {
    if (field === root) return true;
    if (!field.startsWith(`${root}.`)) return false;
    return resolves(value, field.slice(root.length + 1));
  }
  return resolves(value, field);
}

function resolves(value: unknown, rest: string): boolean {
  if (rest === '') return true;
  if (value !== null && typeof value === 'object') {
    for (const key of Object.keys(value)) {
      const s = segment(key);
      if (rest === s) return true;
      if (
        rest.startsWith(`${s}.`) &&
        resolves((value as Record<string, unknown>)[key], rest.slice(s.length + 1))
      )
        return true;
    }
  }
  return !rest.includes('.');
}
