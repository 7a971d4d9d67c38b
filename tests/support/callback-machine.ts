// A one-state machine whose task waits for a callback (lambda:invoke.waitForTaskToken): the
// Lambda gets the token and returns; an answer, a timeout or a heartbeat ends the wait. Its errors
// are caught into $.caught, so a test reads the error name from the output.

export function callbackMachine(functionArn: string, limits: Record<string, unknown> = {}) {
  return {
    StartAt: 'Gate',
    States: {
      Gate: {
        Type: 'Task',
        Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
        Parameters: { FunctionName: functionArn, Payload: { 'token.$': '$$.Task.Token' } },
        ...limits,
        Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.caught', Next: 'Caught' }],
        End: true,
      },
      Caught: { Type: 'Pass', End: true },
    },
  };
}
