// `ops silence --service` and `--dedup-key` as a user runs them: the CLI in its own process with its
// own emulator daemon (temp state dir). Alerts are raised onto the deployed alert queue the way
// producers raise them; `ops alerts` routes them and shows what subscribers got.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Alert, raiseAlert } from '../../functions/shared/alerts.ts';
import { localAwsEnv } from '../../local/emulator.ts';
import { localOpsEnv, runOps } from '../support/ops-process.ts';

const stateDir = mkdtempSync(join(tmpdir(), 'ops-silence-'));

const ops = (...args: string[]) => runOps(args, { env: localOpsEnv(stateDir) });

async function opsJson<T>(...args: string[]): Promise<T> {
  const out = await ops(...args, '--json');
  expect(out.code, out.stderr).toBe(0);
  return JSON.parse(out.stdout) as T;
}

interface ShownAlert {
  alert: { dedupKey: string };
}
interface JournalLine {
  action: string;
  resource: string;
  reason: string;
}
interface ShownSilence {
  id: string;
  matcher: Record<string, string>;
  startsAt: string;
  endsAt: string;
  active: boolean;
}

let serial = 0;
function alert(overrides: Partial<Alert>): Alert {
  serial++;
  return {
    severity: 'critical',
    state: 'firing',
    kind: 'error-rate',
    service: 'billing',
    cluster: 'web',
    title: `Error rate above 5% (${serial})`,
    summary: 'The 5xx rate stayed above 5% for 5 minutes.',
    resources: [`arn:aws:ecs:us-east-1:123456789012:service/web/billing-${serial}`],
    whatHappened: 'The 5xx alarm fired.',
    whatWeDid: 'Nothing: paging a human.',
    nextSteps: ['Check the service logs.'],
    dedupKey: `error-rate/web/billing/${process.pid}-${serial}`,
    at: new Date().toISOString(),
    ...overrides,
  };
}

describe('ops silence by service and by dedup key', () => {
  let raise: (...alerts: Alert[]) => Promise<void>;

  beforeAll(async () => {
    const { endpoint } = await opsJson<{ endpoint: string }>('emulator', 'start');
    const seeded = await opsJson<{ outputs: Record<string, string> }>('seed', '--instances', '2');
    const queueUrl = seeded.outputs.AlertQueueUrl as string;
    const env = localAwsEnv(endpoint);
    const sqs = new SQSClient({
      endpoint,
      region: env.AWS_REGION as string,
      credentials: {
        accessKeyId: env.AWS_ACCESS_KEY_ID as string,
        secretAccessKey: env.AWS_SECRET_ACCESS_KEY as string,
      },
    });
    raise = async (...alerts) => {
      for (const a of alerts) await raiseAlert(sqs, queueUrl, a);
    };
  });
  afterAll(async () => {
    await ops('emulator', 'stop');
  });

  const published = async () => (await opsJson<ShownAlert[]>('alerts')).map((a) => a.alert.dedupKey).sort();
  /** The journal's lines per alert dedup key (each CLI run costs seconds: read it once). */
  const journalByAlert = async () => {
    const lines = await opsJson<JournalLine[]>('journal');
    return (dedupKey: string) => lines.filter((r) => r.resource === `alert/${dedupKey}`);
  };

  it('refuses a silence that names nothing to match or lasts over a week', async () => {
    const none = await ops('silence', '--for', '2h', '--reason', 'no matcher');
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('ops silence needs --service S, --kind K or --dedup-key D');
    const long = await ops('silence', '--service', 'billing', '--for', '8d', '--reason', 'too long');
    expect(long.code).toBe(2);
    expect(long.stderr).toContain('at most 7 days');
    expect(await opsJson<ShownSilence[]>('silences')).toEqual([]);
  });

  it('--service silences every alert of that service only, until unsilenced', async () => {
    const silence = await opsJson<ShownSilence>(
      'silence',
      '--service',
      'billing',
      '--for',
      '2h',
      '--reason',
      'billing migration tonight',
    );
    expect(silence.matcher).toEqual({ service: 'billing' });
    const silenced = [alert({}), alert({ kind: 'latency', severity: 'warning' })];
    const other = alert({ service: 'ledger' });
    await raise(...silenced, other);
    // The silence is announced on the info topic (its notice's dedup key is silence/<id>).
    expect(await published()).toEqual([other.dedupKey, `silence/${silence.id}`].sort());
    const journalFor = await journalByAlert();
    for (const a of silenced) {
      expect(journalFor(a.dedupKey)).toEqual([
        expect.objectContaining({ action: 'silence-alert', reason: expect.stringContaining(silence.id) }),
      ]);
    }

    expect((await ops('unsilence', silence.id)).code).toBe(0);
    const again = alert({});
    await raise(again);
    // Its end, announced once: the notice resolved, naming who ended it.
    const shown =
      await opsJson<(ShownAlert & { alert: { title: string; notification: string } })[]>('alerts');
    expect(shown.map((a) => a.alert.dedupKey).sort()).toEqual(
      [again.dedupKey, `silence/${silence.id}`].sort(),
    );
    const ended = shown.find((a) => a.alert.dedupKey === `silence/${silence.id}`);
    expect(ended?.alert).toMatchObject({ notification: 'resolved' });
    expect(ended?.alert.title).toMatch(/^Silence ended early by ops-cli\/.+: service billing$/);
  });

  it('--dedup-key silences that alert and not others of its service and kind', async () => {
    const target = alert({ kind: 'disk-full' });
    const sibling = alert({ kind: 'disk-full' });
    const silence = await opsJson<ShownSilence>(
      'silence',
      '--dedup-key',
      target.dedupKey,
      '--for',
      '30m',
      '--reason',
      'volume replacement ordered',
    );
    expect(silence.matcher).toEqual({ dedupKey: target.dedupKey });
    expect(Date.parse(silence.endsAt) - Date.parse(silence.startsAt)).toBe(30 * 60_000);
    expect(await opsJson<ShownSilence[]>('silences')).toContainEqual(
      expect.objectContaining({ id: silence.id, active: true, matcher: { dedupKey: target.dedupKey } }),
    );

    await raise(target, sibling);
    expect(await published()).toEqual([sibling.dedupKey, `silence/${silence.id}`].sort());
    const journalFor = await journalByAlert();
    expect(journalFor(target.dedupKey)).toEqual([
      expect.objectContaining({ action: 'silence-alert', reason: expect.stringContaining(silence.id) }),
    ]);
    expect(journalFor(sibling.dedupKey)).toEqual([]);
  });

  it('--service with --kind silences only alerts that match both', async () => {
    const silence = await opsJson<ShownSilence>(
      'silence',
      '--service',
      'ledger',
      '--kind',
      'deploy-failed',
      '--for',
      '1h',
      '--reason',
      'known bad image, rolling back',
    );
    expect(silence.matcher).toEqual({ service: 'ledger', kind: 'deploy-failed' });
    const both = alert({ service: 'ledger', kind: 'deploy-failed' });
    // Critical: a ledger critical fires since the test above, and would inhibit a warning.
    const serviceOnly = alert({ service: 'ledger', kind: 'cpu-high' });
    const kindOnly = alert({ service: 'billing', kind: 'deploy-failed' });
    await raise(both, serviceOnly, kindOnly);
    expect(await published()).toEqual(
      [kindOnly.dedupKey, serviceOnly.dedupKey, `silence/${silence.id}`].sort(),
    );
    expect((await journalByAlert())(both.dedupKey).map((r) => r.action)).toEqual(['silence-alert']);
  });

  it('ops ack acknowledges a firing alert by its dedup key: listed in ops status; an unknown key is refused', async () => {
    const firing = alert({ service: 'checkout', kind: 'latency' });
    await raise(firing);
    expect(await published()).toContain(firing.dedupKey);
    const unknown = await ops('ack', 'no-such-alert');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('no alert with dedup key no-such-alert is firing');
    const acked = await opsJson<{ dedupKey: string; by: string; reason: string }>(
      'ack',
      firing.dedupKey,
      '--reason',
      'rolling back checkout',
    );
    expect(acked).toMatchObject({ dedupKey: firing.dedupKey, reason: 'rolling back checkout' });
    expect(acked.by).toMatch(/^ops-cli\//);
    const status = await opsJson<{ acknowledged: { dedupKey: string; reason: string }[] }>('status');
    expect(status.acknowledged).toEqual([
      expect.objectContaining({ dedupKey: firing.dedupKey, reason: 'rolling back checkout' }),
    ]);
    const text = await ops('status');
    expect(text.stdout).toContain('acknowledged alerts (1)');
  });
});
