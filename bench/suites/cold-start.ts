// Cold start: per function, bundle size and module init time (importing the bundle in a fresh
// Node process), against bundles built the same way of only the AWS SDK clients it uses, of those
// clients and the commands it sends, and of the framework floor (the clients, the commands and the
// libraries every function must carry, with no code of ours), and against an empty handler.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { buildFunctions, buildOptions, DIST_FUNCTIONS_DIR } from '../../esbuild.config.mjs';
import { REPO_ROOT } from '../../local/python-env.ts';
import { median, type SuiteContext, type SuiteResult } from '../run.ts';

export const name = 'cold-start';
export const description =
  'Bundle size and module init time per function, against its framework floor (the AWS SDK clients and commands it uses and the libraries every function carries), the bare clients and an empty handler (fresh Node process per import).';

interface MetafileOutput {
  bytes: number;
  entryPoint?: string;
  imports: { path: string; kind: string; external?: boolean }[];
  inputs: Record<string, { bytesInOutput: number }>;
}
export interface Metafile {
  outputs: Record<string, MetafileOutput>;
}

/**
 * The output files a cold start loads: the entry (index.mjs) and every chunk it imports
 * statically, transitively. Chunks reached only through import() load when first called.
 */
export function filesLoadedAtInit(meta: Metafile): string[] {
  const entry = Object.keys(meta.outputs).find((path) => path.endsWith('/index.mjs'));
  if (!entry) throw new Error('the metafile has no index.mjs output');
  const loaded = new Set<string>();
  const pending = [entry];
  for (let path = pending.pop(); path !== undefined; path = pending.pop()) {
    if (loaded.has(path)) continue;
    loaded.add(path);
    for (const imported of meta.outputs[path]?.imports ?? []) {
      if (imported.kind === 'import-statement' && meta.outputs[imported.path]) pending.push(imported.path);
    }
  }
  return [...loaded];
}

/** Bytes of code loaded at init, and of the whole bundle (every chunk). */
export function bundleBytes(meta: Metafile): { init: number; whole: number } {
  const sum = (paths: string[]) => paths.reduce((total, p) => total + (meta.outputs[p]?.bytes ?? 0), 0);
  return {
    init: sum(filesLoadedAtInit(meta)),
    whole: sum(Object.keys(meta.outputs).filter((p) => p.endsWith('.mjs'))),
  };
}

/** Bytes per package (the project's own code as "(project)") in the given outputs (default: all). */
export function bytesByPackage(meta: Metafile, paths = Object.keys(meta.outputs)): Record<string, number> {
  const by: Record<string, number> = {};
  for (const path of paths) {
    for (const [input, { bytesInOutput }] of Object.entries(meta.outputs[path]?.inputs ?? {})) {
      const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
      const pkg = m?.[1] ?? '(project)';
      by[pkg] = (by[pkg] ?? 0) + bytesInOutput;
    }
  }
  return by;
}

/**
 * The AWS SDK commands a cold start loads, by package: the Command classes of @aws-sdk/client-*
 * and @aws-sdk/lib-dynamodb left in the output files loaded at init (esbuild drops those no code
 * reaches; one a function imports lazily loads after init, so it is not the floor's).
 */
export function sdkCommands(meta: Metafile): { pkg: string; command: string }[] {
  const found = new Map<string, { pkg: string; command: string }>();
  for (const output of filesLoadedAtInit(meta).map((path) => meta.outputs[path])) {
    if (!output) continue;
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      const m =
        /node_modules\/(@aws-sdk\/(?:client-[^/]+|lib-dynamodb))\/dist-es\/commands\/(\w+Command)\.js$/.exec(
          input,
        );
      if (m?.[1] && m[2] && bytesInOutput > 0) found.set(`${m[1]}/${m[2]}`, { pkg: m[1], command: m[2] });
    }
  }
  return [...found.values()].sort((a, b) => `${a.pkg}/${a.command}`.localeCompare(`${b.pkg}/${b.command}`));
}

/** Source importing the given commands, so that a bundle carries them (and their schemas). */
export function commandsSource(commands: { pkg: string; command: string }[]): string {
  return `${commands.map((c, i) => `import { ${c.command} as K${i} } from '${c.pkg}';`).join('\n')}\nexport const commands = [${commands.map((_, i) => `K${i}`).join(', ')}];\n`;
}

/** The @aws-sdk/client-* packages a bundle contains. */
export function sdkClients(by: Record<string, number>): string[] {
  return Object.keys(by)
    .filter((p) => /^@aws-sdk\/client-/.test(p))
    .sort();
}

async function clientClassName(pkg: string): Promise<string> {
  const mod = (await import(pkg)) as Record<string, unknown>;
  const name = Object.keys(mod).find(
    (k) => k.endsWith('Client') && typeof mod[k] === 'function' && k !== 'Client',
  );
  if (!name) throw new Error(`no client class in ${pkg}`);
  return name;
}

/** Import time in ms of one module in a fresh Node process. */
function importMs(file: string): number {
  const script = `const t = performance.now(); await import(${JSON.stringify(pathToFileURL(file).href)}); process.stdout.write(String(performance.now() - t));`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
    env: { ...process.env, POWERTOOLS_LOG_LEVEL: 'SILENT', AWS_REGION: 'us-east-1' },
  });
  return Number(out);
}

async function bundleEntry(
  dir: string,
  label: string,
  source: string,
): Promise<{ file: string; meta: Metafile }> {
  const entryDir = join(dir, label);
  mkdirSync(entryDir, { recursive: true });
  writeFileSync(join(entryDir, 'handler.ts'), source);
  const options = buildOptions(label, { outdir: dir, functionsDir: dir });
  const result = await build({ ...options, nodePaths: [join(REPO_ROOT, 'node_modules')] });
  return { file: join(dir, label, 'index.mjs'), meta: result.metafile as Metafile };
}

/**
 * The function bundled as it was before zod-lite: the same options, validating with zod/mini
 * itself. Timed beside the bundle, it shows what that choice is worth on every run.
 */
async function bundleWithZodMini(dir: string, name: string): Promise<{ file: string; meta: Metafile }> {
  const options = buildOptions(name, { outdir: join(dir, 'zod-mini') });
  const result = await build({ ...options, plugins: [] });
  return { file: join(dir, 'zod-mini', name, 'index.mjs'), meta: result.metafile as Metafile };
}

/**
 * Budgets over the framework floor: what a function's own code may add to the SDK clients and
 * commands it uses and the libraries the project requires (docs/performance.md says why the floor
 * and not the bare clients).
 */
export const MAX_SIZE_RATIO = 1.3;
export const MAX_INIT_RATIO = 1.15;

/**
 * Import times of each bundle, one of each per round in turn, so that whatever else the machine
 * does at a moment weighs on all alike; their medians, in the order given.
 */
function interleavedMedians(bundles: string[], rounds: number): number[] {
  const times = bundles.map((): number[] => []);
  for (let i = 0; i < rounds; i++)
    for (const [k, bundle] of bundles.entries()) times[k]?.push(importMs(bundle));
  return times.map((t) => median(t));
}

/**
 * The SDK the function uses (its clients and the commands it sends) plus what every function must
 * carry by this project's standards, with no code of ours: the Powertools logger and its middy
 * middleware, the validator (events/zod.ts, which a function bundle resolves to
 * events/zod-lite.ts) with one small schema, where the function uses DynamoDB, the document
 * client, and where it publishes outcome metrics, Powertools Metrics. No function that sends
 * those commands can init faster than this.
 */
function frameworkFloorSource(sdkSource: string, usesDynamo: boolean, publishesMetrics: boolean): string {
  return `${sdkSource}import { Logger } from '@aws-lambda-powertools/logger';
${publishesMetrics ? "import { Metrics } from '@aws-lambda-powertools/metrics';\nexport const metrics = Metrics.name;\n" : ''}
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
${usesDynamo ? "import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';\n" : ''}import * as z from '${join(REPO_ROOT, 'events', 'zod.ts')}';
const logger = new Logger();
const Request = z.object({ action: z.string().check(z.minLength(1)) });
export const framed = middy(async (event) => { Request.parse(event); return ${usesDynamo ? 'DynamoDBDocumentClient.name' : 'clients.length'}; }).use(injectLambdaContext(logger));
`;
}

/** Imports per bundle: a few milliseconds' difference needs more than nine on a 2-core machine. */
const MIN_IMPORTS = 21;

export async function run(ctx: SuiteContext): Promise<SuiteResult> {
  const runs = Math.max(ctx.runs, MIN_IMPORTS);
  const built = await buildFunctions();
  const scratch = mkdtempSync(join(tmpdir(), 'cold-start-'));
  const empty = await bundleEntry(
    scratch,
    'empty-handler',
    'export const handler = async () => ({ ok: true });\n',
  );
  const emptyMs = median(Array.from({ length: runs }, () => importMs(empty.file)));
  const emptyBytes = bundleBytes(empty.meta).init;

  const rows: SuiteResult['rows'] = [];
  const checks: SuiteResult['checks'] = [];
  const notes: string[] = [];
  for (const fn of built) {
    const meta = JSON.parse(readFileSync(join(DIST_FUNCTIONS_DIR, fn.name, 'meta.json'), 'utf8')) as Metafile;
    const clients = sdkClients(bytesByPackage(meta));
    const atInit = bytesByPackage(meta, filesLoadedAtInit(meta));
    const ourBytes = bundleBytes(meta);
    const names = await Promise.all(clients.map(clientClassName));
    const bareSource = `${clients.map((c, i) => `import { ${names[i]} as C${i} } from '${c}';`).join('\n')}\nexport const clients = [${clients.map((_, i) => `C${i}`).join(', ')}];\nexport const handler = async () => clients.length;\n`;
    const commands = sdkCommands(meta);
    const sdkSource = `${bareSource}${commandsSource(commands)}`;
    const bare = await bundleEntry(scratch, `bare-${fn.name}`, bareSource);
    const sdk = await bundleEntry(scratch, `sdk-${fn.name}`, sdkSource);
    const floor = await bundleEntry(
      scratch,
      `floor-${fn.name}`,
      frameworkFloorSource(
        sdkSource,
        clients.includes('@aws-sdk/client-dynamodb'),
        Object.values(meta.outputs).some((out) =>
          Object.keys(out.inputs).some((path) => path.includes('@aws-lambda-powertools/metrics')),
        ),
      ),
    );
    const withZodMini = await bundleWithZodMini(scratch, fn.name);
    ctx.log(
      `${fn.name}: timing ${runs} imports each of the bundle, the bare clients, the clients with their commands, the framework floor and the bundle with zod/mini, in turn`,
    );
    const [ours = 0, bareMs = 0, sdkMs = 0, floorMs = 0, zodMiniMs = 0] = interleavedMedians(
      [fn.outfile, bare.file, sdk.file, floor.file, withZodMini.file],
      runs,
    );
    const zodMiniBytes = bundleBytes(withZodMini.meta).init;
    const bareBytes = bundleBytes(bare.meta);
    const sdkBytes = bundleBytes(sdk.meta).init;
    const floorBytes = bundleBytes(floor.meta).init;
    const top = Object.entries(atInit)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 3)
      .map(([p, b]) => `${p} ${(b / 1024).toFixed(0)} KB`)
      .join(', ');
    const sizeRatio = ourBytes.init / floorBytes;
    const timeRatio = ours / floorMs;
    rows.push({
      function: fn.name,
      clients: clients.map((c) => c.replace('@aws-sdk/client-', '')).join(', '),
      'bundle KB': Number((ourBytes.init / 1024).toFixed(1)),
      'bare clients KB': Number((bareBytes.init / 1024).toFixed(1)),
      'whole bundle KB': Number((ourBytes.whole / 1024).toFixed(1)),
      'bare whole KB': Number((bareBytes.whole / 1024).toFixed(1)),
      commands: commands.length,
      'sdk KB': Number((sdkBytes / 1024).toFixed(1)),
      'floor KB': Number((floorBytes / 1024).toFixed(1)),
      'size vs floor': Number(sizeRatio.toFixed(2)),
      'size vs bare': Number((ourBytes.init / bareBytes.init).toFixed(2)),
      'init ms': Number(ours.toFixed(1)),
      'bare clients init ms': Number(bareMs.toFixed(1)),
      'sdk init ms': Number(sdkMs.toFixed(1)),
      'floor init ms': Number(floorMs.toFixed(1)),
      'init vs floor': Number(timeRatio.toFixed(2)),
      'init vs bare': Number((ours / bareMs).toFixed(2)),
      'sdk ratio': Number((sdkMs / bareMs).toFixed(2)),
      'floor ratio': Number((floorMs / bareMs).toFixed(2)),
      'zod/mini KB': Number((zodMiniBytes / 1024).toFixed(1)),
      'zod/mini init ms': Number(zodMiniMs.toFixed(1)),
      'largest parts': top,
    });
    checks.push({
      name: `${fn.name}: validating with zod-lite loads less than with zod/mini, and inits no slower (within 5%)`,
      ok: ourBytes.init < zodMiniBytes && ours <= zodMiniMs * 1.05,
      detail: `${(ourBytes.init / 1024).toFixed(0)} KB, ${ours.toFixed(1)} ms vs ${(zodMiniBytes / 1024).toFixed(0)} KB, ${zodMiniMs.toFixed(1)} ms`,
    });
    checks.push({
      name: `${fn.name}: the code loaded at init is at most ${MAX_SIZE_RATIO}x its framework floor's`,
      ok: sizeRatio <= MAX_SIZE_RATIO,
      detail: `${(ourBytes.init / 1024).toFixed(0)} KB vs ${(floorBytes / 1024).toFixed(0)} KB (x${sizeRatio.toFixed(2)})`,
    });
    checks.push({
      name: `${fn.name}: module init is at most ${MAX_INIT_RATIO}x its framework floor's`,
      ok: timeRatio <= MAX_INIT_RATIO,
      detail: `${ours.toFixed(1)} ms vs ${floorMs.toFixed(1)} ms (x${timeRatio.toFixed(2)})`,
    });
  }
  notes.push(
    `Init time is the time to import the bundle in a fresh Node ${process.version} process, the median of ${runs}, the bundle, the bare clients, the clients with their commands, the framework floor and the bundle with zod/mini imported in turn in one run; the handler is not invoked.`,
    "Bare clients: only the client class of each @aws-sdk/client-* package in the function's metafile. SDK: those clients and every Command class the function sends (of the client packages and the DynamoDB document client), which bring their operations' schemas. Framework floor: the SDK plus what the project requires of every function and nothing of ours (the Powertools logger with its middy middleware, the validator the bundles carry, events/zod-lite.ts, with one small schema, and the DynamoDB document client where the function uses DynamoDB, and Powertools Metrics where it publishes outcome metrics). All are built with the same esbuild options.",
    "The budgets (checks) are over the framework floor: what the function's own code adds to the SDK calls it makes and the libraries it must carry. The ratios over the bare clients are shown beside them: the commands and the required libraries alone take most of a 1.15x init budget over the bare clients, before any code of ours (docs/performance.md).",
    'Bundles are split (esbuild.config.mjs): "loaded at init KB" is the code a cold start loads, index.mjs and the chunks it imports statically, and "whole bundle KB" every chunk, with those loaded only when called (the SDK\'s credential providers other than the environment\'s, and whatever a function imports lazily). The other bundles are split the same way.',
    `Empty handler: ${(emptyBytes / 1024).toFixed(1)} KB, ${emptyMs.toFixed(1)} ms.`,
    "Validation: the schemas are written against zod/mini; a function bundle carries events/zod-lite.ts in its place (esbuild.config.mjs), the same results and messages for what the schemas use (tests/unit/zod-lite.test.ts), without zod/mini's cost of building hundreds of schemas at import.",
    'Clients are created on first use (functions/shared/clients.ts), so a function pays for constructing only the clients a given invocation needs.',
  );
  return {
    title: 'bundle size and module init time per function',
    columns: [
      { key: 'function', label: 'function' },
      { key: 'clients', label: 'SDK clients' },
      { key: 'commands', label: 'commands sent' },
      { key: 'bundle KB', label: 'loaded at init KB' },
      { key: 'floor KB', label: 'framework floor KB' },
      { key: 'size vs floor', label: 'size / floor' },
      { key: 'init ms', label: 'init ms (median)' },
      { key: 'floor init ms', label: 'framework floor init ms' },
      { key: 'init vs floor', label: 'init / floor' },
      { key: 'bare clients KB', label: 'bare clients KB' },
      { key: 'sdk KB', label: 'clients + commands KB' },
      { key: 'size vs bare', label: 'size / bare clients' },
      { key: 'bare clients init ms', label: 'bare clients init ms' },
      { key: 'sdk init ms', label: 'clients + commands init ms' },
      { key: 'init vs bare', label: 'init / bare clients' },
      { key: 'sdk ratio', label: 'clients + commands / bare clients' },
      { key: 'floor ratio', label: 'floor / bare clients' },
      { key: 'zod/mini KB', label: 'with zod/mini: at init KB' },
      { key: 'zod/mini init ms', label: 'with zod/mini: init ms' },
      { key: 'whole bundle KB', label: 'whole bundle KB' },
      { key: 'bare whole KB', label: 'bare whole KB' },
      { key: 'largest parts', label: 'largest parts loaded at init' },
    ],
    rows,
    notes,
    checks,
  };
}
