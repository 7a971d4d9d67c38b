// `npm run bench [-- filter...] [--runs N]`: runs every suite in bench/suites/*.ts (or those whose
// name or file matches a filter) and writes bench/results/latest.json and latest.md, each saying
// which machine, commit and command produced the numbers.
// The pure parts (median, table rendering, argument parsing) are exported for tests/bench.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export type Cell = string | number | boolean | null;

export interface Column {
  key: string;
  label: string;
  /** Numbers right-aligned by default; everything else left. */
  align?: 'left' | 'right';
}

export interface SuiteContext {
  /** Repetitions for timed measurements (medians are reported). */
  runs: number;
  /** Progress line on stderr, prefixed with the elapsed time. */
  log(message: string): void;
}

export interface SuiteResult {
  title: string;
  columns: Column[];
  rows: Record<string, Cell>[];
  notes: string[];
  /** Checks the suite asserted on its own numbers; failed ones are listed in the notes as well. */
  checks: { name: string; ok: boolean; detail?: string }[];
  /** Raw per-run data for latest.json only. */
  details?: unknown;
}

export interface Suite {
  name: string;
  description: string;
  run(ctx: SuiteContext): Promise<SuiteResult>;
}

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  node: string;
  platform: string;
}

export interface SuiteReport extends SuiteResult {
  name: string;
  description: string;
  durationSeconds: number;
  /** When, by which command and at which commit this suite's numbers were produced. */
  producedBy?: { command: string; date: string; commit: string; dirty: boolean; runs: number };
}

export interface BenchReport {
  command: string;
  date: string;
  git: { commit: string; dirty: boolean };
  machine: Machine;
  runs: number;
  durationSeconds: number;
  suites: SuiteReport[];
}

export const DEFAULT_RUNS = 3;

/** The middle value (mean of the two middle ones for an even count); the input is not reordered. */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('median of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export function formatCell(value: Cell): string {
  if (value === null) return '–';
  if (typeof value === 'boolean') return value ? 'yes' : '**NO**';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return String(value);
    return Number.isInteger(value) ? String(value) : value.toFixed(value < 10 ? 2 : 1);
  }
  // A pipe would end the cell; a newline would end the row.
  return value.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

export function renderTable(columns: readonly Column[], rows: readonly Record<string, Cell>[]): string {
  const align = (c: Column) =>
    c.align ??
    (rows.length > 0 && rows.every((r) => typeof r[c.key] === 'number' || r[c.key] === null)
      ? 'right'
      : 'left');
  const header = `| ${columns.map((c) => formatCell(c.label)).join(' | ')} |`;
  const rule = `|${columns.map((c) => (align(c) === 'right' ? ' ---: ' : ' --- ')).join('|')}|`;
  const body = rows.map((r) => `| ${columns.map((c) => formatCell(r[c.key] ?? null)).join(' | ')} |`);
  return [header, rule, ...body].join('\n');
}

export function machineLine(m: Machine): string {
  return `${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB RAM, Node ${m.node}, ${m.platform}`;
}

export function renderMarkdown(report: BenchReport): string {
  const lines = [
    '# Benchmark results',
    '',
    `Produced by \`${report.command}\` on ${report.date} at commit \`${report.git.commit.slice(0, 12)}\`` +
      `${report.git.dirty ? ' (with uncommitted changes)' : ''}, in ${report.durationSeconds.toFixed(0)} s.`,
    '',
    `Machine: ${machineLine(report.machine)}.`,
    '',
    `Timings are medians of ${report.runs} runs unless a note says otherwise; call counts are from the first run, and every other run must agree.`,
  ];
  for (const suite of report.suites) {
    lines.push('', `## ${suite.name}: ${suite.title}`, '', suite.description, '');
    lines.push(renderTable(suite.columns, suite.rows), '');
    const failed = suite.checks.filter((c) => !c.ok);
    lines.push(
      `Checks: ${suite.checks.length - failed.length} of ${suite.checks.length} passed` +
        (failed.length > 0 ? '; failed:' : '.'),
    );
    for (const c of failed) lines.push(`- **${c.name}**${c.detail ? `: ${c.detail}` : ''}`);
    if (suite.notes.length > 0) {
      lines.push('', 'Notes:', '');
      for (const note of suite.notes) lines.push(`- ${note}`);
    }
    const by = suite.producedBy;
    lines.push(
      '',
      by
        ? `Suite took ${suite.durationSeconds.toFixed(0)} s; produced by \`${by.command}\` on ${by.date} at \`${by.commit.slice(0, 12)}\`${by.dirty ? ' (uncommitted changes)' : ''}.`
        : `Suite took ${suite.durationSeconds.toFixed(0)} s.`,
    );
  }
  return `${lines.join('\n')}\n`;
}

export interface BenchArgs {
  filters: string[];
  runs: number;
}

export function parseArgs(argv: readonly string[]): BenchArgs {
  const filters: string[] = [];
  let runs = DEFAULT_RUNS;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const inline = /^--runs=(.*)$/.exec(arg);
    if (inline || arg === '--runs') {
      const raw = inline ? inline[1] : argv[++i];
      const n = Number(raw);
      if (!Number.isInteger(n) || n < 1) throw new Error(`--runs needs a whole number >= 1, got ${raw}`);
      runs = n;
    } else if (arg.startsWith('-')) {
      throw new Error(`unknown option ${arg} (usage: tsx bench/run.ts [filter...] [--runs N])`);
    } else {
      filters.push(arg);
    }
  }
  return { filters, runs };
}

/** A suite is selected when no filter is given or a filter is part of its name or file name. */
export function selected(suiteName: string, file: string, filters: readonly string[]): boolean {
  if (filters.length === 0) return true;
  const stem = basename(file).replace(/\.ts$/, '');
  return filters.some((f) => suiteName.includes(f) || stem.includes(f));
}

function machine(): Machine {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown CPU',
    cores: cpus.length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
  };
}

function gitState(cwd: string): BenchReport['git'] {
  const git = (...args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8' }).trim();
  try {
    return { commit: git('rev-parse', 'HEAD'), dirty: git('status', '--porcelain').length > 0 };
  } catch {
    return { commit: 'unknown', dirty: false };
  }
}

function commandLine(argv: readonly string[]): string {
  const args = argv.join(' ');
  if (process.env.npm_lifecycle_event === 'bench') return `npm run bench${args ? ` -- ${args}` : ''}`;
  return `tsx bench/run.ts${args ? ` ${args}` : ''}`;
}

async function main(): Promise<void> {
  const started = performance.now();
  const benchDir = dirname(fileURLToPath(import.meta.url));
  const args = parseArgs(process.argv.slice(2));
  const log = (message: string) =>
    process.stderr.write(`[${((performance.now() - started) / 1000).toFixed(1).padStart(6)} s] ${message}\n`);

  const suiteDir = join(benchDir, 'suites');
  const files = readdirSync(suiteDir)
    .filter((f) => f.endsWith('.ts'))
    .sort();
  const suites: { file: string; suite: Suite }[] = [];
  for (const file of files) {
    const suite = (await import(pathToFileURL(join(suiteDir, file)).href)) as Suite;
    if (typeof suite.run !== 'function' || !suite.name)
      throw new Error(`${file} must export name, description and run(ctx)`);
    if (selected(suite.name, file, args.filters)) suites.push({ file, suite });
  }
  if (suites.length === 0)
    throw new Error(`no suite matches ${args.filters.join(', ')} (have ${files.join(', ')})`);

  const git = gitState(benchDir);
  const command = commandLine(process.argv.slice(2));
  const reports: SuiteReport[] = [];
  for (const { suite } of suites) {
    log(`suite ${suite.name}: ${suite.description}`);
    const t = performance.now();
    const result = await suite.run({ runs: args.runs, log: (m) => log(`${suite.name}: ${m}`) });
    const failed = result.checks.filter((c) => !c.ok);
    for (const c of failed) log(`${suite.name}: CHECK FAILED ${c.name}${c.detail ? `: ${c.detail}` : ''}`);
    reports.push({
      name: suite.name,
      description: suite.description,
      durationSeconds: (performance.now() - t) / 1000,
      ...result,
      producedBy: {
        command,
        date: new Date().toISOString(),
        commit: git.commit,
        dirty: git.dirty,
        runs: args.runs,
      },
    });
  }
  const out = join(benchDir, 'results');
  // A filtered run replaces only its suites; the others keep the numbers they had.
  if (args.filters.length > 0 && existsSync(join(out, 'latest.json'))) {
    const previous = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8')) as BenchReport;
    const fresh = new Set(reports.map((r) => r.name));
    const kept = previous.suites.filter((s) => !fresh.has(s.name));
    reports.unshift(
      ...kept.map((s) => ({
        ...s,
        producedBy: s.producedBy ?? {
          command: previous.command,
          date: previous.date,
          commit: previous.git.commit,
          dirty: previous.git.dirty,
          runs: previous.runs,
        },
      })),
    );
    reports.sort((a, b) => a.name.localeCompare(b.name));
  }

  const report: BenchReport = {
    command,
    date: new Date().toISOString(),
    git,
    machine: machine(),
    runs: args.runs,
    durationSeconds: (performance.now() - started) / 1000,
    suites: reports,
  };
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'latest.json'), `${JSON.stringify(report, null, 2)}\n`);
  const markdown = renderMarkdown(report);
  writeFileSync(join(out, 'latest.md'), markdown);
  process.stdout.write(markdown);
  log(`wrote ${join(out, 'latest.json')} and latest.md`);
}

const entry = process.argv[1];
if (entry && resolve(entry) === fileURLToPath(import.meta.url)) {
  main().then(
    // Emulator children and pooled sockets must not keep a finished bench alive.
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(
        `bench failed: ${error instanceof Error ? (error.stack ?? error.message) : error}\n`,
      );
      process.exit(1);
    },
  );
}
