// What `ops seed` and the tour leave in the emulator and in the state dir for later commands.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { awsClient } from '../functions/shared/clients.ts';
import type { DeployedStack } from '../local/deploy.ts';
import { REPO_ROOT } from '../local/python-env.ts';
import { putNamedAlarms, putServiceAlarms, registerNextRevision, type Seed } from '../local/seed.ts';
import { namedAlarms } from './doctor/command.ts';
import { type LocalState, STATE_DIR, saveLocalState } from './local-state.ts';

/**
 * What `ops seed` and the tour leave for later commands: the alarms the capability files name (as
 * the team's own would stand), and the state file. `endpoint` is the emulator's own address, never
 * a proxy in front of it that ends with the process (`reachedThrough`, when the world was made
 * through one).
 */
export async function keepSeededWorld(
  endpoint: string,
  stack: DeployedStack,
  world: Seed,
  reachedThrough?: string,
): Promise<void> {
  const environmentName = stack.functions['rollout-step']?.environment.OPS_ENVIRONMENT ?? 'local';
  const cloudwatch = awsClient(CloudWatchClient);
  await putNamedAlarms(
    cloudwatch,
    namedAlarms(environmentName).map((a) => a.name),
  );
  await putServiceAlarms(cloudwatch, world);
  await registerNextRevision(world);
  writeWorldExamples(world);
  let kept = JSON.stringify({ endpoint, seededAt: new Date().toISOString(), stack, seed: world });
  // Addresses the emulator handed out through a proxy (queue URLs) name the proxy's port.
  if (reachedThrough) kept = kept.replaceAll(new URL(reachedThrough).host, new URL(endpoint).host);
  saveLocalState(JSON.parse(kept) as LocalState);
}

/** Where `ops seed` writes the examples that name its instances (docs: `.ops/examples/…`). */
export const EXAMPLES_DIR = join(STATE_DIR, 'examples');

/** The instance AWS's sample warning names (replaced by a seeded one). */
const SAMPLE_INSTANCE = 'i-1234567890abcdef0';

/**
 * AWS's spot interruption warning and the spot-surge console input name instances no seed can
 * have (EC2 picks instance IDs): the same files, naming instances of the seeded world, so the
 * documented commands that take them do what they say. Two different spot instances, so that
 * running both examples drains two; a world with fewer spot instances gets none.
 */
function writeWorldExamples(world: Seed): void {
  // A previous seed's examples name instances this world does not have.
  rmSync(EXAMPLES_DIR, { recursive: true, force: true });
  const [warned, surged] = world.containerInstances.filter((c) => c.spot);
  if (!warned || !surged) return;
  mkdirSync(EXAMPLES_DIR, { recursive: true });
  const warning = 'ec2-spot-instance-interruption-warning.json';
  const sample = readFileSync(join(REPO_ROOT, 'events/samples/aws', warning), 'utf8');
  writeFileSync(join(EXAMPLES_DIR, warning), sample.split(SAMPLE_INSTANCE).join(warned.ec2InstanceId));
  const surge = JSON.parse(readFileSync(join(REPO_ROOT, 'events/inputs/spot-surge.json'), 'utf8'));
  surge.cluster = world.cluster;
  surge.instances = [{ instanceId: surged.ec2InstanceId, containerInstanceArn: surged.containerInstanceArn }];
  writeFileSync(join(EXAMPLES_DIR, 'spot-surge.json'), `${JSON.stringify(surge, null, 2)}\n`);
}
