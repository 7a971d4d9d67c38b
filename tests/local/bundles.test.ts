// The deployed artifact, not the TypeScript source: dist/functions/<name>/ (index.mjs and the
// chunks it loads) is what `npm run synth` packs into the Lambda asset (infra/control-plane/shared/bundled-function.ts). Here the spot handler
// is loaded from that bundle (loadHandler with bundled: true) and driven against the emulator.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildFunctions, DIST_FUNCTIONS_DIR } from '../../esbuild.config.mjs';
import type { BatchReport } from '../../functions/spot-interruption/batch-model.ts';
import { deployControlPlane, takeAlerts } from '../../local/control-plane.ts';
import type { DeployedStack } from '../../local/deploy.ts';
import { applyFunctionEnvironment, lambdaContext, loadHandler } from '../../local/lambda-host.ts';
import { type Seed, type SeededInstance, seed } from '../../local/seed.ts';
import { enqueueRaw, sampleEvent, spotHarness } from '../../local/spot-harness.ts';
import { type SpotWorld, statuses } from '../spot/scenarios.ts';
import { useEmulator } from '../support/emulator.ts';

const NAME = 'spot-interruption';

/** The code files of a function's bundle (index.mjs and its chunks), by path, with their text. */
function bundleCode(dir: string): Record<string, string> {
  const files = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.mjs'));
  return Object.fromEntries(files.sort().map((f) => [f, readFileSync(join(dir, f), 'utf8')]));
}

describe('the deployed spot-interruption bundle', () => {
  useEmulator();
  let stack: DeployedStack;
  let world: Seed;
  const view = () => ({ stack, seed: world }) as SpotWorld;

  beforeAll(async () => {
    stack = await deployControlPlane();
    world = await seed(stack, { instances: 6, spotFraction: 0.5 });
  });

  it('is the bundle esbuild.config.mjs builds from the current source', async () => {
    // Otherwise the next test would prove an old bundle works. `npm test` builds first.
    // Beside dist/functions: chunk names hash the source maps too, whose paths are relative to
    // where the bundle is built, so the fresh build must sit as deep as the deployed one.
    const outdir = mkdtempSync(join(DIST_FUNCTIONS_DIR, '..', 'bundle-check-'));
    try {
      await buildFunctions({ names: [NAME], outdir });
      const fresh = bundleCode(join(outdir, NAME));
      const deployed = bundleCode(join(DIST_FUNCTIONS_DIR, NAME));
      expect(Object.keys(fresh)).toContain('index.mjs');
      expect(Object.keys(fresh).length).toBeGreaterThan(1);
      expect(deployed, `${DIST_FUNCTIONS_DIR}/${NAME} is stale: run npm run build`).toEqual(fresh);
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });

  it('drains exactly the instance named by the AWS sample warning, and its alert is published', async () => {
    const [target] = world.containerInstances.filter((c) => c.spot) as [SeededInstance];
    const fn = stack.functions[NAME];
    if (!fn) throw new Error(`no ${NAME} in the stack`);
    applyFunctionEnvironment(stack, NAME);
    const handler = await loadHandler(NAME, { bundled: true });

    // Invoked directly (as `ops invoke` or the Lambda console does): the report comes back.
    const report = (await handler(
      sampleEvent('ec2-spot-instance-interruption-warning', target.ec2InstanceId),
      lambdaContext(NAME, fn.arn),
    )) as BatchReport;
    expect(report.instances).toEqual([
      expect.objectContaining({ instanceId: target.ec2InstanceId, result: 'drained' }),
    ]);
    expect(report.drainCalls).toBe(1);
    const after = await statuses(view());
    expect(after.get(target.ec2InstanceId)).toBe('DRAINING');
    expect([...after].filter(([id, s]) => id !== target.ec2InstanceId && s !== 'ACTIVE')).toEqual([]);

    // Its alert is on the alert queue; the bundled alert router publishes it. The same warning
    // delivered again through the queue, to the bundle, is the same episode.
    const harness = await spotHarness(stack, { bundled: true });
    await enqueueRaw(stack, [sampleEvent('ec2-spot-instance-interruption-warning', target.ec2InstanceId)]);
    const polled = await harness.process();
    expect(polled).toMatchObject({ delivered: 1, failed: 0, errors: [] });
    const alerts = [
      ...(await takeAlerts(world.alertQueues.critical)),
      ...(await takeAlerts(world.alertQueues.warning)),
      ...(await takeAlerts(world.alertQueues.info)),
    ];
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({
      severity: 'warning',
      alert: { resources: [target.containerInstanceArn] },
    });
    expect((await statuses(view())).get(target.ec2InstanceId)).toBe('DRAINING');
  });

  it('refuses malformed input as its source does, in every function bundle (they validate with zod-lite)', async () => {
    // The source validates with zod/mini, the bundle with events/zod-lite.ts (esbuild.config.mjs):
    // the operator must read the same field-naming error from either.
    const malformed: unknown[] = [
      {},
      { action: 'nope' },
      { action: 'validate', input: { service: 5 } },
      { source: 'aws.ec2', 'detail-type': 'EC2 Spot Instance Interruption Warning', detail: {} },
      { Records: [{ messageId: 'm-1', body: '{"not":"an alert"}' }] },
    ];
    const outcome = async (handler: (event: unknown, context: never) => Promise<unknown>, event: unknown) => {
      try {
        return {
          returned: await handler(
            structuredClone(event),
            lambdaContext('check', 'arn:aws:lambda:::check') as never,
          ),
        };
      } catch (error) {
        return { threw: (error as Error).message };
      }
    };
    const names = Object.keys(stack.functions).sort();
    expect(names.length).toBeGreaterThan(5);
    for (const name of names) {
      applyFunctionEnvironment(stack, name);
      const bundled = await loadHandler(name, { bundled: true, freshInstance: true });
      const source = await loadHandler(name, { freshInstance: true });
      for (const event of malformed) {
        const fromBundle = await outcome(bundled, event);
        expect(fromBundle, `${name} on ${JSON.stringify(event)}`).toEqual(await outcome(source, event));
      }
    }
  });
});
