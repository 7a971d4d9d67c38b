// `ops gameday spot --aws`: starts the stack's FIS experiment template and follows it to its end,
// then waits for the control plane's record of each interrupted instance and reads the report
// from the stack's tables. The CLI runs nothing of the control plane itself.
import { randomUUID } from 'node:crypto';
import {
  FisClient,
  GetExperimentCommand,
  GetExperimentTemplateCommand,
  ListExperimentResolvedTargetsCommand,
  StartExperimentCommand,
} from '@aws-sdk/client-fis';
import { awsClient } from '../../functions/shared/clients.ts';
import { iso } from '../../functions/shared/clock.ts';
import { documentClient } from '../../functions/shared/dynamo.ts';
import type { JournalRecord } from '../../functions/shared/journal.ts';
import { getEpisodes } from '../../functions/shared/spot/episodes.ts';
import { GAME_DAY_TARGET, GROUP_NAME_TAG } from '../../infra/application/spot-game-day.ts';
import { CONTROL_PLANE_OUTPUTS } from '../../infra/shared/stack-outputs.ts';
import { readJournalWindow } from '../metrics/journal-window.ts';
import { controlPlaneOutputs, outputOf, stackWithOutput, type TargetFlags } from '../target.ts';
import { UsageError } from '../usage.ts';
import { type GameDayData, percentOfSelectionMode } from './rules.ts';

/** The stack output that names the template (the environment's observability stack). */
export const GAME_DAY_TEMPLATE_OUTPUT = 'SpotGameDayTemplateId';

/** The experiment states after which nothing moves. */
const ENDED = new Set(['completed', 'stopped', 'failed', 'cancelled']);

const pollMs = () => Number(process.env.OPS_POLL_MS ?? 5000);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface AwsGameDayOptions {
  /** The whole percent asked for with --fraction: refused when the template says otherwise. */
  percent?: number;
  /** How long to wait, after the experiment, for the control plane's record of each instance. */
  settleMs: number;
}

export async function awsGameDay(
  flags: TargetFlags,
  opts: AwsGameDayOptions,
  progress: (line: string) => void,
): Promise<GameDayData> {
  const outputs = await controlPlaneOutputs(flags);
  const templateId = templateIdOf(flags.outputs as string);
  const fis = awsClient(FisClient);
  const template = (await fis.send(new GetExperimentTemplateCommand({ id: templateId }))).experimentTemplate;
  const target = template?.targets?.[GAME_DAY_TARGET];
  const percent = percentOfSelectionMode(target?.selectionMode);
  const group = target?.resourceTags?.[GROUP_NAME_TAG];
  if (percent === undefined || !group)
    throw new UsageError(
      `experiment template ${templateId} has no ${GAME_DAY_TARGET} target with PERCENT(n) over a group's ${GROUP_NAME_TAG} tag: is it the stack's spot game day?`,
    );
  if (opts.percent !== undefined && opts.percent !== percent)
    throw new UsageError(
      `--fraction ${opts.percent / 100} differs from the deployed template's PERCENT(${percent}) (gameDays.spotFraction ${percent / 100} in the environment's config): change the config and deploy, or leave --fraction out`,
    );

  // A client token makes a StartExperiment retried after a lost answer start one experiment.
  const started = await fis.send(
    new StartExperimentCommand({ experimentTemplateId: templateId, clientToken: randomUUID() }),
  );
  const experimentId = started.experiment?.id as string;
  progress(`experiment ${experimentId} started from ${templateId}: ${percent}% of ${group}`);
  let experiment = started.experiment;
  let last = '';
  for (;;) {
    experiment = (await fis.send(new GetExperimentCommand({ id: experimentId }))).experiment;
    const status = experiment?.state?.status ?? 'unknown';
    if (status !== last)
      progress(
        `experiment ${experimentId}: ${status}${experiment?.state?.reason ? ` (${experiment.state.reason})` : ''}`,
      );
    last = status;
    if (ENDED.has(status)) break;
    await sleep(pollMs());
  }
  const targets = await resolvedInstances(fis, experimentId);
  progress(`interrupted: ${targets.join(', ') || 'none'}`);

  const startedAt = (experiment?.startTime ?? experiment?.creationTime ?? new Date()).getTime();
  const since = iso(startedAt);
  const db = documentClient();
  const journalTable = outputOf(outputs, CONTROL_PLANE_OUTPUTS.journalTable, 'the journal');
  // The experiment's end does not wait for the control plane: give its records time to land.
  const deadline = Date.now() + opts.settleMs;
  const operations = outputOf(outputs, CONTROL_PLANE_OUTPUTS.operationsTable, 'the operations table');
  let journal: JournalRecord[] = [];
  let episodes: Awaited<ReturnType<typeof getEpisodes>>;
  for (;;) {
    journal = await journalSince(db, journalTable, startedAt);
    episodes = await getEpisodes(db, operations, targets);
    const recorded = new Set(
      journal.filter((r) => r.action === 'drain-instance').map((r) => r.resource.split('/').pop()),
    );
    // Each drain recorded, and its alert raised (the episode says so after the journal does).
    const settled = targets.every((t) => recorded.has(t) && episodes.get(t)?.alertedAt);
    if (settled || Date.now() >= deadline) break;
    await sleep(pollMs());
  }
  return {
    where: 'aws',
    generatedAt: iso(Date.now()),
    experiment: {
      id: experimentId,
      templateId,
      status: experiment?.state?.status ?? 'unknown',
      ...(experiment?.state?.reason ? { reason: experiment.state.reason } : {}),
      startedAt: since,
      endedAt: iso((experiment?.endTime ?? new Date()).getTime()),
    },
    group,
    percent,
    targets,
    journal,
    episodes: Object.fromEntries(episodes),
  };
}

/** The template's id from the cdk outputs file: whichever stack of it has the output. */
function templateIdOf(file: string): string {
  const id = stackWithOutput(file, GAME_DAY_TEMPLATE_OUTPUT)?.[GAME_DAY_TEMPLATE_OUTPUT];
  if (!id)
    throw new UsageError(
      `${file} holds no ${GAME_DAY_TEMPLATE_OUTPUT} output: deploy an environment with gameDays in its config, and write every stack's outputs (cdk deploy --all --outputs-file)`,
    );
  return id;
}

/** The instances FIS resolved the target to (their ARNs name them). */
async function resolvedInstances(fis: FisClient, experimentId: string): Promise<string[]> {
  const ids: string[] = [];
  let nextToken: string | undefined;
  do {
    const page = await fis.send(
      new ListExperimentResolvedTargetsCommand({
        experimentId,
        targetName: GAME_DAY_TARGET,
        ...(nextToken ? { nextToken } : {}),
      }),
    );
    for (const t of page.resolvedTargets ?? []) {
      // FIS documents the information as a map of strings and names no key: the instance id is
      // whichever value holds one (an ARN, or the id itself).
      const id = Object.values(t.targetInformation ?? {})
        .map((value) => /\bi-[0-9a-f]{8,17}\b/.exec(value)?.[0])
        .find(Boolean);
      if (!id)
        throw new Error(
          `FIS resolved a target of ${experimentId} without an instance id: ${JSON.stringify(t.targetInformation)}`,
        );
      ids.push(id);
    }
    nextToken = page.nextToken;
  } while (nextToken);
  return ids;
}

/** The journal from `since` on (the byDay index, a day at a time). */
async function journalSince(
  db: ReturnType<typeof documentClient>,
  table: string,
  since: number,
): Promise<JournalRecord[]> {
  const from = iso(since);
  return (await readJournalWindow(db, table, since, Date.now())).filter((r) => r.at >= from);
}
