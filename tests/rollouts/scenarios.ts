// The blue/green rollout acceptance scenarios (issue 5), written once and run twice: on a clean
// emulator and behind the fault proxy with 20% of calls throttled. Every scenario runs the
// synthesized blue-green-rollout definition through the workflow runner, with load balancer
// metrics it writes into the emulator's CloudWatch, and asserts on the emulator's end state:
// listener weights (read with DescribeListeners), task sets, the lock, the record, the journal
// and the alerts raised. Scenarios run in order on one world; each leaves the service with one
// primary task set and the listener at 100% on it.

export * from './defaults-scenarios.ts';
export * from './gate-scenarios.ts';
export * from './hook-scenarios.ts';
export * from './operator-scenarios.ts';
export * from './rollback-scenarios.ts';
export * from './scenario-support.ts';
export * from './storm-scenarios.ts';
export * from './strategy-scenarios.ts';
