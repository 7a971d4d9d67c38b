// Helpers over a synthesized CloudFormation template (the JSON object `cdk synth` writes).
// Local runs resolve the template's intrinsic functions against the names and ARNs of what
// was created in the emulator, so a state machine definition or a function environment is
// exactly what CloudFormation would have produced, not a hand-written copy of it.

/** What a deployed resource resolves to: `ref` for Ref, any other key for Fn::GetAtt. */
export type Attrs = { ref: string; [attr: string]: string };

export interface ResolveContext {
  /** Logical id -> resolved attributes of that resource. */
  resources: Record<string, Attrs>;
  region: string;
  accountId: string;
  partition?: string;
  stackName?: string;
  urlSuffix?: string;
  /** Export name -> value, for Fn::ImportValue (the exports of the app's other stacks). */
  imports?: Record<string, string>;
}

export interface CfnResource {
  Type: string;
  Properties?: Record<string, unknown>;
  Metadata?: Record<string, unknown>;
  [key: string]: unknown;
}

export interface CfnTemplateLike {
  Resources?: Record<string, CfnResource>;
  [key: string]: unknown;
}

export interface FoundResource {
  logicalId: string;
  resource: CfnResource;
}

/** Thrown for anything the resolver cannot turn into a value; the message names where. */
export class TemplateResolutionError extends Error {
  override readonly name = 'TemplateResolutionError';
}

// `Ref: AWS::NoValue` removes the property (or list element) that holds it.
const NO_VALUE: unique symbol = Symbol('AWS::NoValue');

/**
 * Deep-resolves Ref, Fn::GetAtt, Fn::Join, Fn::Sub, Fn::Select and Fn::Split in `value`.
 * Any other intrinsic (Fn::If, Fn::ImportValue, ...) and any reference to a resource missing
 * from ctx.resources throws a TemplateResolutionError naming it and where it was found.
 */
export function resolveTokens(value: unknown, ctx: ResolveContext, path = '$'): unknown {
  const resolved = resolveValue(value, ctx, path);
  return resolved === NO_VALUE ? undefined : resolved;
}

function resolveValue(value: unknown, ctx: ResolveContext, path: string): unknown {
  if (Array.isArray(value)) {
    return value
      .map((item, i) => resolveValue(item, ctx, `${path}[${i}]`))
      .filter((item) => item !== NO_VALUE);
  }
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value as Record<string, unknown>);
  const [first] = entries;
  if (entries.length === 1 && first && isIntrinsicKey(first[0])) {
    return resolveIntrinsic(first[0], first[1], ctx, `${path}.${first[0]}`);
  }
  const out: Record<string, unknown> = {};
  for (const [key, inner] of entries) {
    const resolved = resolveValue(inner, ctx, `${path}.${key}`);
    if (resolved !== NO_VALUE) out[key] = resolved;
  }
  return out;
}

function isIntrinsicKey(key: string): boolean {
  return key === 'Ref' || key.startsWith('Fn::');
}

function resolveIntrinsic(fn: string, arg: unknown, ctx: ResolveContext, path: string): unknown {
  switch (fn) {
    case 'Ref':
      if (typeof arg !== 'string')
        throw new TemplateResolutionError(`Ref at ${path} must name a resource or parameter`);
      return ref(arg, ctx, path);
    case 'Fn::GetAtt': {
      const [logicalId, attribute] = getAttArgs(arg, path);
      return getAtt(logicalId, attribute, ctx, path);
    }
    case 'Fn::Join': {
      const [delimiter, parts] = tuple(arg, 2, fn, path);
      const list = resolveValue(parts, ctx, `${path}[1]`);
      if (typeof delimiter !== 'string' || !Array.isArray(list)) {
        throw new TemplateResolutionError(`Fn::Join at ${path} needs [delimiter, [values]]`);
      }
      return list.map((part, i) => scalar(part, `${path}[1][${i}]`)).join(delimiter);
    }
    case 'Fn::Sub':
      return sub(arg, ctx, path);
    case 'Fn::Select': {
      const [indexArg, listArg] = tuple(arg, 2, fn, path);
      const index = Number(resolveValue(indexArg, ctx, `${path}[0]`));
      const list = resolveValue(listArg, ctx, `${path}[1]`);
      if (!Array.isArray(list) || !Number.isInteger(index) || index < 0 || index >= list.length) {
        throw new TemplateResolutionError(`Fn::Select at ${path}: index ${index} is not in the list`);
      }
      return list[index];
    }
    case 'Fn::Split': {
      const [delimiter, source] = tuple(arg, 2, fn, path);
      const text = resolveValue(source, ctx, `${path}[1]`);
      if (typeof delimiter !== 'string' || typeof text !== 'string') {
        throw new TemplateResolutionError(`Fn::Split at ${path} needs [delimiter, string]`);
      }
      return text.split(delimiter);
    }
    case 'Fn::ImportValue': {
      const name = resolveValue(arg, ctx, path);
      const value = typeof name === 'string' ? ctx.imports?.[name] : undefined;
      if (value === undefined)
        throw new TemplateResolutionError(
          `Fn::ImportValue at ${path}: no stack exports ${JSON.stringify(name)}`,
        );
      return value;
    }
    default:
      throw new TemplateResolutionError(`unsupported intrinsic ${fn} at ${path}`);
  }
}

function ref(name: string, ctx: ResolveContext, path: string): unknown {
  const partition = ctx.partition ?? 'aws';
  switch (name) {
    case 'AWS::Region':
      return ctx.region;
    case 'AWS::AccountId':
      return ctx.accountId;
    case 'AWS::Partition':
      return partition;
    case 'AWS::URLSuffix':
      return ctx.urlSuffix ?? 'amazonaws.com';
    case 'AWS::StackName':
      if (!ctx.stackName)
        throw new TemplateResolutionError(`Ref AWS::StackName at ${path}: no stackName in the context`);
      return ctx.stackName;
    case 'AWS::StackId':
      if (!ctx.stackName)
        throw new TemplateResolutionError(`Ref AWS::StackId at ${path}: no stackName in the context`);
      return `arn:${partition}:cloudformation:${ctx.region}:${ctx.accountId}:stack/${ctx.stackName}/00000000-0000-0000-0000-000000000000`;
    case 'AWS::NotificationARNs':
      return [];
    case 'AWS::NoValue':
      return NO_VALUE;
  }
  return resource(name, ctx, path).ref;
}

function getAtt(logicalId: string, attribute: string, ctx: ResolveContext, path: string): string {
  const attrs = resource(logicalId, ctx, path);
  const value = attrs[attribute];
  if (value === undefined) {
    throw new TemplateResolutionError(
      `Fn::GetAtt at ${path}: resource ${logicalId} has no attribute ${attribute} (known: ${Object.keys(attrs).join(', ')})`,
    );
  }
  return value;
}

function resource(logicalId: string, ctx: ResolveContext, path: string): Attrs {
  const attrs = ctx.resources[logicalId];
  if (!attrs)
    throw new TemplateResolutionError(`resource ${logicalId} (referenced at ${path}) is not in the context`);
  return attrs;
}

function getAttArgs(arg: unknown, path: string): [string, string] {
  if (typeof arg === 'string') {
    const dot = arg.indexOf('.');
    if (dot > 0) return [arg.slice(0, dot), arg.slice(dot + 1)];
  } else if (
    Array.isArray(arg) &&
    arg.length === 2 &&
    typeof arg[0] === 'string' &&
    typeof arg[1] === 'string'
  ) {
    return [arg[0], arg[1]];
  }
  throw new TemplateResolutionError(
    `Fn::GetAtt at ${path} needs [logicalId, attribute] or "logicalId.attribute"`,
  );
}

function tuple(arg: unknown, length: number, fn: string, path: string): unknown[] {
  if (!Array.isArray(arg) || arg.length !== length) {
    throw new TemplateResolutionError(`${fn} at ${path} needs a list of ${length} arguments`);
  }
  return arg;
}

function scalar(value: unknown, path: string): string {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')
    return String(value);
  throw new TemplateResolutionError(`expected a string at ${path}, got ${JSON.stringify(value)}`);
}

function sub(arg: unknown, ctx: ResolveContext, path: string): string {
  let text: unknown = arg;
  let variables: Record<string, unknown> = {};
  if (Array.isArray(arg)) {
    const [template, vars] = tuple(arg, 2, 'Fn::Sub', path);
    text = template;
    const resolvedVars = resolveValue(vars, ctx, `${path}[1]`);
    if (resolvedVars === null || typeof resolvedVars !== 'object' || Array.isArray(resolvedVars)) {
      throw new TemplateResolutionError(`Fn::Sub at ${path}: the variables must be an object`);
    }
    variables = resolvedVars as Record<string, unknown>;
  }
  if (typeof text !== 'string') throw new TemplateResolutionError(`Fn::Sub at ${path} needs a string`);
  // ${!Literal} is written out as ${Literal}; anything else is a variable, Ref or GetAtt.
  return text.replace(/\$\{(!?)([^}]*)\}/g, (_match, bang: string, name: string) => {
    if (bang) return `\${${name}}`;
    const key = name.trim();
    if (key in variables) return scalar(variables[key], `${path} \${${key}}`);
    if (!key.startsWith('AWS::') && key.includes('.')) {
      const dot = key.indexOf('.');
      return getAtt(key.slice(0, dot), key.slice(dot + 1), ctx, `${path} \${${key}}`);
    }
    return scalar(ref(key, ctx, `${path} \${${key}}`), `${path} \${${key}}`);
  });
}

/** Every resource of a CloudFormation type, in template order. */
export function findResources(template: CfnTemplateLike, type: string): FoundResource[] {
  return Object.entries(template.Resources ?? {})
    .filter(([, resource]) => resource.Type === type)
    .map(([logicalId, resource]) => ({ logicalId, resource }));
}

/**
 * The one resource whose `aws:cdk:path` metadata ends with `cdkPathSuffix` at a path segment
 * boundary (e.g. `SpotSurge/Resource`). Throws when none or several match, listing candidates.
 */
export function findByPath(template: CfnTemplateLike, cdkPathSuffix: string): FoundResource {
  const suffix = cdkPathSuffix.replace(/^\/+/, '');
  const all = Object.entries(template.Resources ?? {}).map(([logicalId, resource]) => ({
    logicalId,
    resource,
    path:
      typeof resource.Metadata?.['aws:cdk:path'] === 'string'
        ? (resource.Metadata['aws:cdk:path'] as string)
        : '',
  }));
  const hits = all.filter(({ path }) => path === suffix || path.endsWith(`/${suffix}`));
  if (hits.length === 1 && hits[0]) return { logicalId: hits[0].logicalId, resource: hits[0].resource };
  if (hits.length > 1) {
    throw new Error(`cdk path suffix ${cdkPathSuffix} is ambiguous: ${hits.map((h) => h.path).join(', ')}`);
  }
  const known = all.map(({ path }) => path).filter(Boolean);
  if (known.length === 0) {
    throw new Error(
      `no resource with a cdk path ending in ${cdkPathSuffix}: the template has no aws:cdk:path metadata ` +
        `(synthesize with the context aws:cdk:enable-path-metadata=true, as the cdk CLI does)`,
    );
  }
  throw new Error(
    `no resource with a cdk path ending in ${cdkPathSuffix}; paths in the template: ${known.join(', ')}`,
  );
}

function typedResource(template: CfnTemplateLike, logicalId: string, type: string): CfnResource {
  const resource = template.Resources?.[logicalId];
  if (!resource) throw new Error(`no resource ${logicalId} in the template`);
  if (resource.Type !== type) throw new Error(`resource ${logicalId} is a ${resource.Type}, not a ${type}`);
  return resource;
}

/**
 * The resolved Amazon States Language definition of an AWS::StepFunctions::StateMachine:
 * DefinitionString (a string or an Fn::Join of Refs/GetAtts) or Definition, with
 * DefinitionSubstitutions applied the way CloudFormation applies them.
 */
export function stateMachineDefinition(
  template: CfnTemplateLike,
  logicalId: string,
  ctx: ResolveContext,
): Record<string, unknown> {
  const props = typedResource(template, logicalId, 'AWS::StepFunctions::StateMachine').Properties ?? {};
  const base = `Resources.${logicalId}.Properties`;
  let text: string;
  if (props.DefinitionString !== undefined) {
    const resolved = resolveTokens(props.DefinitionString, ctx, `${base}.DefinitionString`);
    if (typeof resolved !== 'string')
      throw new TemplateResolutionError(`${base}.DefinitionString did not resolve to a string`);
    text = resolved;
  } else if (props.Definition !== undefined) {
    text = JSON.stringify(resolveTokens(props.Definition, ctx, `${base}.Definition`));
  } else {
    throw new Error(
      `state machine ${logicalId} has neither DefinitionString nor Definition (DefinitionS3Location is not supported)`,
    );
  }
  const substitutions = resolveTokens(
    props.DefinitionSubstitutions ?? {},
    ctx,
    `${base}.DefinitionSubstitutions`,
  );
  for (const [key, value] of Object.entries(substitutions as Record<string, unknown>)) {
    text = text.split(`\${${key}}`).join(scalar(value, `${base}.DefinitionSubstitutions.${key}`));
  }
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (error) {
    throw new TemplateResolutionError(
      `state machine ${logicalId}: the resolved definition is not JSON (${(error as Error).message})`,
    );
  }
}

/** The resolved Environment.Variables of an AWS::Lambda::Function, every value as a string. */
export function functionEnvironment(
  template: CfnTemplateLike,
  logicalId: string,
  ctx: ResolveContext,
): Record<string, string> {
  const props = typedResource(template, logicalId, 'AWS::Lambda::Function').Properties ?? {};
  const environment = props.Environment as { Variables?: Record<string, unknown> } | undefined;
  const variables = resolveTokens(
    environment?.Variables ?? {},
    ctx,
    `Resources.${logicalId}.Properties.Environment.Variables`,
  ) as Record<string, unknown>;
  return Object.fromEntries(
    Object.entries(variables).map(([key, value]) => [
      key,
      scalar(value, `Resources.${logicalId}.Properties.Environment.Variables.${key}`),
    ]),
  );
}
