// The decisions of the blue-green-rollout workflow, one function per Lambda task. Each takes the
// workflow state and returns the next one; each is safe to repeat (the state machine retries
// throttled calls), and each leaves a journal record of what it decided and why.

export * from './forward-steps.ts';
export * from './rollback-steps.ts';
export * from './start-steps.ts';
export * from './step-deps.ts';
