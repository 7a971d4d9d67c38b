// Shared by the application stack's template tests (app-stacks.test.ts, app-serving.test.ts): both
// example configs (dev and prod) synthesized once per file the way `npm run synth` does, and the
// helpers that read the templates and constructs.
import { type CfnElement, Stack } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { afterAll, beforeAll, expect } from 'vitest';
import type { BuiltEnvironment } from '../../infra/app.ts';
import { appStackName } from '../../infra/stacks/application-stacks.ts';
import { type Synthesized, synthesize } from './synth-support.ts';

export type CfnResource = {
  Type: string;
  Properties?: Record<string, unknown>;
  DependsOn?: string | string[];
};
export type Template = {
  Resources: Record<string, CfnResource>;
  Outputs?: Record<string, { Value: unknown }>;
};
export type Statement = {
  Effect: string;
  Action: string | string[];
  Resource?: unknown;
  Condition?: unknown;
};

export const ENVIRONMENTS = ['dev', 'prod'] as const;
export const PARTS = [
  'Network',
  'Data',
  'Ingress',
  'Compute',
  'EdgeGlobal',
  'Edge',
  'Observability',
  'ControlPlane',
];

export const ofType = (t: Template, type: string) =>
  Object.entries(t.Resources).filter(([, r]) => r.Type === type);
export const onlyOfType = (t: Template, type: string): [string, CfnResource] => {
  const found = ofType(t, type);
  expect(found, type).toHaveLength(1);
  return found[0] as [string, CfnResource];
};
export const asArray = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];
export const statementsOf = (r: CfnResource): Statement[] =>
  asArray((r.Properties?.PolicyDocument as { Statement?: Statement | Statement[] } | undefined)?.Statement);
export const text = (v: unknown) => JSON.stringify(v);
export const statementsOfKey = (r: CfnResource): Statement[] =>
  asArray((r.Properties?.KeyPolicy as { Statement?: Statement | Statement[] } | undefined)?.Statement);
export const logicalId = (construct: IConstruct): string =>
  Stack.of(construct).getLogicalId((construct.node.defaultChild ?? construct) as CfnElement);

/** An AwsCustomResource call as its provider reads it, with each CloudFormation token as `<token>`. */
export const sdkCall = (
  value: unknown,
): { service: string; action: string; parameters?: Record<string, unknown> } => {
  const join = (value as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
  const json = join
    ? join[1].map((part) => (typeof part === 'string' ? part : '<token>')).join(join[0])
    : value;
  return JSON.parse(String(json));
};

export interface AppSynth {
  readonly synth: Synthesized;
  template(env: string, part: string): Template;
  allTemplates(): { name: string; template: Template }[];
  environment(name: string): BuiltEnvironment;
  /** The HTTP API construct of an environment (both example configs have one). */
  httpApi(env: string): NonNullable<NonNullable<BuiltEnvironment['stacks']>['ingress']['api']>;
  /** A value another stack of the same environment publishes, as a consumer reads it. */
  publishedValue(ref: unknown): unknown;
}

/** Synthesizes both example configs before the file's tests and cleans up after them. */
export function useAppSynth(): AppSynth {
  let synthesized: Synthesized | undefined;
  beforeAll(async () => {
    synthesized = await synthesize({ environmentNames: [...ENVIRONMENTS] });
  }, 240_000);
  afterAll(() => synthesized?.cleanup());

  const synth = (): Synthesized => {
    if (!synthesized) throw new Error('the app is not synthesized yet (useAppSynth runs in beforeAll)');
    return synthesized;
  };
  const environment = (name: string): BuiltEnvironment => {
    const found = synth().environments.find((e) => e.name === name);
    if (!found) throw new Error(`no environment ${name}`);
    return found;
  };
  return {
    get synth() {
      return synth();
    },
    template: (env, part) => synth().assembly.getStackByName(appStackName(env, part)).template as Template,
    allTemplates: () =>
      synth().assembly.stacks.map((s) => ({ name: s.stackName, template: s.template as Template })),
    environment,
    httpApi: (env) => {
      const api = environment(env).stacks?.ingress.api;
      if (!api) throw new Error(`${env} has no HTTP API`);
      return api;
    },
    publishedValue: (ref) => {
      const { StackName, OutputName } = (
        ref as { 'Fn::GetStackOutput': { StackName: string; OutputName: string } }
      )['Fn::GetStackOutput'];
      const producer = synth().assembly.getStackByName(StackName).template as Template;
      return producer.Outputs?.[OutputName]?.Value;
    },
  };
}
