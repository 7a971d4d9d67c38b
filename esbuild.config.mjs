// One minified ESM bundle per Lambda function: functions/<name>/handler.ts ->
// dist/functions/<name>/index.mjs, the code it imports lazily in dist/functions/<name>/chunks/
// (+ linked source maps and the esbuild metafile).
// The AWS SDK v3 is bundled, not taken from the Lambda runtime, so the code the tests
// run is the code that is deployed, at the versions package-lock.json pins.
import { existsSync } from 'node:fs';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';

const REPO_ROOT = dirname(fileURLToPath(import.meta.url));
export const FUNCTIONS_DIR = join(REPO_ROOT, 'functions');
export const DIST_FUNCTIONS_DIR = join(REPO_ROOT, 'dist', 'functions');
const HANDLER_FILE = 'handler.ts';

// ESM output cannot call require(); CJS dependencies inside the bundle still do.
export const REQUIRE_SHIM =
  "import { createRequire as __bundleCreateRequire } from 'node:module'; const require = __bundleCreateRequire(import.meta.url);";

/** Code the functions share, not a function of its own. */
const SHARED_DIR = 'shared';

/** Names of every functions/<name>/ that has a handler.ts (functions/shared/ is not a function). */
export async function discoverFunctions(functionsDir = FUNCTIONS_DIR) {
  const entries = await readdir(functionsDir, { withFileTypes: true });
  return entries
    .filter(
      (entry) =>
        entry.isDirectory() &&
        entry.name !== SHARED_DIR &&
        existsSync(join(functionsDir, entry.name, HANDLER_FILE)),
    )
    .map((entry) => entry.name)
    .sort();
}

// The schemas are written against events/zod.ts (zod/mini). A function bundle carries
// events/zod-lite.ts in its place: the same parse results and messages for what the schemas use,
// at a fraction of zod/mini's cost at cold start (docs/performance.md). Tests hold the two equal.
const ZOD_MODULE = join(REPO_ROOT, 'events', 'zod.ts');
const ZOD_LITE_MODULE = join(REPO_ROOT, 'events', 'zod-lite.ts');
export const zodLitePlugin = {
  name: 'zod-lite',
  setup(build) {
    build.onResolve({ filter: /(^|\/)zod\.ts$/ }, (args) =>
      resolve(args.resolveDir, args.path) === ZOD_MODULE ? { path: ZOD_LITE_MODULE } : undefined,
    );
  },
};

/** The esbuild options for one function, exported so tests and benches bundle the same way. */
export function buildOptions(name, { outdir = DIST_FUNCTIONS_DIR, functionsDir = FUNCTIONS_DIR } = {}) {
  return {
    entryPoints: [join(functionsDir, name, HANDLER_FILE)],
    outdir: join(outdir, name),
    entryNames: 'index',
    outExtension: { '.js': '.mjs' },
    // What a module imports with import() becomes a chunk of its own, loaded only when called:
    // the SDK's credential providers other than the environment's (SSO, STS, INI files, IMDS),
    // which a function on Lambda never uses, are then never parsed at cold start.
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    absWorkingDir: REPO_ROOT,
    // A functions dir outside the repo (a test's throwaway one) still resolves the project's packages.
    nodePaths: [join(REPO_ROOT, 'node_modules')],
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node24',
    minify: true,
    // --enable-source-maps only needs the mappings; leaving sources out keeps the asset small.
    sourcemap: 'linked',
    sourcesContent: false,
    metafile: true,
    // Prefer ESM builds of dependencies: they tree-shake, CJS does not.
    mainFields: ['module', 'main'],
    banner: { js: REQUIRE_SHIM },
    legalComments: 'none',
    logLevel: 'warning',
    plugins: [zodLitePlugin],
  };
}

/**
 * Builds the named functions (default: every discovered one) in parallel.
 * @param {{ names?: string[], outdir?: string, functionsDir?: string }} [options]
 * @returns {Promise<{ name: string, outfile: string, bytes: number }[]>}
 */
export async function buildFunctions({
  names,
  outdir = DIST_FUNCTIONS_DIR,
  functionsDir = FUNCTIONS_DIR,
} = {}) {
  const resolvedOutdir = resolve(outdir);
  const resolvedFunctionsDir = resolve(functionsDir);
  const selected = names ?? (await discoverFunctions(resolvedFunctionsDir));
  const missing = selected.filter((name) => !existsSync(join(resolvedFunctionsDir, name, HANDLER_FILE)));
  if (missing.length > 0) {
    throw new Error(
      `no ${HANDLER_FILE} for: ${missing.join(', ')} (looked in ${relative(process.cwd(), resolvedFunctionsDir) || '.'})`,
    );
  }
  return Promise.all(
    selected.map(async (name) => {
      const options = buildOptions(name, { outdir: resolvedOutdir, functionsDir: resolvedFunctionsDir });
      const functionOutdir = options.outdir;
      const outfile = join(functionOutdir, 'index.mjs');
      // A stale file left in the directory would be uploaded with the asset.
      await rm(functionOutdir, { recursive: true, force: true });
      await mkdir(functionOutdir, { recursive: true });
      const result = await esbuild.build(options);
      await writeFile(join(functionOutdir, 'meta.json'), JSON.stringify(result.metafile));
      // Every code file of the bundle: index.mjs and its chunks.
      const bytes = Object.entries(result.metafile.outputs)
        .filter(([path]) => path.endsWith('.mjs'))
        .reduce((sum, [, output]) => sum + output.bytes, 0);
      return { name, outfile, bytes };
    }),
  );
}

function formatTable(results, ms) {
  const width = Math.max(8, ...results.map((r) => r.name.length));
  const lines = results.map(
    (r) =>
      `${r.name.padEnd(width)}  ${(r.bytes / 1024).toFixed(1).padStart(8)} KB  ${relative(REPO_ROOT, r.outfile)}`,
  );
  const total = results.reduce((sum, r) => sum + r.bytes, 0);
  return [
    `${'function'.padEnd(width)}  ${'size'.padStart(11)}  bundle (with its chunks)`,
    ...lines,
    `${results.length} bundle(s), ${(total / 1024).toFixed(1)} KB in ${ms} ms`,
  ].join('\n');
}

const invokedAsScript = process.argv[1] && pathToFileURL(resolve(process.argv[1])).href === import.meta.url;
if (invokedAsScript) {
  const started = performance.now();
  const names = process.argv.slice(2);
  buildFunctions(names.length > 0 ? { names } : {})
    .then((results) => {
      if (results.length === 0) {
        process.stderr.write(`no functions/*/${HANDLER_FILE} found\n`);
        process.exitCode = 1;
        return;
      }
      process.stdout.write(`${formatTable(results, Math.round(performance.now() - started))}\n`);
    })
    .catch((err) => {
      process.stderr.write(`build failed: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    });
}
