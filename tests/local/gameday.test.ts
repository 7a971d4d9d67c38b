// Spot game days on the emulator: the events an AWS FIS experiment makes (its state changes, and
// for each target EC2's rebalance recommendation with the two-minute warning) handled by the
// deployed spot function; `ops gameday spot` locally, where the rig plays FIS and EC2; and
// `ops gameday spot --aws`, which starts the stack's template and follows it. moto keeps FIS
// templates and experiments but resolves targets only by ARN and interrupts nothing: the --aws
// test creates the template as the stack synthesizes it, naming the instances FIS would resolve
// its tags to, and plays EC2 and Lambda while the CLI follows the experiment.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EC2Client, TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import { CreateExperimentTemplateCommand, FisClient, ListExperimentsCommand } from '@aws-sdk/client-fis';
import { App, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { beforeAll, describe, expect, it } from 'vitest';
import { documentClient } from '../../functions/shared/dynamo.ts';
import { getEpisodes } from '../../functions/shared/spot/episodes.ts';
import { SpotGameDay } from '../../infra/application/spot-game-day.ts';
import { readJournal, takeAlertsInOrder } from '../../local/control-plane.ts';
import type { DeployedStack } from '../../local/deploy.ts';
import { EMULATOR_ACCOUNT_ID, EMULATOR_REGION } from '../../local/emulator.ts';
import {
  experimentStateChange,
  fisId,
  interruptionEvents,
  pickAtRandom,
  runningSpotInstances,
} from '../../local/game-day.ts';
import { observerClient } from '../../local/observer.ts';
import { type Seed, seedServiceWithTasks } from '../../local/seed.ts';
import { enqueueRaw, putEvents, spotHarness } from '../../local/spot-harness.ts';
import { CHROMIUM, inChromium, NO_CHROMIUM } from '../support/chromium.ts';
import { useSeededDaemon } from '../support/seeded-daemon.ts';

const daemon = useSeededDaemon('gameday', { instances: 16, spotFraction: 0.75 });
const { work } = daemon;

type Cli = typeof import('../../cli/gameday/command.ts');
let cli: Cli;
let stack: DeployedStack;
let world: Seed;

interface Printed {
  code: number;
  human: string;
  data: {
    file: string;
    experiment: { id: string; status: string };
    targets: string[];
    instances: {
      instanceId: string;
      result: string;
      latencyMs?: number;
      tasks?: number;
      alertedAt?: string;
    }[];
    tasksMoved: number;
    capacity: { group: string; added: number }[];
    minimumHealthy: { kept: boolean; why: string };
    bracket: { started: boolean; ended: boolean };
    verdict: { passed: boolean; problems: string[] };
  };
}

async function gameday(flags: Parameters<Cli['gameDayCommand']>[1]): Promise<Printed> {
  let human = '';
  let data: unknown;
  const code = await cli.gameDayCommand('spot', flags, (h, d) => {
    human = h;
    data = d;
  });
  return { code, human, data: data as Printed['data'] };
}

const SERVICE = 'gameday-api';

beforeAll(async () => {
  stack = daemon.stack;
  world = daemon.world;
  // A service with a task on every spot instance, that may neither go below nor above its count:
  // each drain needs its tasks added first.
  const { ECSClient } = await import('@aws-sdk/client-ecs');
  const spot = world.containerInstances.filter((c) => c.spot);
  await seedServiceWithTasks(observerClient(ECSClient), world.cluster, {
    name: SERVICE,
    desiredCount: spot.length,
    minimumHealthyPercent: 100,
    maximumPercent: 100,
    placements: spot.map((c) => [c.containerInstanceArn, 1] as const),
  });
  cli = await import('../../cli/gameday/command.ts');
});

const journalTable = () => stack.outputs.JournalTableName as string;

describe('FIS-sourced events', () => {
  it("finds the targets FIS would: the spot group's running spot instances, by its tag", async () => {
    const running = await runningSpotInstances(world.autoScalingGroups.spot);
    const spot = world.containerInstances.filter((c) => c.spot).map((c) => c.ec2InstanceId);
    expect(running.map((r) => r.instanceId).sort()).toEqual([...spot].sort());
    // The on-demand group's instances are not spot instances: FIS's resource type excludes them.
    expect(await runningSpotInstances(world.autoScalingGroups.onDemand)).toEqual([]);
  });

  it('drains each target of an experiment (rebalance and warning together), and journals and announces the experiment once, however often it is delivered', async () => {
    const harness = await spotHarness(stack);
    await takeAlertsInOrder(world.alertQueues);
    const running = await runningSpotInstances(world.autoScalingGroups.spot);
    const targets = pickAtRandom(running, 2);
    const experiment = { id: fisId('EXP'), templateId: fisId('EXT') };
    const started = experimentStateChange(experiment, 'initiating', 'running', Date.now());
    await putEvents([started, ...targets.flatMap((t) => interruptionEvents(t, Date.now()))]);
    await harness.process({ waitForDelayed: true });
    // The same state change again, twice at once (EventBridge delivers at least once): noted once.
    await Promise.all([harness.fn.invoke(started), harness.fn.invoke(started)]);
    await enqueueRaw(stack, [started]);
    await harness.process();
    await putEvents([experimentStateChange(experiment, 'running', 'stopped', Date.now())]);
    await harness.process();

    const records = await readJournal(journalTable());
    const bracket = records.filter((r) => r.resource === `fis-experiment/${experiment.id}`);
    expect(bracket.map((r) => r.action)).toEqual(['game-day-started', 'game-day-ended']);
    expect(bracket[0]?.details).toMatchObject({ templateId: experiment.templateId, status: 'running' });
    for (const t of targets) {
      const drained = records.filter(
        (r) => r.action === 'drain-instance' && r.resource.endsWith(`/${t.instanceId}`),
      );
      expect(drained.map((r) => r.outcome)).toEqual(['changed']);
      expect(drained[0]?.details).toMatchObject({
        channels: ['rebalance', 'warning'],
        tasksOnInstance: expect.any(Number),
      });
      expect(drained[0]?.details?.tasksOnInstance).toBeGreaterThanOrEqual(1);
    }
    // Two minutes later EC2 interrupts them: FIS would not pick them again.
    await observerClient(EC2Client).send(
      new TerminateInstancesCommand({ InstanceIds: targets.map((t) => t.instanceId) }),
    );
    const alerts = await takeAlertsInOrder(world.alertQueues);
    const gameDay = alerts.filter((a) => a.alert.kind === 'spot-game-day');
    expect(gameDay.map((a) => a.subject)).toEqual([
      expect.stringContaining(`Game day: FIS experiment ${experiment.id} is running`),
      expect.stringContaining(`Game day over: FIS experiment ${experiment.id} stopped`),
    ]);
    expect(alerts.some((a) => a.alert.kind === 'spot-interruption')).toBe(true);
  });

  it('refuses a malformed experiment event by its field, changes nothing, and dead-letters it', async () => {
    const harness = await spotHarness(stack);
    const bad = experimentStateChange(
      { id: fisId('EXP'), templateId: fisId('EXT') },
      'initiating',
      'running',
      Date.now(),
    );
    delete (bad.detail as Record<string, unknown>)['new-state'];
    const before = (await readJournal(journalTable())).length;
    await enqueueRaw(stack, [bad]);
    for (let i = 0; i < 4; i++) await harness.process();
    const refused = harness.invocations.flatMap(
      (inv) => (inv.response as { batchItemFailures?: unknown[] })?.batchItemFailures ?? [],
    );
    expect(refused.length).toBeGreaterThan(0);
    expect((await readJournal(journalTable())).length).toBe(before);
    const { GetQueueAttributesCommand, SQSClient } = await import('@aws-sdk/client-sqs');
    const depth = await observerClient(SQSClient).send(
      new GetQueueAttributesCommand({
        QueueUrl: stack.outputs.SpotInterruptionQueueDlqUrl as string,
        AttributeNames: ['ApproximateNumberOfMessages'],
      }),
    );
    expect(Number(depth.Attributes?.ApproximateNumberOfMessages)).toBeGreaterThanOrEqual(1);
  });
});

describe('ops gameday spot', () => {
  let localReport: Printed;

  it('locally: interrupts the share of the group FIS would, and reports each drain against the two minutes', async () => {
    await takeAlertsInOrder(world.alertQueues);
    const running = (await runningSpotInstances(world.autoScalingGroups.spot)).length;
    const file = join(work, 'local.html');
    localReport = await gameday({ fraction: '0.25', out: file });
    const { data } = localReport;
    expect(localReport.code, localReport.human).toBe(0);
    expect(data.targets).toHaveLength(Math.floor(running * 0.25));
    expect(data.experiment).toMatchObject({
      id: expect.stringMatching(/^EXP[A-Za-z0-9]{15}$/),
      status: 'completed',
    });
    for (const row of data.instances) {
      expect(row.result).toBe('drained');
      expect(row.latencyMs).toBeLessThan(120_000);
      expect(row.tasks).toBeGreaterThanOrEqual(1);
      expect(row.alertedAt).toBeDefined();
    }
    expect(data.tasksMoved).toBe(data.instances.reduce((n, r) => n + (r.tasks ?? 0), 0));
    expect(data.tasksMoved).toBeGreaterThanOrEqual(data.targets.length);
    // Every drain took a task of a 100/100 service: its tasks were added first, in the budget.
    expect(data.minimumHealthy).toMatchObject({
      kept: true,
      why: expect.stringContaining(`web/${SERVICE} +`),
    });
    expect(data.capacity.reduce((n, c) => n + c.added, 0)).toBe(data.targets.length);
    expect(data.bracket).toEqual({ started: true, ended: true });
    expect(data.verdict).toEqual({ passed: true, problems: [] });
    // The interrupted instances are gone, as after EC2's interruption: FIS would not pick them again.
    const after = (await runningSpotInstances(world.autoScalingGroups.spot)).map((r) => r.instanceId);
    for (const t of data.targets) expect(after).not.toContain(t);
    const page = readFileSync(file, 'utf8');
    for (const t of data.targets) expect(page).toContain(t);
    expect(page).toContain('Passed: every interrupted instance drained within two minutes');
  });

  it('refuses what FIS would not run, naming the fraction that would', async () => {
    const running = (await runningSpotInstances(world.autoScalingGroups.spot)).length;
    await expect(gameday({ fraction: '0.01' })).rejects.toThrow(
      new RegExp(
        `1% of ${running} running spot instance\\(s\\) selects none .*use --fraction 0\\.\\d+ or more`,
      ),
    );
    await expect(gameday({ fraction: '1' })).rejects.toThrow(/FIS interrupts at most 5 per experiment/);
    await expect(gameday({ fraction: '0.255' })).rejects.toThrow(/--fraction must be a whole percent/);
    await expect(gameday({ fraction: '0' })).rejects.toThrow(/--fraction must be above 0/);
  });

  it('with --aws: refuses a fraction the template does not have, then starts the template, follows it, and reports from the tables', async () => {
    const fis = observerClient(FisClient);
    const running = await runningSpotInstances(world.autoScalingGroups.spot);
    const percent = 25;
    // FIS's resolution of the template's tag target, which moto cannot do: the ARNs it would pick.
    const chosen = pickAtRandom(running, Math.floor((running.length * percent) / 100));
    const template = await fis.send(
      new CreateExperimentTemplateCommand(
        synthesizedTemplate(
          world.autoScalingGroups.spot,
          percent / 100,
          chosen.map((c) => `arn:aws:ec2:${EMULATOR_REGION}:${EMULATOR_ACCOUNT_ID}:instance/${c.instanceId}`),
        ),
      ),
    );
    const outputs = join(work, 'cdk-outputs.json');
    writeFileSync(
      outputs,
      JSON.stringify({
        'EcsOps-local-ControlPlane': stack.outputs,
        'EcsOps-local-Observability': { SpotGameDayTemplateId: template.experimentTemplate?.id },
      }),
    );
    // The account is the emulator this process already points at; the CLI polls it quickly.
    const awsEnv = { OPS_POLL_MS: '100' };
    Object.assign(process.env, awsEnv);
    try {
      await expect(gameday({ aws: true, outputs, fraction: '0.5' })).rejects.toThrow(
        /--fraction 0\.5 differs from the deployed template's PERCENT\(25\)/,
      );
      expect((await fis.send(new ListExperimentsCommand({}))).experiments ?? []).toEqual([]);

      // EC2 and Lambda, while the CLI follows the experiment: once it runs, each target's
      // warning and rebalance go out, and the deployed function handles them.
      const harness = await spotHarness(stack);
      const playEc2 = (async () => {
        for (;;) {
          const [experiment] = (await fis.send(new ListExperimentsCommand({}))).experiments ?? [];
          const status = experiment?.state?.status;
          if (status === 'running' || status === 'completed') break;
          await new Promise((r) => setTimeout(r, 50));
        }
        await putEvents(chosen.flatMap((t) => interruptionEvents(t, Date.now())));
        await harness.process({ waitForDelayed: true });
      })();
      const file = join(work, 'aws.html');
      const [ran] = await Promise.all([gameday({ aws: true, outputs, out: file, settle: '60s' }), playEc2]);
      expect(ran.code, ran.human).toBe(0);
      expect(ran.data.experiment.status).toBe('completed');
      expect([...ran.data.targets].sort()).toEqual(chosen.map((c) => c.instanceId).sort());
      expect(ran.data.instances.map((r) => r.result)).toEqual(chosen.map(() => 'drained'));
      expect(ran.data.verdict.passed).toBe(true);
      const episodes = await getEpisodes(
        documentClient(),
        stack.outputs.OperationsTableName as string,
        ran.data.targets,
      );
      expect([...episodes.values()].every((e) => e.drainedAt)).toBe(true);
      expect(readFileSync(file, 'utf8')).toContain(`Spot game day ${ran.data.experiment.id}`);
    } finally {
      for (const key of Object.keys(awsEnv)) delete process.env[key];
    }
  });

  it('renders the report in headless Chromium: a bar per instance, no console message, exception or failed load', async (ctx) => {
    ctx.skip(!existsSync(CHROMIUM), NO_CHROMIUM);
    const shot = await inChromium<{ bars: number; rows: number; width: number }>(
      localReport.data.file,
      join(work, 'local.png'),
      `(() => { const svg = document.querySelector('svg.latency'); return { bars: document.querySelectorAll('svg.latency rect').length, rows: document.querySelectorAll('table.rows tbody tr').length, width: svg ? svg.getBoundingClientRect().width : 0 }; })()`,
    );
    expect(shot.problems, shot.problems.join('\n')).toEqual([]);
    expect(shot.title).toBe(`Spot game day ${localReport.data.experiment.id}`);
    expect(shot.value.bars).toBe(localReport.data.targets.length);
    expect(shot.value.width).toBeGreaterThan(1000);
  });
});

/**
 * The experiment template the stack deploys (SpotGameDay, synthesized), as the FIS API takes it,
 * with the ARNs FIS would resolve its tag target to beside the tags (moto resolves ARNs only).
 */
function synthesizedTemplate(group: string, fraction: number, arns: string[]) {
  const app = new App();
  const stack = new Stack(app, 'GameDay', { env: { account: EMULATOR_ACCOUNT_ID, region: EMULATOR_REGION } });
  const alarm = new cloudwatch.Alarm(stack, 'Alarm', {
    metric: new cloudwatch.Metric({
      namespace: 'AWS/ApplicationELB',
      metricName: 'HTTPCode_Target_5XX_Count',
    }),
    threshold: 1,
    evaluationPeriods: 1,
  });
  new SpotGameDay(stack, 'SpotGameDay', {
    namePrefix: 'ecs-ops-local',
    spotGroupName: group,
    fraction,
    stopAlarms: [alarm],
  });
  const resources = app.synth().getStackByName('GameDay').template.Resources as Record<
    string,
    { Type: string; Properties: Record<string, unknown> }
  >;
  const p = Object.values(resources).find((r) => r.Type === 'AWS::FIS::ExperimentTemplate')?.Properties as {
    Description: string;
    Targets: Record<
      string,
      {
        ResourceType: string;
        ResourceTags: Record<string, string>;
        Filters: { Path: string; Values: string[] }[];
        SelectionMode: string;
      }
    >;
    Actions: Record<
      string,
      {
        ActionId: string;
        Description: string;
        Parameters: Record<string, string>;
        Targets: Record<string, string>;
      }
    >;
    Tags: Record<string, string>;
  };
  return {
    clientToken: fisId('EXT'),
    description: p.Description,
    roleArn: `arn:aws:iam::${EMULATOR_ACCOUNT_ID}:role/fis-spot-game-day`,
    stopConditions: [
      {
        source: 'aws:cloudwatch:alarm',
        value: `arn:aws:cloudwatch:${EMULATOR_REGION}:${EMULATOR_ACCOUNT_ID}:alarm:ecs-ops-local-spot-game-day-stop`,
      },
    ],
    targets: Object.fromEntries(
      Object.entries(p.Targets).map(([name, t]) => [
        name,
        {
          resourceType: t.ResourceType,
          resourceTags: t.ResourceTags,
          resourceArns: arns,
          filters: t.Filters.map((f) => ({ path: f.Path, values: f.Values })),
          selectionMode: t.SelectionMode,
        },
      ]),
    ),
    actions: Object.fromEntries(
      Object.entries(p.Actions).map(([name, a]) => [
        name,
        { actionId: a.ActionId, description: a.Description, parameters: a.Parameters, targets: a.Targets },
      ]),
    ),
    tags: p.Tags,
  };
}
