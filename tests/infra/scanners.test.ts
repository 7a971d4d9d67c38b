// The external scanners over every template of the example environments (dev, prod, and the
// control-plane-only adopted): cfn-lint (CloudFormation's own rules) and checkov (security
// policies), each a Python tool run on the synthesized assembly.
// Apart from tests/infra/app-stacks.test.ts so that the unit suite (no emulator, no scanners)
// stays fast; the full suite runs both.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../local/python-env.ts';
import { devWithEcsDeployedApi } from './ecs-deployed-config.ts';
import { type CheckovFinding, cfnLint, checkov, type Synthesized, synthesize } from './synth-support.ts';

let synth: Synthesized;
/** dev with a service ECS deploys: the ECS-controlled variant of a service and the control plane's hook. */
let ecsDeployed: Synthesized;

beforeAll(async () => {
  synth = await synthesize({ environmentNames: ['adopted', 'dev', 'prod'] });
  ecsDeployed = await synthesize({ environmentName: 'dev', config: devWithEcsDeployedApi() });
}, 240_000);

afterAll(() => {
  synth?.cleanup();
  ecsDeployed?.cleanup();
});

describe('scanners', () => {
  it('passes cfn-lint on every template of the example environments (dev, prod, adopted), and on a service ECS deploys', async () => {
    const files = synth.assembly.stacks.map((s) => s.templateFullPath);
    files.push(
      ...ecsDeployed.assembly.stacks
        .filter((s) => /-(Compute|ControlPlane)$/.test(s.stackName))
        .map((s) => s.templateFullPath),
    );
    // W3005 (redundant DependsOn): CDK adds DependsOn next to a GetAtt that implies it; harmless, not ours.
    // W3010 (hardcoded availability zones): the config names the AZs on purpose, so synth needs no
    //   AWS lookups and a template never changes because an account's AZ list did.
    const matches = await cfnLint(files, ['W3005', 'W3010']);
    expect(matches.map((m) => `${m.level} ${m.rule} ${m.file}: ${m.message}`)).toEqual([]);
  });

  it('passes checkov on every template of the example environments, except the findings tools/checkov-skips.json explains', async () => {
    const { skips } = JSON.parse(readFileSync(join(REPO_ROOT, 'tools', 'checkov-skips.json'), 'utf8')) as {
      skips: { check: string; resources: string[]; reason: string }[];
    };
    const findings = await checkov(synth.assembly.directory);
    const skipOf = (f: CheckovFinding) =>
      skips.find((s) => s.check === f.check && s.resources.some((r) => f.resource.startsWith(r)));
    const unexplained = findings.filter((f) => !skipOf(f));
    expect(unexplained.map((f) => `${f.check} ${f.resource} (${f.file})`)).toEqual([]);
    for (const skip of skips) {
      expect(skip.reason.length, `${skip.check} has a reason`).toBeGreaterThan(40);
      for (const resource of skip.resources)
        expect(
          findings.some((f) => f.check === skip.check && f.resource.startsWith(resource)),
          `${skip.check} ${resource} still matches a finding (else drop it)`,
        ).toBe(true);
    }
  }, 240_000);

  it("takes only cfn-lint's documented exit codes for findings, and fails when the tool fails", async () => {
    const write = (name: string, t: unknown) => {
      const file = join(synth.workDir, name);
      writeFileSync(file, JSON.stringify(t));
      return file;
    };
    const clean = write('lint-clean.json', { Resources: { Topic: { Type: 'AWS::SNS::Topic' } } });
    const unusedParameter = write('lint-warning.json', {
      Parameters: { Unused: { Type: 'String' } },
      Resources: { Topic: { Type: 'AWS::SNS::Topic' } },
    });
    expect(await cfnLint([clean], [])).toEqual([]);
    // Exit 4: a warning, returned as a match for the caller to judge.
    expect((await cfnLint([unusedParameter], [])).map((m) => `${m.level} ${m.rule}`)).toEqual([
      'Warning W2001',
    ]);
    expect(await cfnLint([unusedParameter], ['W2001'])).toEqual([]);
    // Exit 1 (bad arguments) and 32 (unsupported region), with nothing on stdout: failures, with stderr.
    await expect(cfnLint([clean], [], ['--no-such-option'])).rejects.toThrow(
      /cfn-lint failed \(exit 1\): .*unrecognized arguments: --no-such-option/s,
    );
    await expect(cfnLint([clean], [], ['--regions', 'xx-nowhere-1'])).rejects.toThrow(
      /cfn-lint failed \(exit 32\): .*unsupported/s,
    );
  });
});
