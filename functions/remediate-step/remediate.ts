// The decision steps of the remediate-alarm workflow. `validate` reads the alarm; `decide` picks
// the runbook and checks every guard (first transition after a deploy, one run per transition,
// the lease, guard alarms, the rollout lock, cooldown, runs per hour, blast radius, dry run,
// approval) before anything changes; `execute` runs the runbooks that need code (the workflow
// runs scale-out through the scaling workflow and force-new-deployment through an SDK task, and
// `record` notes their result); `verify` watches the alarm until it is OK or the window ends;
// `finish` and `abort` release the lease, journal and alert. Every decision is explained in plain
// words, also "did nothing, because".

export * from './approval-gate.ts';
export * from './decide.ts';
export * from './remediate-deps.ts';
export * from './run-and-verify.ts';
