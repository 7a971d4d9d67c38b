// ops: the local front door to the control plane.
//   ops emulator start|stop|status        the local AWS emulator (moto server)
//   ops seed [--instances N] [--spot-fraction F]   deploy the control plane + a miniature stack into it
//   ops invoke <function> --event <file|->   run a function's handler against the emulator, then
//                                            the executions it started
//   ops run <workflow> --input <file|->      run a synthesized workflow against the emulator
//   ops alerts                               run the alert router, then alerts published since the last read
//   ops silence --service S|--kind K|--dedup-key D --for 2h --reason "..."   silence alerts for a while
//   ops silences / ops unsilence <id>        list silences / end one now
//   ops ack <dedup key> [--reason "..."]     acknowledge a firing alert: no reminders until it resolves
//   ops journal                              the action journal
//   ops scale --service S --to N | --by +N|-N|+P% [--dry-run]   scale a service inside its guardrails
//   ops rollout --service S --image I --strategy canary:10:5m [--watch]   blue/green rollout
//   ops approve|reject|abort <execution>, ops rollback <service>          answer or stop a rollout
//   ops train start --file train.json [--watch] | status [TRAIN] | abort TRAIN   release trains
//   ops slo [--service S]                    error budgets and burn rates
//   ops traffic --green errors:12            load balancer metrics for a local rollout to judge
//   ops remediate --alarm NAME [--dry-run]   run the alarm's runbook by hand, guarded and verified
//   ops doctor [--env NAME] [--aws]          is an existing estate ready for the control plane
//   ops metrics [--since 30d]                DORA figures from the journal
//   ops report --fleet [--since 30d]         the fleet report (one HTML page)
//   ops gameday spot [--fraction F] [--aws]  a spot game day (FIS, or the rig playing it) and its report

// Add --json to any command for machine-readable output.
//
// Each command's module is imported when the command runs: a process loads what its command needs
// and no more (the tests start hundreds of them; `ops help` loads nothing).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { operatorReason } from '../functions/shared/validation.ts';
import { REPO_ROOT } from '../local/python-env.ts';
import { WORKFLOW_NAMES } from '../local/workflow-names.ts';
import type { RolloutFlags } from './rollout.ts';
import type { ScaleFlags } from './scale.ts';
import type { TrafficFlags } from './traffic.ts';
import { TRAFFIC_PROFILES } from './traffic-profiles.ts';
import { joinNegativeValues, readJsonArg, UsageError } from './usage.ts';

const HELP = `ops — the local front door to the ECS operations control plane

Usage:
  ops emulator start|stop|status         Start (idempotent), stop or show the local AWS emulator
  ops seed [--instances N] [--spot-fraction F]
                                          Reset the emulator, deploy the control plane from the
                                          synthesized template, and create a miniature stack
  ops invoke <function> --event <file|-> [--bundled]
                                          Run a function's handler against the emulator, then
                                          the executions it started (scale-alarm,
                                          remediation-trigger, spot-interruption)
  ops run <workflow> --input <file|->     Run a synthesized workflow against the emulator
  ops alerts                              Run the alert router over raised alerts (waiting for group
                                          windows), then print (and acknowledge) what was published
  ops silence (--service S | --kind K | --dedup-key D) --for 2h --reason "..."
                                          Silence matching alerts for a while (at most 7 days);
                                          silenced alerts are not published and are journaled
  ops silences                            List silences (active and recently ended)
  ops unsilence <id>                      End a silence now
  ops ack <dedup key> [--reason "..."]    Acknowledge a firing alert: no reminders until it resolves;
                                          its resolved notification and ops status say who and why
  ops journal [--limit N]                 Print the action journal, oldest first
  ops metrics [--since 30d] [--service [CLUSTER/]S]
                                          DORA figures from the journal: deployment frequency, lead
                                          time for changes, change failure rate, time to restore
  ops report --fleet [--since 30d] [--service [CLUSTER/]S] [--out FILE.html]
                                          Write the fleet report: the DORA trends, and every
                                          rollout, spot episode, scaling action and remediation on
                                          one timeline per service, linked to its journal records
  ops status [--limit N]                  What is in flight: running executions, rollouts, approvals
                                          waiting, held locks, active silences, latest journal entries
  ops scale --service [CLUSTER/]S (--to N | --by +N|-N|+P%|-P%) [--dry-run] [--reason "..."]
              [--break-glass "..."]
                                          Run the scale-service workflow: guardrails, capacity,
                                          verification; prints every decision in plain words
  ops rollout --service [CLUSTER/]S (--image I | --task-definition TD) [--strategy S] [--watch]
              [--approval none|before-traffic|before-finalize] [--input <file>] [--gate-wait 30s]
              [--no-analysis] [--image-pushed-at T] [--break-glass "..."]
              [--aws --outputs <cdk outputs file>]
                                          Blue/green rollout; strategies: all-at-once, canary:10:5m,
                                          linear:25:10m, steps:10@5m,50@10m,100@0 (default: the
                                          service's, else canary:10:5m). Every step is analysed
                                          against blue unless --no-analysis (a blind rollout, alerted
                                          as a warning); the plan is printed before it starts.
                                          Locally it runs on the emulator here; --watch shows
                                          weights, steps, verdicts. --image-pushed-at: when CI
                                          pushed the image (ISO 8601); lead time counts from it.
                                          A service ECS deploys (web/shop when seeded) gets a new
                                          revision and UpdateService; its lifecycle hook judges each
                                          traffic step, and --watch shows the hook's calls too
  ops train start --file <train.json> [--watch] [--gate-wait 30s] [--break-glass "..."]
              [--aws --outputs <file>]
                                          Run a release train: waves of services, each rolled out
                                          blue/green as ops rollout would, the services of a wave in
                                          parallel (its maxConcurrency), under one budget (failed
                                          services; green tasks per cluster); --watch shows it move
  ops train status [TRAIN]                A train's waves, services, budget and green in flight
                                          (default: the latest train)
  ops train report [TRAIN] [--out FILE.html]
                                          Write a train's report: one HTML page with its outcome,
                                          budget, a timeline of every rollout, and their verdicts
  ops train abort TRAIN [--reason "..."]  Stop a train's line: services not yet started never
                                          start; with onStop rollback, running rollouts go back to blue
  ops slo [--service [CLUSTER/]S]         Each service's SLOs: the error budget left over its window,
                                          and the burn rate over each rule's long and short windows
  ops traffic [--service S] [--green P] [--blue P] [--hours 2]
                                          Write a seeded service's load balancer metrics into the
                                          emulator (P: ${TRAFFIC_PROFILES}; S: api, the default, or
                                          shop), so a local rollout has data to judge (no data is no pass)
  ops remediate --alarm NAME [--dry-run] [--reason "..."] [--gate-wait 30s] [--aws --outputs <file>]
                                          Run the alarm's runbook the way an alarm would: registry,
                                          guards, approval, runbook, verification, escalation
  ops report <execution|[CLUSTER/]SERVICE> [--out FILE.html]
                                          Write a rollout's report: one self-contained HTML page
                                          (listener weights, green/blue 5xx and p95 over time,
                                          every verdict, gate answers, outcome); prints its path
  ops doctor [--env NAME] [--aws]         Check that what a control-plane-only environment
                                          (config/NAME.json) references is ready for the control
                                          plane: deployment controllers, target groups and listener
                                          rules, named alarms, capacity providers and Auto Scaling
                                          groups, spot draining, task roles; says how to fix each
                                          problem. Locally without --env: the seeded world
  ops gameday spot [--fraction F] [--out FILE.html] [--aws --outputs <file>] [--settle 2m]
                                          A spot game day: interrupts F of the spot group's running
                                          instances (FIS: a rebalance recommendation and the
                                          two-minute warning each), lets the control plane handle
                                          them, and writes a report: notice to drain per instance
                                          against the two minutes, tasks moved, capacity asked for,
                                          alerts, minimum healthy kept. Locally (default F 0.25) the
                                          rig sends what FIS and EC2 would; with --aws it starts the
                                          stack's FIS experiment template (its F; a different
                                          --fraction is refused) and follows it. Exit 1 if it failed
  ops approve|reject <execution> [--reason "..."]
                                          Answer the gate a rollout or a remediation waits at
  ops abort <execution> [--reason "..."]  Stop a rollout: traffic back on blue at once, green removed
  ops rollback [CLUSTER/]SERVICE          Inside the rollback window after promotion: 100% back on
                                          blue at once (one listener update, read back)
  ops help                                This text
  ops --version                           The project's version and the Node it runs on

Every command takes --json for machine-readable output and --verbose to show function logs.
Against a real account: add --aws --outputs <file> (from cdk deploy --outputs-file), or --profile P
(implies --aws). Workflow commands then start and follow the deployed state machines; status,
journal and silences read and write the stack's tables. Nothing runs locally.
Functions: spot-interruption, spot-surge-step, alert-router, scale-service-step, scale-alarm,
remediation-trigger, remediate-step, rollout-step, rollout-analysis, deployment-hook. Workflows: ${WORKFLOW_NAMES.join(', ')}.
Examples (each runs as printed on a freshly seeded world):
  ops emulator start && ops seed --instances 40 --spot-fraction 0.75
  ops invoke spot-interruption --event .ops/examples/ec2-spot-instance-interruption-warning.json
  ops run spot-surge --input .ops/examples/spot-surge.json
  ops silence --service api --for 2h --reason "deploying a fix for the health check"
  ops traffic && ops rollout --service api --image registry.local/api:2 --strategy canary:10:5m --watch
  ops remediate --alarm web-api-cpu-high --dry-run
  ops doctor && ops doctor --env adopted --aws --profile prod
ops seed writes .ops/examples/: AWS's sample warning and the spot-surge console input, naming
instances of the seeded world. A local gate or rollback window waits --gate-wait, else
OPS_GATE_WAIT, else 30s.
`;

type Flags = {
  json?: boolean;
  instances?: string;
  'spot-fraction'?: string;
  event?: string;
  input?: string;
  bundled?: boolean;
  limit?: string;
  help?: boolean;
  service?: string;
  kind?: string;
  'dedup-key'?: string;
  for?: string;
  reason?: string;
  alarm?: string;
  profile?: string;
  out?: string;
  env?: string;
  since?: string;
  fleet?: boolean;
  file?: string;
  fraction?: string;
  settle?: string;
} & ScaleFlags &
  RolloutFlags &
  TrafficFlags;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: joinNegativeValues(argv, ['--by']),
    allowPositionals: true,
    options: {
      json: { type: 'boolean' },
      instances: { type: 'string' },
      'spot-fraction': { type: 'string' },
      event: { type: 'string' },
      input: { type: 'string' },
      bundled: { type: 'boolean' },
      limit: { type: 'string' },
      service: { type: 'string' },
      kind: { type: 'string' },
      'dedup-key': { type: 'string' },
      for: { type: 'string' },
      reason: { type: 'string' },
      to: { type: 'string' },
      by: { type: 'string' },
      'dry-run': { type: 'boolean' },
      cluster: { type: 'string' },
      image: { type: 'string' },
      'task-definition': { type: 'string' },
      strategy: { type: 'string' },
      approval: { type: 'string' },
      watch: { type: 'boolean' },
      aws: { type: 'boolean' },
      outputs: { type: 'string' },
      'gate-wait': { type: 'string' },
      'no-analysis': { type: 'boolean' },
      'image-pushed-at': { type: 'string' },
      since: { type: 'string' },
      fleet: { type: 'boolean' },
      file: { type: 'string' },
      fraction: { type: 'string' },
      settle: { type: 'string' },
      'break-glass': { type: 'string' },
      green: { type: 'string' },
      blue: { type: 'string' },
      hours: { type: 'string' },
      alarm: { type: 'string' },
      profile: { type: 'string' },
      out: { type: 'string', short: 'o' },
      env: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean' },
      verbose: { type: 'boolean', short: 'v' },
    },
  });
  // Function logs would mix with the command's output: shown only with --verbose.
  if (!values.verbose) process.env.OPS_LOG_LEVEL ??= 'SILENT';
  const flags = values as Flags;
  // --profile P means a real account through that profile: every command then acts as with --aws.
  if (flags.profile) {
    flags.aws = true;
    process.env.AWS_PROFILE = flags.profile;
  }
  const [command, ...rest] = positionals;
  const out = (human: string, data: unknown) =>
    console.log(flags.json ? JSON.stringify(data, null, 2) : human);

  if (values.version || command === 'version') {
    const project = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    out(`ops ${project.version} on Node ${process.version}`, {
      version: project.version,
      node: process.version,
      nodePath: process.execPath,
    });
    return 0;
  }
  if (!command || command === 'help' || flags.help) {
    console.log(HELP);
    return 0;
  }
  switch (command) {
    case 'emulator':
      return (await import('./local-commands.ts')).emulator(rest[0], out);
    case 'seed':
      return (await import('./local-commands.ts')).seedCommand(flags, out);
    case 'invoke':
      return (await import('./local-commands.ts')).invoke(rest[0], flags, out);
    case 'run':
      return (await import('./local-commands.ts')).run(rest[0], flags, out);
    case 'alerts':
      return (await import('./local-commands.ts')).alerts(out);
    case 'silence':
      return (await import('./silences.ts')).silence(flags, out);
    case 'silences':
      return (await import('./silences.ts')).silences(flags, out);
    case 'unsilence':
      return (await import('./silences.ts')).unsilence(rest[0], flags, out);
    case 'ack':
      return (await import('./silences.ts')).ack(rest[0], flags, out);
    case 'status':
      return (await import('./status.ts')).statusCommand(flags, out);
    case 'report':
      return (await import('./report.ts')).reportCommand(rest[0], flags, out);
    case 'metrics':
      return (await import('./metrics/command.ts')).metricsCommand(flags, out);
    case 'journal':
      return (await import('./journal.ts')).journal(flags, out);
    case 'scale':
      return (await import('./scale-command.ts')).scaleCommand(flags, out);
    case 'rollout':
      return (await import('./rollout.ts')).rolloutCommand(flags, out, (file) => readJsonArg('input', file));
    case 'traffic':
      return (await import('./traffic.ts')).trafficCommand(flags, out);
    case 'slo':
      return (await import('./slo.ts')).sloCommand(flags, out);
    case 'train':
      checkReason(flags.reason);
      return (await import('./train.ts')).trainCommand(rest[0], rest[1], flags, out);
    case 'remediate':
      return (await import('./remediate.ts')).remediateCommand(flags, out);
    case 'doctor':
      return (await import('./doctor/command.ts')).doctorCommand(flags, out);
    case 'gameday':
      return (await import('./gameday/command.ts')).gameDayCommand(rest[0], flags, out);
    case 'approve':
    case 'reject': {
      checkReason(flags.reason);
      // A remediation waiting for approval answers to its execution name; anything else is a rollout's.
      const answered = rest[0]
        ? await (await import('./remediate.ts')).answerRemediationCommand(command, rest[0], flags, out)
        : undefined;
      return answered ?? (await import('./rollout.ts')).operatorCommand(command, rest[0], flags, out);
    }
    case 'abort':
    case 'rollback':
      checkReason(flags.reason);
      return (await import('./rollout.ts')).operatorCommand(command, rest[0], flags, out);
    default:
      throw new UsageError(`unknown command "${command}"; run \`ops help\` for the list`);
  }
}

/** A gate's answer carries the reason into the workflow: refused before anything is looked up. */
function checkReason(reason: string | undefined): void {
  try {
    operatorReason(reason);
  } catch (error) {
    throw new UsageError(`--${(error as Error).message}`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: Error) => {
    console.error(`${error.name}: ${error.message}`);
    process.exitCode = error.name === 'UsageError' ? 2 : 1;
  },
);
