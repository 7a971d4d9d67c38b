// CloudWatch Logs' embedded metric format ingestion, for the rig: the functions run in this
// process and write their EMF lines to stdout, where CloudWatch Logs would read them. Those lines
// are taken off stdout (they would drown test output), checked as CloudWatch checks them (an
// invalid one becomes no metric there, a problem here), and kept as data points for tests to read.
// Other output passes through.

export interface EmfPoint {
  namespace: string;
  name: string;
  unit: string;
  dimensions: Record<string, string>;
  values: number[];
  timestamp: number;
}

const UNITS = new Set([
  'Seconds',
  'Microseconds',
  'Milliseconds',
  'Bytes',
  'Kilobytes',
  'Megabytes',
  'Gigabytes',
  'Terabytes',
  'Bits',
  'Kilobits',
  'Megabits',
  'Gigabits',
  'Terabits',
  'Percent',
  'Count',
  'Bytes/Second',
  'Kilobytes/Second',
  'Megabytes/Second',
  'Gigabytes/Second',
  'Terabytes/Second',
  'Bits/Second',
  'Kilobits/Second',
  'Megabits/Second',
  'Gigabits/Second',
  'Terabits/Second',
  'Count/Second',
  'None',
]);
/** Kept at most; a long run keeps the newest. */
const MAX_POINTS = 50_000;

const points: EmfPoint[] = [];
const problems: string[] = [];
let installed = false;

/** Starts taking EMF lines off stdout (idempotent). */
export function collectEmf(): void {
  if (installed) return;
  installed = true;
  const stdout = process.stdout;
  const original = stdout.write.bind(stdout) as (...args: unknown[]) => boolean;
  stdout.write = ((chunk: unknown, ...rest: unknown[]) => {
    const text = typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString('utf8') : '';
    if (text.startsWith('{"_aws"') || text.includes('"CloudWatchMetrics"')) {
      for (const line of text.split('\n').filter((l) => l.trim())) ingest(line);
      const done = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
      if (done) queueMicrotask(done);
      return true;
    }
    return original(chunk, ...rest);
  }) as typeof stdout.write;
}

/** What CloudWatch would make of one line (the specification's rules, strictly). */
export function ingest(line: string): void {
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(line) as Record<string, unknown>;
  } catch {
    problems.push(`not JSON: ${line.slice(0, 120)}`);
    return;
  }
  const aws = doc._aws as { Timestamp?: unknown; CloudWatchMetrics?: unknown } | undefined;
  const fail = (why: string) => problems.push(`${why}: ${line.slice(0, 200)}`);
  if (!aws || typeof aws.Timestamp !== 'number') return void fail('_aws.Timestamp is not a number');
  if (!Array.isArray(aws.CloudWatchMetrics)) return void fail('_aws.CloudWatchMetrics is not an array');
  for (const directive of aws.CloudWatchMetrics as Record<string, unknown>[]) {
    const namespace = directive.Namespace;
    if (typeof namespace !== 'string' || namespace.length === 0 || namespace.length > 1024)
      return void fail('Namespace is not a string of 1-1024 characters');
    const sets = directive.Dimensions as unknown;
    if (!Array.isArray(sets) || !sets.every((s) => Array.isArray(s) && s.length <= 30))
      return void fail('Dimensions is not an array of dimension sets of at most 30');
    const metrics = directive.Metrics as { Name?: unknown; Unit?: unknown }[] | undefined;
    if (!Array.isArray(metrics) || metrics.length > 100)
      return void fail('Metrics is not an array of at most 100');
    for (const set of sets as string[][]) {
      const dimensions: Record<string, string> = {};
      for (const key of set) {
        if (typeof doc[key] !== 'string') return void fail(`dimension ${key} is not a string member`);
        dimensions[key] = doc[key] as string;
      }
      for (const metric of metrics) {
        const name = metric.Name;
        if (typeof name !== 'string' || name.length === 0) return void fail('a metric has no Name');
        if (metric.Unit !== undefined && !UNITS.has(String(metric.Unit)))
          return void fail(`unit ${metric.Unit}`);
        const raw = doc[name];
        const values = Array.isArray(raw) ? raw : [raw];
        if (
          values.length === 0 ||
          values.length > 100 ||
          !values.every((v) => typeof v === 'number' && Number.isFinite(v))
        )
          return void fail(`metric ${name} has no numeric value (or more than 100)`);
        points.push({
          namespace,
          name,
          unit: String(metric.Unit ?? 'None'),
          dimensions,
          values: values as number[],
          timestamp: aws.Timestamp as number,
        });
        if (points.length > MAX_POINTS) points.shift();
      }
    }
  }
}

/** The data points collected since the last take, and forgets them; a line CloudWatch would reject fails it. */
export function takeEmf(): EmfPoint[] {
  if (problems.length > 0) {
    const found = problems.splice(0);
    throw new Error(`EMF lines CloudWatch would not ingest: ${found.join('; ')}`);
  }
  return points.splice(0);
}

/** Sum of a metric's values over the points taken, by the function that published them. */
export function emfSum(taken: readonly EmfPoint[], name: string, service?: string): number {
  return taken
    .filter((p) => p.name === name && (service === undefined || p.dimensions.service === service))
    .reduce((sum, p) => sum + p.values.reduce((a, b) => a + b, 0), 0);
}
