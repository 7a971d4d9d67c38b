// The benchmark's pure parts, so a broken bench shows up in `npm test` without running it:
// medians, table rendering, arguments, and the spot suite's call-count arithmetic (the
// "on AWS (filter applied)" column is derived, so its derivation must be right).
import { describe, expect, it } from 'vitest';
import {
  type BenchReport,
  formatCell,
  median,
  parseArgs,
  renderMarkdown,
  renderTable,
  selected,
} from '../../bench/run.ts';
import { bundleBytes, commandsSource, type Metafile, sdkCommands } from '../../bench/suites/cold-start.ts';
import {
  awsDescribeCalls,
  COLUMNS,
  countDifferences,
  DESCRIBE_OP,
  delta,
  emulatorDescribeCalls,
  filterGroups,
  listCalls,
  type OperationCounts,
  onAws,
  type RunMeasure,
  type ScenarioResult,
  scenarioRow,
  scenarios,
  serviceTotals,
  settledCalls,
  sizeComparisons,
} from '../../bench/suites/spot.ts';

describe('median', () => {
  it('takes the middle value of an odd count, whatever the order', () => {
    expect(median([900, 100, 300])).toBe(300);
    expect(median([7])).toBe(7);
  });

  it('averages the two middle values of an even count', () => {
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it('leaves its input in place and refuses an empty list', () => {
    const values = [3, 1, 2];
    median(values);
    expect(values).toEqual([3, 1, 2]);
    expect(() => median([])).toThrow(RangeError);
  });
});

describe('tables', () => {
  it('renders a GitHub table with numeric columns right-aligned', () => {
    const table = renderTable(
      [
        { key: 'name', label: 'scenario' },
        { key: 'n', label: 'calls' },
        { key: 'ok', label: 'ok' },
      ],
      [
        { name: '1 warning', n: 14, ok: true },
        { name: 'storm | 10', n: 4.1, ok: false },
      ],
    );
    expect(table.split('\n')).toEqual([
      '| scenario | calls | ok |',
      '| --- | ---: | --- |',
      '| 1 warning | 14 | yes |',
      '| storm \\| 10 | 4.10 | **NO** |',
    ]);
  });

  it('formats cells: missing values, large decimals, newlines', () => {
    expect(formatCell(null)).toBe('–');
    expect(formatCell(1234.567)).toBe('1234.6');
    expect(formatCell('two\nlines')).toBe('two lines');
    expect(renderTable([{ key: 'absent', label: 'x' }], [{}]).split('\n')[2]).toBe('| – |');
  });

  it('puts the command, the machine and every suite with its notes and failed checks in the Markdown', () => {
    const report: BenchReport = {
      command: 'npm run bench -- spot',
      date: '2026-11-22T06:00:00.000Z',
      git: { commit: '0123456789abcdef0123', dirty: true },
      machine: { cpu: 'Test CPU', cores: 2, memoryGiB: 8, node: 'v24.21.0', platform: 'linux x64' },
      runs: 3,
      durationSeconds: 61.4,
      suites: [
        {
          name: 'spot',
          description: 'interruption warnings',
          title: 'calls per warning',
          columns: [{ key: 'n', label: 'calls' }],
          rows: [{ n: 14 }],
          notes: ['counts on the emulator'],
          checks: [
            { name: 'drains', ok: true },
            { name: 'one alert', ok: false, detail: '5 published' },
          ],
          durationSeconds: 60,
        },
      ],
    };
    const md = renderMarkdown(report);
    expect(md).toContain('`npm run bench -- spot`');
    expect(md).toContain('commit `0123456789ab` (with uncommitted changes)');
    expect(md).toContain('Machine: Test CPU, 2 cores, 8 GiB RAM, Node v24.21.0, linux x64.');
    expect(md).toContain('## spot: calls per warning');
    expect(md).toContain('| calls |\n| ---: |\n| 14 |');
    expect(md).toContain('Checks: 1 of 2 passed; failed:\n- **one alert**: 5 published');
    expect(md).toContain('- counts on the emulator');
  });
});

describe('arguments', () => {
  it('reads filters and --runs in both spellings, defaulting to 3 runs', () => {
    expect(parseArgs([])).toEqual({ filters: [], runs: 3 });
    expect(parseArgs(['spot', '--runs', '5'])).toEqual({ filters: ['spot'], runs: 5 });
    expect(parseArgs(['--runs=1'])).toEqual({ filters: [], runs: 1 });
  });

  it('rejects a bad run count and unknown options by name', () => {
    expect(() => parseArgs(['--runs', '0'])).toThrow(/--runs/);
    expect(() => parseArgs(['--runs'])).toThrow(/--runs/);
    expect(() => parseArgs(['--fast'])).toThrow(/--fast/);
  });

  it('selects suites by part of their name or file name', () => {
    expect(selected('spot', '/x/suites/spot.ts', [])).toBe(true);
    expect(selected('spot', '/x/suites/spot.ts', ['spo'])).toBe(true);
    expect(selected('rollout', '/x/suites/rollout.ts', ['spot'])).toBe(false);
  });
});

describe('spot suite: describe calls on the emulator and on AWS', () => {
  it('groups instance ids 50 per ListContainerInstances filter', () => {
    expect(filterGroups(0)).toEqual([]);
    expect(filterGroups(1)).toEqual([1]);
    expect(filterGroups(50)).toEqual([50]);
    expect(filterGroups(101)).toEqual([50, 50, 1]);
    expect(listCalls([100, 100, 1])).toBe(5);
  });

  it('models the ignored filter: every group describes the whole cluster, 100 ARNs per call', () => {
    expect(emulatorDescribeCalls([1], 10)).toBe(1);
    expect(emulatorDescribeCalls([1], 5_000)).toBe(50);
    expect(emulatorDescribeCalls([100], 1_000)).toBe(20);
    expect(emulatorDescribeCalls([100, 100, 100, 100, 100], 5_000)).toBe(500);
  });

  it('derives AWS describes as ceil(k/100) per filter group of k ids', () => {
    expect(awsDescribeCalls([1])).toBe(1);
    expect(awsDescribeCalls([10])).toBe(1);
    expect(awsDescribeCalls([100])).toBe(2);
    expect(awsDescribeCalls([100, 100, 100, 100, 100])).toBe(10);
    expect(awsDescribeCalls([])).toBe(0);
  });

  it('replaces only the describe count when deriving the AWS column', () => {
    const measured: OperationCounts = {
      [DESCRIBE_OP]: 50,
      'ecs:ListContainerInstances': 1,
      'ecs:UpdateContainerInstancesState': 1,
      'dynamodb:UpdateItem': 3,
      'states:StartExecution': 1,
    };
    const aws = onAws(measured, [1]);
    expect(aws).toEqual({ ...measured, [DESCRIBE_OP]: 1 });
    expect(measured[DESCRIBE_OP]).toBe(50);
    expect(serviceTotals(aws)).toEqual({
      total: 7,
      ecs: 3,
      dynamodb: 3,
      sns: 0,
      autoscaling: 0,
      sfn: 1,
      other: 0,
    });
  });

  it('counts per-invocation deltas and names the operations that differ', () => {
    expect(delta({ 'sns:Publish': 1, 'ecs:A': 2 }, { 'sns:Publish': 2, 'ecs:A': 2, 'ecs:B': 1 })).toEqual({
      'sns:Publish': 1,
      'ecs:B': 1,
    });
    expect(
      countDifferences({ [DESCRIBE_OP]: 1, 'ecs:A': 1 }, { [DESCRIBE_OP]: 50, 'ecs:A': 2 }, [DESCRIBE_OP]),
    ).toEqual(['ecs:A: 1 vs 2']);
  });
});

// One warning, as measured: 14 calls of which 1 describe at 10 instances, 50 describes at 5,000.
function warningCalls(describes: number): OperationCounts {
  return {
    'autoscaling:DescribeAutoScalingGroups': 1,
    'autoscaling:SetDesiredCapacity': 1,
    'dynamodb:BatchGetItem': 1,
    'dynamodb:BatchWriteItem': 1,
    'dynamodb:DeleteItem': 1,
    'dynamodb:GetItem': 1,
    'dynamodb:PutItem': 1,
    'dynamodb:UpdateItem': 3,
    [DESCRIBE_OP]: describes,
    'ecs:ListContainerInstances': 1,
    'ecs:UpdateContainerInstancesState': 1,
    // The handler raises its alert onto the alert queue; the router publishes it.
    'sqs:SendMessage': 1,
  };
}

function run(
  calls: OperationCounts,
  handlerMs: number,
  idsPerInvocation = [1],
  conditionFailures: OperationCounts = {},
): RunMeasure {
  return {
    calls,
    conditionFailures,
    handlerMs,
    idsPerInvocation,
    delivered: 1,
    alertsReceived: 1,
    problems: [],
  };
}

function result(clusterSize: number, runs: RunMeasure[], warnings = 1): ScenarioResult {
  return {
    scenario: { kind: warnings === 1 ? 'warning' : 'storm', clusterSize, warnings },
    runs,
    worlds: 1,
    seedMs: [49_800],
    seedPhases: [{}],
    batchSize: 100,
  };
}

describe('spot suite: table rows', () => {
  it('reports measured and AWS-derived counts, checks, and the median handler time', () => {
    const row = scenarioRow(
      result(5_000, [
        run(warningCalls(50), 3_700),
        run(warningCalls(50), 3_500),
        run(warningCalls(50), 9_000),
      ]),
    );
    expect(row).toMatchObject({
      scenario: '1 warning',
      instances: 5_000,
      runs: 3,
      invocations: 1,
      totalEmulator: 63,
      totalAws: 14,
      ecsEmulator: 52,
      ecsAws: 3,
      describeEmulator: 50,
      describeAws: 1,
      dynamodb: 8,
      sns: 0,
      autoscaling: 2,
      sfn: 0,
      drainCalls: 1,
      drainCallsOk: true,
      alerts: 1,
      published: 1,
      oneAlert: true,
      runsAgree: true,
      handlerMs: 3_700,
      handlerMsRange: '3500–9000',
      seedS: '49.8',
    });
    for (const key of Object.keys(row)) expect(COLUMNS.map((c) => c.key)).toContain(key);
  });

  it('says when runs disagree, and has nothing to compare for a single run', () => {
    const other = { ...warningCalls(50), 'dynamodb:GetItem': 2 };
    expect(scenarioRow(result(5_000, [run(warningCalls(50), 1), run(other, 1)])).runsAgree).toBe(false);
    expect(scenarioRow(result(5_000, [run(warningCalls(50), 1)])).runsAgree).toBeNull();
  });

  it('checks UpdateContainerInstancesState against ceil(n/10), and one message to subscribers for a storm', () => {
    const storm = {
      ...warningCalls(100),
      'ecs:UpdateContainerInstancesState': 50,
      'sqs:SendMessage': 5,
      'ecs:ListContainerInstances': 10,
    };
    // Five batches raise five alerts; the router's group window makes them one message.
    const row = scenarioRow(result(1_000, [run(storm, 20_000, [100, 100, 100, 100, 100])], 500));
    expect(row).toMatchObject({
      scenario: 'storm of 500',
      invocations: 5,
      describeAws: 10,
      drainCallsOk: true,
      alerts: 5,
      published: 1,
      oneAlert: true,
    });
    const split = scenarioRow(
      result(1_000, [{ ...run(storm, 1, [100, 100, 100, 100, 100]), alertsReceived: 2 }], 500),
    );
    expect(split.oneAlert).toBe(false);
    expect(row.totalAws).toBe((row.totalEmulator as number) - 100 + 10);
  });

  it('compares the same scenario across cluster sizes, describes aside', () => {
    const small = result(10, [run(warningCalls(1), 1)]);
    const large = result(5_000, [run(warningCalls(50), 1)]);
    const odd = result(1_000, [run({ ...warningCalls(10), 'sqs:SendMessage': 2 }, 1)]);
    const verdicts = sizeComparisons([small, large, odd]);
    expect(verdicts.get(small)).toEqual([]);
    expect(verdicts.get(large)).toEqual([]);
    expect(verdicts.get(odd)).toEqual(['sqs:SendMessage: 1 vs 2 (10 vs 1000 instances)']);
    // A scenario with nothing to compare against gets no verdict.
    expect(sizeComparisons([small]).get(small)).toBeUndefined();
  });

  it('compares calls less the lock waits refused on a condition, which follow timing, not size', () => {
    const lock = 'dynamodb:PutItem';
    const small = result(1_000, [run({ ...warningCalls(10), [lock]: 6 }, 1, [100], { [lock]: 1 })], 500);
    const waited = result(5_000, [run({ ...warningCalls(50), [lock]: 14 }, 1, [100], { [lock]: 9 })], 500);
    const more = result(5_000, [run({ ...warningCalls(50), [lock]: 14 }, 1, [100], { [lock]: 8 })], 500);
    expect(settledCalls(waited.runs[0] as RunMeasure)[lock]).toBe(5);
    const verdicts = sizeComparisons([small, waited, more]);
    expect(verdicts.get(waited)).toEqual([]);
    // One more lock taken is a call of its own, not a wait: it still shows.
    expect(verdicts.get(more)).toEqual([`${lock}: 5 vs 6 (1000 vs 5000 instances)`]);
    expect(scenarioRow(waited).conditionWaits).toBe(9);
  });

  it('covers the cluster sizes and storms the brief asks for', () => {
    const list = scenarios().map((s) => `${s.kind}/${s.clusterSize}/${s.warnings}/${s.maxRuns ?? '-'}`);
    expect(list).toEqual([
      'warning/10/1/-',
      'warning/100/1/-',
      'warning/1000/1/-',
      'warning/5000/1/-',
      'storm/1000/10/-',
      'storm/1000/100/-',
      'storm/1000/500/-',
      'storm/5000/10/1',
      'storm/5000/100/1',
      'storm/5000/500/1',
    ]);
  });
});

describe('cold-start bundles', () => {
  const nm = 'node_modules/@aws-sdk';
  const meta: Metafile = {
    outputs: {
      'out/f/index.mjs': {
        bytes: 100,
        imports: [
          { path: 'out/f/chunks/a.mjs', kind: 'import-statement' },
          { path: 'out/f/chunks/lazy.mjs', kind: 'dynamic-import' },
          { path: 'node:fs', kind: 'import-statement', external: true },
        ],
        inputs: {
          [`${nm}/client-ecs/dist-es/commands/UpdateServiceCommand.js`]: { bytesInOutput: 40 },
          // Tree-shaken away: in the inputs, not in the output.
          [`${nm}/client-ecs/dist-es/commands/CreateClusterCommand.js`]: { bytesInOutput: 0 },
          'functions/f/handler.ts': { bytesInOutput: 60 },
        },
      },
      'out/f/chunks/a.mjs': {
        bytes: 30,
        imports: [],
        inputs: { [`${nm}/lib-dynamodb/dist-es/commands/PutCommand.js`]: { bytesInOutput: 30 } },
      },
      'out/f/chunks/lazy.mjs': {
        bytes: 500,
        imports: [{ path: 'out/f/chunks/a.mjs', kind: 'import-statement' }],
        inputs: { [`${nm}/client-sts/dist-es/commands/AssumeRoleCommand.js`]: { bytesInOutput: 500 } },
      },
    },
  };

  it('counts what a cold start loads: the entry and its static imports, not dynamic ones', () => {
    expect(bundleBytes(meta)).toEqual({ init: 130, whole: 630 });
  });

  it('finds the commands a cold start loads: in any chunk loaded at init, not lazily, none esbuild dropped', () => {
    expect(sdkCommands(meta)).toEqual([
      { pkg: '@aws-sdk/client-ecs', command: 'UpdateServiceCommand' },
      { pkg: '@aws-sdk/lib-dynamodb', command: 'PutCommand' },
    ]);
    expect(commandsSource(sdkCommands(meta))).toBe(
      "import { UpdateServiceCommand as K0 } from '@aws-sdk/client-ecs';\n" +
        "import { PutCommand as K1 } from '@aws-sdk/lib-dynamodb';\n" +
        'export const commands = [K0, K1];\n',
    );
  });
});
