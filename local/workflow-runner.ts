// Runs a synthesized Step Functions definition (JSONPath) locally with aws-local-stepfunctions:
// Lambda tasks call the in-process handlers, AWS SDK and optimized integrations make real SDK
// calls against the emulator, Wait states and Retry intervals are compressed to milliseconds
// while a virtual clock is moved by the time they stand for, and .waitForTaskToken tasks wait
// for sendTaskSuccess/sendTaskFailure from this process.
//
// Fidelity notes (why things are done the way they are):
// - aws-local-stepfunctions matches Retry/Catch on `error.name` and builds the catcher's
//   output as { Error: error.name, Cause: error.message }, so every error we raise into the
//   state machine carries the Step Functions error name as `name` and the cause as `message`.
// - Errors with `isRetryable`/`isCatchable` false (read by the library) fail the run outright:
//   we use that for harness problems (an unbound Lambda, a missing SDK package) so that a
//   `States.ALL` catcher cannot hide them; runWorkflow then throws instead of returning.
// - `$$.Task.Token` comes from a context object whose `Task.Token` is a getter: the library
//   evaluates Parameters and calls the task's override synchronously, so the token minted
//   while evaluating a task's Parameters is the one that task's override takes.
// - Overriding a Wait state skips the library's own evaluation of SecondsPath/TimestampPath,
//   so the intended duration is computed (workflow-execution.ts) from the StateEntered event, which is handled
//   (microtasks) before the compressed wait (a >= 1 ms timer) ends.

export * from './workflow-asl.ts';
export * from './workflow-errors.ts';
export * from './workflow-execution.ts';
export * from './workflow-integrations.ts';
export * from './workflow-sdk.ts';
export * from './workflow-tokens.ts';
export * from './workflow-types.ts';
