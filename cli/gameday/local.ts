// `ops gameday spot` on the local emulator: the rig plays FIS and EC2 (local/game-day.ts), the
// deployed functions handle what they send as they would on AWS, and the report is read from
// what they wrote: the journal, the spot episodes and the alert topics.
import { EC2Client, TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import { awsClient } from '../../functions/shared/clients.ts';
import { iso } from '../../functions/shared/clock.ts';
import { documentClient } from '../../functions/shared/dynamo.ts';
import { getEpisodes } from '../../functions/shared/spot/episodes.ts';
import { CONTROL_PLANE_OUTPUTS } from '../../infra/shared/stack-outputs.ts';
import { readJournal, takeAlertsInOrder } from '../../local/control-plane.ts';
import { registerGroupInstances } from '../../local/ecs-agent.ts';
import { eventSources } from '../../local/event-sources.ts';
import {
  experimentStateChange,
  fisId,
  interruptionEvents,
  pickAtRandom,
  runningSpotInstances,
} from '../../local/game-day.ts';
import { putEvents } from '../../local/spot-harness.ts';
import { loadLocalState } from '../local-state.ts';
import { outputOf } from '../target.ts';
import { type GameDayData, selectedCount, selectionProblem } from './rules.ts';

/** The rig has no experiment template: this id stands for the one the stack would deploy. */
export const LOCAL_TEMPLATE_ID = 'EXTlocalspotgameday';

export class GameDayRefused extends Error {
  override readonly name = 'Refused';
}

export async function localGameDay(percent: number, progress: (line: string) => void): Promise<GameDayData> {
  const { stack, seed: world } = await loadLocalState();
  const group = world.autoScalingGroups.spot;
  const running = await runningSpotInstances(group);
  const problem = selectionProblem(running.length, percent);
  if (problem) throw new GameDayRefused(`FIS would not run it: ${problem}`);
  const targets = pickAtRandom(running, selectedCount(running.length, percent));
  const experiment = { id: fisId('EXP'), templateId: LOCAL_TEMPLATE_ID };
  const sources = eventSources(stack);

  const startedAt = Date.now();
  progress(
    `experiment ${experiment.id}: running; ${targets.length} of ${running.length} spot instances in ${group}`,
  );
  await putEvents([experimentStateChange(experiment, 'initiating', 'running', startedAt)]);
  // PT2M: each target's rebalance recommendation and two-minute warning come together.
  await putEvents(targets.flatMap((t) => interruptionEvents(t, Date.now())));
  await sources.run({ waitForDelayed: true });
  progress(`handled: ${targets.map((t) => t.instanceId).join(', ')}`);

  // Two minutes after the warning EC2 interrupts (terminate, the groups' behaviour); the
  // replacements the control plane asked for are launched, and the ECS agent registers them.
  await awsClient(EC2Client).send(
    new TerminateInstancesCommand({ InstanceIds: targets.map((t) => t.instanceId) }),
  );
  let registered = 0;
  for (const name of [group, world.autoScalingGroups.onDemand])
    registered += (await registerGroupInstances(world.cluster, name)).length;
  progress(`interrupted; ${registered} replacement instance(s) joined ${world.cluster}`);

  const endedAt = Date.now();
  await putEvents([experimentStateChange(experiment, 'running', 'completed', endedAt)]);
  await sources.run();

  const since = iso(startedAt);
  const notifications = (await takeAlertsInOrder(world.alertQueues))
    .filter((a) => a.publishedAt >= since)
    .map((a) => ({ subject: a.subject, severity: a.severity, kind: String(a.alert.kind ?? '') }));
  const journal = (
    await readJournal(outputOf(stack.outputs, CONTROL_PLANE_OUTPUTS.journalTable, 'the journal'))
  ).filter((r) => r.at >= since);
  const episodes = await getEpisodes(
    documentClient(),
    outputOf(stack.outputs, CONTROL_PLANE_OUTPUTS.operationsTable, 'the operations table'),
    targets.map((t) => t.instanceId),
  );
  return {
    where: 'local',
    generatedAt: iso(Date.now()),
    experiment: {
      id: experiment.id,
      templateId: experiment.templateId,
      status: 'completed',
      startedAt: since,
      endedAt: iso(endedAt),
    },
    group,
    percent,
    running: running.length,
    targets: targets.map((t) => t.instanceId),
    journal,
    episodes: Object.fromEntries(episodes),
    notifications,
    registered,
  };
}
