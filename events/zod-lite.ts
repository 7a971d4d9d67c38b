// The zod/mini subset the Lambda bundles carry in place of zod/mini itself (esbuild.config.mjs
// resolves events/zod.ts to this file for function bundles only). The schemas stay written once,
// against zod/mini's API; their types, the console's JSON Schemas, the CLI and the infra code use
// zod/mini itself. Why: building the functions' schemas with zod/mini was about a fifth of every
// cold start's module init (docs/performance.md). This file gives the same parse results, issues
// and English messages for what the schemas use, checked against zod/mini for every schema a
// function carries (tests/unit/zod-lite.test.ts). A schema that needs more of zod/mini fails that
// test, and throws in the bundle when the schema is built.

type Key = string | number;
type ErrorFn = (issue: RawIssue) => unknown;
type Optin = 'optional' | 'defaulted' | undefined;

interface RawIssue {
  code: string;
  path?: Key[];
  input?: unknown;
  message?: string;
  continue?: boolean;
  inst?: Check | Schema;
  schema?: Schema;
  [field: string]: unknown;
}

interface Payload {
  value: unknown;
  issues: RawIssue[];
  aborted?: boolean;
  addIssue?: (issue: RawIssue | string) => void;
}

interface ParseContext {
  reportInput?: boolean;
}

/** What a schema's .check() takes: a check, or a schema that is also one (z.int()). */
interface Check {
  runCheck: (payload: Payload) => void;
  when?: (payload: Payload) => boolean;
  error?: ErrorFn;
  /** A length check (minLength, maxLength), with its upper bound if it has one. */
  length?: { maximum?: number };
}

type Params = string | { error?: string | ErrorFn; message?: string; path?: Key[]; abort?: boolean };

function errorOf(params: Params | undefined): ErrorFn | undefined {
  if (params === undefined) return undefined;
  if (typeof params === 'string') return () => params;
  const error = params.message ?? params.error;
  if (error === undefined) return undefined;
  return typeof error === 'string' ? () => error : error;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (!isObject(v)) return false;
  const ctor = (v as { constructor?: unknown }).constructor;
  if (ctor === undefined || typeof ctor !== 'function') return true;
  const proto = (ctor as { prototype?: unknown }).prototype;
  return isObject(proto) && Object.hasOwn(proto, 'isPrototypeOf');
}

/** An issue that does not say `continue: true` stops the checks that follow (zod's rule). */
function aborted(payload: Payload, from = 0): boolean {
  if (payload.aborted === true) return true;
  for (let i = from; i < payload.issues.length; i++) if (payload.issues[i]?.continue !== true) return true;
  return false;
}

function explicitlyAborted(payload: Payload): boolean {
  return payload.aborted === true || payload.issues.some((issue) => issue.continue === false);
}

function prefixIssues(key: Key, issues: RawIssue[]): RawIssue[] {
  for (const issue of issues) {
    issue.path ??= [];
    issue.path.unshift(key);
  }
  return issues;
}

export class Schema {
  readonly kind: string;
  readonly checks: Check[];
  readonly error: ErrorFn | undefined;
  readonly optin: Optin;
  readonly optout: 'optional' | undefined;
  /** The values it accepts, where they are a known few (literals, enums): discriminators. */
  readonly values: Set<unknown> | undefined;
  /** Set when the schema is also usable as a check (z.int(), z.iso.datetime()). */
  runCheck?: (payload: Payload) => void;
  readonly parser: (payload: Payload, ctx: ParseContext, self: Schema) => Payload;
  /** Fields of an object schema, with what unknown keys do. */
  readonly shape?: Record<string, Schema>;
  readonly catchall?: Schema;

  constructor(init: {
    kind: string;
    parse: (payload: Payload, ctx: ParseContext, self: Schema) => Payload;
    checks?: Check[];
    error?: ErrorFn | undefined;
    optin?: Optin;
    optout?: 'optional';
    values?: Set<unknown>;
    shape?: Record<string, Schema>;
    catchall?: Schema;
  }) {
    this.kind = init.kind;
    this.checks = init.checks ?? [];
    this.error = init.error;
    this.optin = init.optin;
    this.optout = init.optout;
    this.values = init.values;
    if (init.shape) this.shape = init.shape;
    if (init.catchall) this.catchall = init.catchall;
    this.parser = init.parse;
  }

  run(payload: Payload, ctx: ParseContext): Payload {
    const result = this.parser(payload, ctx, this);
    return this.checks.length === 0 ? result : runChecks(result, this.checks, this);
  }

  /** A copy with more checks, as zod/mini's .check(). */
  check(...checks: Check[]): Schema {
    return this.with({ checks: [...this.checks, ...checks] });
  }

  with(changes: { checks?: Check[]; shape?: Record<string, Schema> }): Schema {
    // Parsers read the schema they run for (its shape, its error), so a copy needs no new one.
    return Object.assign(Object.create(Schema.prototype) as Schema, this, changes);
  }

  safeParse(value: unknown, ctx: ParseContext = {}): SafeParseResult {
    const result = this.run({ value, issues: [] }, ctx);
    if (result.issues.length === 0) return { success: true, data: result.value };
    let error: ZodError | undefined;
    return {
      success: false,
      // Built on first read, as zod/mini does: a caller that only branches on success never pays.
      get error() {
        error ??= new ZodError(result.issues.map((issue) => finalizeIssue(issue, ctx)));
        return error;
      },
    };
  }

  parse(value: unknown, ctx: ParseContext = {}): unknown {
    const result = this.safeParse(value, ctx);
    if (result.success) return result.data;
    throw result.error;
  }
}

type SafeParseResult = { success: true; data: unknown } | { success: false; error: ZodError };

export interface FinalIssue {
  code: string;
  path: Key[];
  message: string;
  input?: unknown;
  [field: string]: unknown;
}

/** As zod/mini's error: named $ZodError, its message the issues as JSON, built when first read. */
export class ZodError extends Error {
  declare readonly issues: FinalIssue[];
  constructor(issues: FinalIssue[]) {
    super();
    this.name = '$ZodError';
    Object.defineProperty(this, 'issues', { value: issues, enumerable: false });
    Object.defineProperty(this, 'message', {
      get: () => JSON.stringify(issues, (_key, v) => (typeof v === 'bigint' ? v.toString() : v), 2),
      enumerable: true,
      configurable: true,
    });
  }
  override toString(): string {
    return this.message;
  }
}

function runChecks(payload: Payload, checks: Check[], owner: Schema): Payload {
  let isAborted = aborted(payload);
  for (const check of checks) {
    if (check.when) {
      if (explicitlyAborted(payload) || !check.when(payload)) continue;
    } else if (isAborted) {
      continue;
    }
    const before = payload.issues.length;
    check.runCheck(payload);
    if (payload.issues.length === before) continue;
    for (let i = before; i < payload.issues.length; i++) {
      const issue = payload.issues[i] as RawIssue;
      issue.schema ??= owner;
    }
    if (!isAborted) isAborted = aborted(payload, before);
  }
  return payload;
}

function finalizeIssue(raw: RawIssue, ctx: ParseContext): FinalIssue {
  const message =
    raw.message ||
    (text(raw.inst?.error?.(raw)) ??
      (raw.schema !== raw.inst ? text(raw.schema?.error?.(raw)) : undefined) ??
      englishMessage(raw));
  // The raw issue's fields in their order, then path, message and input: zod's order, which
  // the error's JSON message shows.
  const issue: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (key === 'inst' || key === 'schema' || key === 'continue' || key === 'input' || key === '__proto__')
      continue;
    issue[key] = value;
  }
  issue.path ??= [];
  issue.message = message;
  if (ctx.reportInput) issue.input = raw.input;
  return issue as FinalIssue;
}

const text = (m: unknown): string | undefined =>
  typeof m === 'string' ? m : ((m as { message?: string } | undefined)?.message ?? undefined);

// zod's English locale, for the issues these schemas raise.
function receivedType(input: unknown): string {
  if (typeof input === 'number')
    return Number.isNaN(input) ? 'NaN' : Number.isFinite(input) ? 'number' : String(input);
  if (input === null) return 'null';
  if (Array.isArray(input)) return 'array';
  if (typeof input === 'object') {
    const obj = input as { constructor?: { name: string } };
    if (Object.getPrototypeOf(obj) !== Object.prototype && 'constructor' in obj && obj.constructor)
      return obj.constructor.name;
  }
  return typeof input;
}

const primitive = (v: unknown) =>
  typeof v === 'bigint' ? `${v}n` : typeof v === 'string' ? `"${v}"` : `${v}`;
const SIZE_UNITS: Record<string, string> = { string: 'characters', array: 'items' };
const FORMAT_NAMES: Record<string, string> = { regex: 'input', datetime: 'ISO datetime' };

function englishMessage(issue: RawIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return `Invalid input: expected ${issue.expected === 'nan' ? 'NaN' : issue.expected}, received ${receivedType(issue.input)}`;
    case 'invalid_value': {
      const values = issue.values as unknown[];
      return values.length === 1
        ? `Invalid input: expected ${primitive(values[0])}`
        : `Invalid option: expected one of ${values.map(primitive).join('|')}`;
    }
    case 'too_big':
    case 'too_small': {
      const big = issue.code === 'too_big';
      const adj = issue.exact ? 'exactly ' : issue.inclusive ? (big ? '<=' : '>=') : big ? '<' : '>';
      const bound = String(big ? issue.maximum : issue.minimum);
      const origin = issue.origin as string | undefined;
      const unit = origin ? SIZE_UNITS[origin] : undefined;
      return unit
        ? `Too ${big ? 'big' : 'small'}: expected ${origin} to have ${adj}${bound} ${unit}`
        : `Too ${big ? 'big' : 'small'}: expected ${origin ?? 'value'} to be ${adj}${bound}`;
    }
    case 'invalid_format':
      if (issue.format === 'starts_with') return `Invalid string: must start with "${issue.prefix}"`;
      if (issue.format === 'regex') return `Invalid string: must match pattern ${issue.pattern}`;
      return `Invalid ${FORMAT_NAMES[issue.format as string] ?? issue.format}`;
    case 'unrecognized_keys': {
      const keys = issue.keys as string[];
      return `Unrecognized key${keys.length > 1 ? 's' : ''}: ${keys.map(primitive).join(', ')}`;
    }
    case 'invalid_union': {
      const options = issue.options as unknown[] | undefined;
      if (options && options.length > 0)
        return `Invalid discriminator value. Expected ${options.map((o) => `'${String(o)}'`).join(' | ')}`;
      return 'Invalid input';
    }
    case 'invalid_key':
      return `Invalid key in ${issue.origin}`;
    default:
      return 'Invalid input';
  }
}

// ----- types -----

const typeIssue = (expected: string, input: unknown, inst: Schema, extra: Record<string, unknown> = {}) => ({
  expected,
  code: 'invalid_type',
  input,
  inst,
  ...extra,
});

/** Whether the value is of the kind a container expects; if not, zod's invalid_type issue. */
function ofKind<T>(
  payload: Payload,
  input: unknown,
  test: (v: unknown) => v is T,
  expected: string,
  self: Schema,
): input is T {
  if (test(input)) return true;
  payload.issues.push(typeIssue(expected, input, self));
  return false;
}

function primitiveSchema(
  kind: string,
  test: (v: unknown) => boolean,
  params?: Params,
  coerce?: (v: unknown) => unknown,
) {
  return new Schema({
    kind,
    error: errorOf(params),
    parse: (payload, _ctx, self) => {
      if (coerce) {
        try {
          payload.value = coerce(payload.value);
        } catch {}
      }
      const input = payload.value;
      if (test(input)) return payload;
      // zod names NaN and the infinities it refuses as numbers
      const received =
        kind === 'number' && typeof input === 'number'
          ? Number.isNaN(input)
            ? 'NaN'
            : String(input)
          : undefined;
      payload.issues.push(typeIssue(kind, input, self, received ? { received } : {}));
      return payload;
    },
  });
}

const isNumber = (v: unknown) => typeof v === 'number' && Number.isFinite(v);
export const string = (params?: Params) => primitiveSchema('string', (v) => typeof v === 'string', params);
export const number = (params?: Params) => primitiveSchema('number', isNumber, params);
export const boolean = (params?: Params) => primitiveSchema('boolean', (v) => typeof v === 'boolean', params);
export const unknown = () => new Schema({ kind: 'unknown', parse: (payload) => payload });
export const coerce = {
  number: (params?: Params) => primitiveSchema('number', isNumber, params, Number),
};
const never = () =>
  new Schema({
    kind: 'never',
    parse: (payload, _ctx, self) => {
      payload.issues.push(typeIssue('never', payload.value, self));
      return payload;
    },
  });
export const NEVER = Object.freeze({ status: 'aborted' });

function valuesSchema(kind: string, values: unknown[], params?: Params) {
  const accepted = new Set(values);
  return new Schema({
    kind,
    error: errorOf(params),
    values: accepted,
    parse: (payload, _ctx, self) => {
      if (!accepted.has(payload.value))
        payload.issues.push({ code: 'invalid_value', values, input: payload.value, inst: self });
      return payload;
    },
  });
}
function enumSchema(values: readonly unknown[] | Record<string, unknown>, params?: Params) {
  return valuesSchema('enum', Array.isArray(values) ? [...values] : Object.values(values), params);
}

export { enumSchema as enum };
export const literal = (value: unknown, params?: Params) =>
  valuesSchema('literal', Array.isArray(value) ? value : [value], params);

/**
 * An array longer than one of its leading maxLength checks fails that check alone, before any
 * element is parsed, and nothing after it runs (zod's rule: the value is still the raw input).
 */
function failedLengthCap(payload: Payload, length: number, self: Schema): boolean {
  for (const check of self.checks) {
    if (!check.length) break;
    const maximum = check.length.maximum;
    if (maximum === undefined || length <= maximum || !check.when?.(payload)) continue;
    const start = payload.issues.length;
    check.runCheck(payload);
    const issue = payload.issues[start];
    if (issue) {
      issue.continue = false;
      issue.schema ??= self;
    }
    return true;
  }
  return false;
}

export const array = (element: Schema, params?: Params) =>
  new Schema({
    kind: 'array',
    error: errorOf(params),
    parse: (payload, ctx, self) => {
      const input = payload.value;
      if (Array.isArray(input) && failedLengthCap(payload, input.length, self)) return payload;
      if (!ofKind(payload, input, Array.isArray, 'array', self)) return payload;
      const out: unknown[] = Array(input.length);
      payload.value = out;
      for (let i = 0; i < input.length; i++) {
        const result = element.run({ value: input[i], issues: [] }, ctx);
        if (result.issues.length) payload.issues.push(...prefixIssues(i, result.issues));
        out[i] = result.value;
      }
      return payload;
    },
  });

export function record(key: Schema, value: Schema, params?: Params): Schema {
  // zod/mini checks an enum-keyed record for every key; no schema here needs that.
  if (key.values) throw new Error('z.record: keys from a fixed set are not supported by zod-lite');
  return new Schema({
    kind: 'record',
    error: errorOf(params),
    parse: (payload, ctx, self) => {
      const input = payload.value;
      if (!ofKind(payload, input, isPlainObject, 'record', self)) return payload;
      const out: Record<string, unknown> = {};
      payload.value = out;
      for (const name of Object.keys(input)) {
        if (name === '__proto__') continue;
        const keyResult = key.run({ value: name, issues: [] }, ctx);
        if (keyResult.issues.length) {
          payload.issues.push({
            code: 'invalid_key',
            origin: 'record',
            issues: keyResult.issues.map((issue) => finalizeIssue(issue, ctx)),
            input: name,
            path: [name],
            inst: self,
          });
          continue;
        }
        const result = value.run({ value: input[name], issues: [] }, ctx);
        if (result.issues.length) payload.issues.push(...prefixIssues(name, result.issues));
        out[keyResult.value as string] = result.value;
      }
      return payload;
    },
  });
}

// ----- objects -----

function propertyResult(result: Payload, final: Payload, key: string, input: object, field: Schema) {
  const present = key in input;
  const optionalOut = field.optout === 'optional';
  const out = final.value as Record<string, unknown>;
  if (!present && optionalOut && field.optin === 'optional') return;
  if (result.issues.length) {
    if (field.optin !== undefined && optionalOut && !present) return;
    final.issues.push(...prefixIssues(key, result.issues));
  }
  if (!present && field.optin === undefined) {
    if (!result.issues.length)
      final.issues.push({ code: 'invalid_type', expected: 'nonoptional', input: undefined, path: [key] });
    return;
  }
  if (result.value === undefined) {
    if (present || (field.optin === 'defaulted' && !optionalOut)) out[key] = undefined;
  } else {
    out[key] = result.value;
  }
}

function parseObject(payload: Payload, ctx: ParseContext, self: Schema): Payload {
  const input = payload.value;
  if (!ofKind(payload, input, isObject, 'object', self)) return payload;
  payload.value = {};
  const shape = self.shape ?? {};
  for (const key of Object.keys(shape)) {
    if (key === '__proto__') continue;
    const field = shape[key] as Schema;
    propertyResult(field.run({ value: input[key], issues: [] }, ctx), payload, key, input, field);
  }
  const catchall = self.catchall;
  if (!catchall) return payload;
  const unrecognized: string[] = [];
  for (const key in input) {
    if (Object.hasOwn(shape, key)) continue;
    if (key === '__proto__' || catchall.kind === 'never') {
      if (catchall.kind === 'never') unrecognized.push(key);
      continue;
    }
    propertyResult(catchall.run({ value: input[key], issues: [] }, ctx), payload, key, input, catchall);
  }
  if (unrecognized.length)
    payload.issues.push({ code: 'unrecognized_keys', keys: unrecognized, input, inst: self, continue: true });
  return payload;
}

function objectSchema(shape: Record<string, Schema>, catchall: Schema | undefined, params?: Params): Schema {
  return new Schema({
    kind: 'object',
    error: errorOf(params),
    shape: { ...shape },
    ...(catchall ? { catchall } : {}),
    parse: parseObject,
  });
}
export const object = (shape: Record<string, Schema>, params?: Params) =>
  objectSchema(shape, undefined, params);
export const strictObject = (shape: Record<string, Schema>, params?: Params) =>
  objectSchema(shape, never(), params);
export const looseObject = (shape: Record<string, Schema>, params?: Params) =>
  objectSchema(shape, unknown(), params);

function objectOf(schema: Schema, operation: string): Record<string, Schema> {
  if (!schema.shape) throw new Error(`z.${operation}: not an object schema`);
  return schema.shape;
}
export function extend(schema: Schema, shape: Record<string, Schema>): Schema {
  const base = objectOf(schema, 'extend');
  if (schema.checks.length && Object.keys(shape).some((key) => Object.hasOwn(base, key)))
    throw new Error('Cannot overwrite keys on object schemas containing refinements.');
  return schema.with({ shape: { ...base, ...shape } });
}
function refuseRefined(schema: Schema, operation: string): void {
  if (schema.checks.length)
    throw new Error(`.${operation}() cannot be used on object schemas containing refinements`);
}
function masked(schema: Schema, mask: Record<string, true>, keep: boolean, operation: string): Schema {
  refuseRefined(schema, operation);
  const shape = objectOf(schema, operation);
  // As zod: pick keeps the mask's order (which orders the issues), omit the shape's.
  const entries = keep
    ? Object.keys(mask).flatMap((key) => {
        const field = shape[key];
        return mask[key] === true && field !== undefined ? [[key, field] as const] : [];
      })
    : Object.entries(shape).filter(([key]) => mask[key] !== true);
  return schema.with({ shape: Object.fromEntries(entries), checks: [] });
}
export const pick = (schema: Schema, mask: Record<string, true>) => masked(schema, mask, true, 'pick');
export const omit = (schema: Schema, mask: Record<string, true>) => masked(schema, mask, false, 'omit');
export function partial(schema: Schema): Schema {
  refuseRefined(schema, 'partial');
  const shape = objectOf(schema, 'partial');
  return schema.with({
    shape: Object.fromEntries(Object.entries(shape).map(([key, field]) => [key, optional(field)])),
    checks: [],
  });
}

// ----- wrappers -----

export function optional(inner: Schema): Schema {
  return new Schema({
    kind: 'optional',
    optin: inner.optin === 'defaulted' ? 'defaulted' : 'optional',
    optout: 'optional',
    ...(inner.values ? { values: new Set([...inner.values, undefined]) } : {}),
    parse: (payload, ctx) => {
      if (payload.value !== undefined) return inner.run(payload, ctx);
      if (inner.optin !== 'defaulted') return payload;
      const result = inner.run({ value: undefined, issues: [] }, ctx);
      payload.value = result.issues.length ? undefined : result.value;
      return payload;
    },
  });
}

export function nullable(inner: Schema): Schema {
  return new Schema({
    kind: 'nullable',
    optin: inner.optin,
    ...(inner.optout ? { optout: inner.optout } : {}),
    ...(inner.values ? { values: new Set([...inner.values, null]) } : {}),
    parse: (payload, ctx) => (payload.value === null ? payload : inner.run(payload, ctx)),
  });
}

const copyOf = (value: unknown) =>
  Array.isArray(value) ? [...value] : isPlainObject(value) ? { ...(value as object) } : value;

function defaulted(kind: string, inner: Schema, value: unknown, validate: boolean): Schema {
  const fallback = () => (typeof value === 'function' ? (value as () => unknown)() : copyOf(value));
  return new Schema({
    kind,
    optin: 'defaulted',
    ...(inner.values ? { values: inner.values } : {}),
    parse: (payload, ctx) => {
      if (payload.value === undefined) {
        payload.value = fallback();
        if (!validate) return payload;
        return inner.run(payload, ctx);
      }
      const result = inner.run(payload, ctx);
      if (!validate && result.value === undefined) result.value = fallback();
      return result;
    },
  });
}
export const _default = (inner: Schema, value: unknown) => defaulted('default', inner, value, false);
export const prefault = (inner: Schema, value: unknown) => defaulted('prefault', inner, value, true);

export function pipe(first: Schema, then: Schema): Schema {
  return new Schema({
    kind: 'pipe',
    optin: first.optin,
    ...(then.optout ? { optout: then.optout } : {}),
    ...(first.values ? { values: first.values } : {}),
    parse: (payload, ctx) => {
      const left = first.run(payload, ctx);
      if (left.issues.some((issue) => issue.code !== 'unrecognized_keys')) {
        left.aborted = true;
        return left;
      }
      return then.run({ value: left.value, issues: left.issues }, ctx);
    },
  });
}

export function transform(fn: (value: unknown, ctx: Payload) => unknown): Schema {
  return new Schema({
    kind: 'transform',
    optin: 'optional',
    parse: (payload) => {
      payload.value = fn(payload.value, payload);
      return payload;
    },
  });
}
export const preprocess = (fn: (value: unknown, ctx: Payload) => unknown, schema: Schema) =>
  pipe(transform(fn), schema);

export function union(options: Schema[], params?: Params): Schema {
  return new Schema({
    kind: 'union',
    error: errorOf(params),
    optin: options.some((o) => o.optin === 'defaulted')
      ? 'defaulted'
      : options.some((o) => o.optin !== undefined)
        ? 'optional'
        : undefined,
    ...(options.some((o) => o.optout === 'optional') ? { optout: 'optional' as const } : {}),
    parse: (payload, ctx, self) => {
      if (options.length === 1) return (options[0] as Schema).run(payload, ctx);
      const results: Payload[] = [];
      for (const option of options) {
        const result = option.run({ value: payload.value, issues: [] }, ctx);
        if (result.issues.length === 0) return result;
        results.push(result);
      }
      const standing = results.filter((r) => !aborted(r));
      if (standing.length === 1) {
        payload.value = (standing[0] as Payload).value;
        return standing[0] as Payload;
      }
      payload.issues.push({
        code: 'invalid_union',
        input: payload.value,
        inst: self,
        errors: results.map((r) => r.issues.map((issue) => finalizeIssue(issue, ctx))),
      });
      return payload;
    },
  });
}

export function discriminatedUnion(discriminator: string, options: Schema[], params?: Params): Schema {
  const byValue = new Map<unknown, Schema | null>();
  for (const [i, option] of options.entries()) {
    const field = option.shape?.[discriminator];
    if (!field?.values?.size) throw new Error(`Invalid discriminated union option at index "${i}"`);
    const values = new Set(field.values);
    if (field.optin !== undefined) values.add(undefined);
    for (const value of values) {
      if (!byValue.has(value)) byValue.set(value, option);
      else if (value !== undefined) throw new Error(`Duplicate discriminator value "${String(value)}"`);
      else byValue.set(value, null);
    }
  }
  return new Schema({
    kind: 'discriminatedUnion',
    error: errorOf(params),
    parse: (payload, ctx, self) => {
      const input = payload.value;
      if (!isObject(input)) {
        // (zod orders this issue's fields code first, unlike the other type issues)
        payload.issues.push({ code: 'invalid_type', expected: 'object', input, inst: self });
        return payload;
      }
      const option = byValue.get(input[discriminator]);
      if (option) return option.run(payload, ctx);
      payload.issues.push({
        code: 'invalid_union',
        errors: [],
        note: 'No matching discriminator',
        discriminator,
        options: [...byValue.keys()].filter((value) => byValue.get(value) !== null),
        input,
        path: [discriminator],
        inst: self,
      });
      return payload;
    },
  });
}

// ----- checks -----

function check(
  run: (payload: Payload, self: Check) => void,
  params?: Params,
  extra: Pick<Check, 'when' | 'length'> = {},
): Check {
  const error = errorOf(params);
  const self: Check = { runCheck: (payload) => run(payload, self), ...extra, ...(error ? { error } : {}) };
  return self;
}

const hasLength = (payload: Payload) =>
  payload.value !== null &&
  payload.value !== undefined &&
  (payload.value as { length?: unknown }).length !== undefined;

function codePoints(value: unknown): number {
  if (typeof value !== 'string') return (value as { length: number }).length;
  let count = value.length;
  for (let i = 0; i < value.length - 1; i++) {
    if ((value.charCodeAt(i) & 0xfc00) === 0xd800 && (value.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      count--;
      i++;
    }
  }
  return count;
}
const lengthOrigin = (v: unknown) =>
  Array.isArray(v) ? 'array' : typeof v === 'string' ? 'string' : 'unknown';

export const minLength = (minimum: number, params?: Params) =>
  check(
    (payload, self) => {
      if (codePoints(payload.value) >= minimum) return;
      payload.issues.push({
        origin: lengthOrigin(payload.value),
        code: 'too_small',
        minimum,
        inclusive: true,
        input: payload.value,
        inst: self,
        continue: true,
      });
    },
    params,
    { when: hasLength, length: {} },
  );
export const maxLength = (maximum: number, params?: Params) =>
  check(
    (payload, self) => {
      if (codePoints(payload.value) <= maximum) return;
      payload.issues.push({
        origin: lengthOrigin(payload.value),
        code: 'too_big',
        maximum,
        inclusive: true,
        input: payload.value,
        inst: self,
        continue: true,
      });
    },
    params,
    { when: hasLength, length: { maximum } },
  );

function bound(code: 'too_small' | 'too_big', limit: number, inclusive: boolean, params?: Params) {
  return check((payload, self) => {
    const v = payload.value as number;
    const ok =
      code === 'too_small' ? (inclusive ? v >= limit : v > limit) : inclusive ? v <= limit : v < limit;
    if (ok) return;
    payload.issues.push({
      origin: typeof v === 'bigint' ? 'bigint' : 'number',
      code,
      [code === 'too_small' ? 'minimum' : 'maximum']: limit,
      input: v,
      inclusive,
      inst: self,
      continue: true,
    });
  }, params);
}
export const gte = (limit: number, params?: Params) => bound('too_small', limit, true, params);
export const lte = (limit: number, params?: Params) => bound('too_big', limit, true, params);
export const positive = (params?: Params) => bound('too_small', 0, false, params);

/** z.int(): a number schema that is also a check, as in zod/mini. */
export function int(params?: Params): Schema {
  const intCheck = check((payload, self) => {
    const input = payload.value as number;
    if (!Number.isInteger(input)) {
      payload.issues.push({
        expected: 'int',
        format: 'safeint',
        code: 'invalid_type',
        continue: false,
        input,
        inst: self,
      });
      return;
    }
    if (!Number.isSafeInteger(input)) {
      const big = input > 0;
      payload.issues.push({
        input,
        code: big ? 'too_big' : 'too_small',
        [big ? 'maximum' : 'minimum']: big ? Number.MAX_SAFE_INTEGER : Number.MIN_SAFE_INTEGER,
        note: 'Integers must be within the safe integer range.',
        inst: self,
        origin: 'int',
        inclusive: true,
        continue: true,
      });
    }
  }, params);
  return asCheckingSchema(number(params), intCheck);
}

/** A schema whose own check runs after its type, and which another schema's .check() can take. */
function asCheckingSchema(base: Schema, own: Check): Schema {
  const schema = base.check(own);
  schema.runCheck = own.runCheck;
  return schema;
}

/** A string matching a pattern, as zod's regex and string-format checks report it. */
const patternCheck = (pattern: RegExp, format: string, params?: Params) =>
  check((payload, self) => {
    pattern.lastIndex = 0;
    if (pattern.test(payload.value as string)) return;
    payload.issues.push({
      origin: 'string',
      code: 'invalid_format',
      format,
      input: payload.value,
      pattern: pattern.toString(),
      inst: self,
      continue: true,
    });
  }, params);

export const regex = (pattern: RegExp, params?: Params) => patternCheck(pattern, 'regex', params);

export const startsWith = (prefix: string, params?: Params) =>
  check((payload, self) => {
    if ((payload.value as string).startsWith(prefix)) return;
    payload.issues.push({
      origin: 'string',
      code: 'invalid_format',
      format: 'starts_with',
      prefix,
      input: payload.value,
      inst: self,
      continue: true,
    });
  }, params);

export const trim = () =>
  check((payload) => {
    payload.value = (payload.value as string).trim();
  });

export const describe = (_description: string) => check(() => {});

export const refine = (fn: (value: unknown) => unknown, params?: Params) => {
  const path = typeof params === 'object' && params.path ? params.path : [];
  const abort = typeof params === 'object' && params.abort === true;
  return check((payload, self) => {
    if (fn(payload.value)) return;
    payload.issues.push({
      code: 'custom',
      input: payload.value,
      inst: self,
      path: [...path],
      continue: !abort,
    });
  }, params);
};

export const superRefine = (fn: (value: unknown, ctx: Payload) => void) =>
  check((payload, self) => {
    payload.addIssue = (issue) => {
      if (typeof issue === 'string') {
        payload.issues.push({ message: issue, code: 'custom', input: payload.value, inst: self });
        return;
      }
      const raw: RawIssue = { ...issue };
      if (raw.fatal) raw.continue = false;
      raw.code ??= 'custom';
      if (!('input' in raw)) raw.input = payload.value;
      raw.inst ??= self;
      raw.continue ??= true;
      payload.issues.push(raw);
    };
    fn(payload.value, payload);
  });

// RFC 3339 date-times as zod/mini's z.iso.datetime() accepts them: a real calendar date, seconds
// with any fraction, and Z (or, with offset: true, a ±hh:mm offset). The test compares the source.
const DATE = String.raw`(?:(?:\d\d[2468][048]|\d\d[13579][26]|\d\d0[48]|[02468][048]00|[13579][26]00)-02-29|\d{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]\d|3[01])|(?:0[469]|11)-(?:0[1-9]|[12]\d|30)|(?:02)-(?:0[1-9]|1\d|2[0-8])))`;
const TIME = String.raw`(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d+)?`;
const OFFSET = String.raw`([+-](?:[01]\d|2[0-3]):[0-5]\d)`;
export const datetimePattern = (offset: boolean) =>
  new RegExp(`^${DATE}T(?:${TIME}(?:${offset ? `Z|${OFFSET}` : 'Z'}))$`);

export const iso = {
  datetime: (params?: { offset?: boolean } & Exclude<Params, string>) => {
    const pattern = datetimePattern(params?.offset === true);
    const formatCheck = patternCheck(pattern, 'datetime', params);
    return asCheckingSchema(string(params), formatCheck);
  },
};

/** zod/mini's locale setting: the English messages above are the only ones. */
export function config(_settings: unknown): void {}
