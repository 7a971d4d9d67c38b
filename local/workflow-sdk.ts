// AWS SDK integrations made as real SDK calls against the emulator: the command looked up by
// action, its input and output converted between the state's JSON and the SDK's shapes.
import { NormalizedSchema } from '@smithy/core/schema';
import { awsClient, type ClientConfig } from '../functions/shared/clients.ts';

import { awsStateError, type ErrorNaming } from './workflow-errors.ts';
import type { SdkService } from './workflow-integrations.ts';
import { WorkflowHarnessError } from './workflow-types.ts';

// ---------------------------------------------------------------------------------------------
// SDK calls: Step Functions speaks PascalCase, the JavaScript SDK speaks the API's member
// names (camelCase for ECS and SFN), so parameters and responses are renamed along the
// operation's schema; map keys (item attributes, tags, labels) are left alone.

type SdkModule = Record<string, unknown>;
type SendingClient = { send(command: unknown): Promise<Record<string, unknown>> };
type CommandCtor = new (input: unknown) => { schema?: unknown[] };

const sdkModules = new Map<string, Promise<SdkModule>>();

export function loadSdk(service: SdkService): Promise<SdkModule> {
  let loading = sdkModules.get(service.pkg);
  if (!loading) {
    loading = (import(service.pkg) as Promise<SdkModule>).catch((error: unknown) => {
      sdkModules.delete(service.pkg);
      throw new WorkflowHarnessError(
        `${service.pkg} is needed for this workflow but cannot be loaded (${(error as Error).message}); add it to package.json`,
      );
    });
    sdkModules.set(service.pkg, loading);
  }
  return loading;
}

export function commandOf(module: SdkModule, service: SdkService, action: string): CommandCtor {
  const name = `${action.charAt(0).toUpperCase()}${action.slice(1)}Command`;
  const command = module[name];
  if (typeof command !== 'function')
    throw new WorkflowHarnessError(`${service.pkg} has no ${name} (action ${action})`);
  return command as CommandCtor;
}

export async function callAws(
  service: SdkService,
  action: string,
  params: unknown,
  naming: ErrorNaming,
): Promise<unknown> {
  const module = await loadSdk(service);
  const Command = commandOf(module, service, action);
  const Client = module[service.client] as new (config: ClientConfig) => SendingClient;
  const operation = new Command({}).schema;
  const inputSchema = operation ? NormalizedSchema.of(operation[4] as never) : undefined;
  const outputSchema = operation ? NormalizedSchema.of(operation[5] as never) : undefined;
  const where = `${service.prefix}.${action}`;
  const input = inputSchema ? toSdkShape(params ?? {}, inputSchema, where) : params;
  let response: Record<string, unknown>;
  try {
    response = await awsClient(Client).send(new Command(input));
  } catch (error) {
    const base = Object.entries(module).find(
      ([key]) => key.endsWith('ServiceException') && !key.startsWith('_'),
    )?.[1];
    throw awsStateError(error, naming, base);
  }
  const { $metadata: _metadata, ...body } = response;
  return toJson(outputSchema ? fromSdkShape(body, outputSchema) : body);
}

const pascal = (name: string) => `${name.charAt(0).toUpperCase()}${name.slice(1)}`;
const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Uint8Array);

function toSdkShape(value: unknown, schema: NormalizedSchema, where: string): unknown {
  if (value === null || value === undefined || schema.isDocumentSchema()) return value;
  if (schema.isListSchema()) {
    if (!Array.isArray(value)) return value;
    const item = schema.getValueSchema();
    return value.map((v, i) => toSdkShape(v, item, `${where}[${i}]`));
  }
  if (schema.isMapSchema()) {
    if (!isPlainObject(value)) return value;
    const item = schema.getValueSchema();
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, toSdkShape(v, item, `${where}.${k}`)]),
    );
  }
  if (schema.isStructSchema()) {
    if (!isPlainObject(value)) return value;
    const members = new Map<string, [string, NormalizedSchema]>();
    for (const [name, member] of schema.structIterator()) members.set(pascal(name), [name, member]);
    const out: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(value)) {
      const member = members.get(key);
      if (!member) {
        // Step Functions rejects such a definition; silently dropping it would hide the typo.
        throw new WorkflowHarnessError(
          `${where}: unknown parameter ${key} (expected one of ${[...members.keys()].join(', ')})`,
        );
      }
      out[member[0]] = toSdkShape(v, member[1], `${where}.${key}`);
    }
    return out;
  }
  if (schema.isBlobSchema() && typeof value !== 'object') return new TextEncoder().encode(String(value));
  if (schema.isBlobSchema()) return new TextEncoder().encode(JSON.stringify(value));
  if (schema.isTimestampSchema() && typeof value === 'string') return new Date(value);
  if (schema.isTimestampSchema() && typeof value === 'number') return new Date(value * 1000);
  return value;
}

function fromSdkShape(value: unknown, schema: NormalizedSchema): unknown {
  if (value === null || value === undefined) return value;
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Uint8Array) return new TextDecoder().decode(value);
  if (schema.isDocumentSchema()) return value;
  if (schema.isListSchema() && Array.isArray(value)) {
    const item = schema.getValueSchema();
    return value.map((v) => fromSdkShape(v, item));
  }
  if (schema.isMapSchema() && isPlainObject(value)) {
    const item = schema.getValueSchema();
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fromSdkShape(v, item)]));
  }
  if (schema.isStructSchema() && isPlainObject(value)) {
    const members = new Map<string, NormalizedSchema>(schema.structIterator());
    const out: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(value)) {
      if (key === '$unknown') continue;
      const member = members.get(key);
      out[pascal(key)] = member ? fromSdkShape(v, member) : v;
    }
    return out;
  }
  return value;
}

export function toJson(value: unknown): unknown {
  return value === undefined ? null : JSON.parse(JSON.stringify(value));
}
