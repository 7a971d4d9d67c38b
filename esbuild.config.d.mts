// Types of esbuild.config.mjs for the TypeScript code that imports it (tests, local tools).
import type { BuildOptions, Plugin } from 'esbuild';

export interface BuildFunctionsOptions {
  /** Function directory names under functionsDir; default: every one with a handler.ts. */
  names?: string[];
  /** Default: dist/functions. */
  outdir?: string;
  /** Default: functions. */
  functionsDir?: string;
}

export interface BuiltFunction {
  name: string;
  /** Absolute path of <outdir>/<name>/index.mjs. */
  outfile: string;
  bytes: number;
}

/** The banner that gives an ESM bundle require() for the CJS code inside it. */
export const REQUIRE_SHIM: string;
/** Resolves events/zod.ts to events/zod-lite.ts: what a function bundle validates with. */
export const zodLitePlugin: Plugin;
export const FUNCTIONS_DIR: string;
export const DIST_FUNCTIONS_DIR: string;
export function discoverFunctions(functionsDir?: string): Promise<string[]>;
export function buildOptions(
  name: string,
  options?: Pick<BuildFunctionsOptions, 'outdir' | 'functionsDir'>,
): BuildOptions & { outfile: string; metafile: true };
export function buildFunctions(options?: BuildFunctionsOptions): Promise<BuiltFunction[]>;
