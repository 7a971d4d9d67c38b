// Answers to a task that waits for a callback (a gate, a rollback window): Step Functions'
// SendTaskSuccess, the one way a waiting task is resumed on AWS and on the rig alike.
import { SendTaskSuccessCommand, type SFNClient } from '@aws-sdk/client-sfn';

export interface TaskCallbacks {
  /** Resumes the task waiting on `token` with `output`. */
  success(token: string, output: object): Promise<void>;
}

/**
 * Callbacks through `sfn`. Every answer is claimed on its record before it is sent, and the
 * gate's closing step reads the claim: so TaskTimedOut (the task has already closed, because an
 * earlier attempt whose response was lost delivered it, or because it timed out) loses nothing.
 */
export function stepFunctionsCallbacks(sfn: SFNClient): TaskCallbacks {
  return {
    async success(token, output) {
      try {
        await sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: JSON.stringify(output) }));
      } catch (error) {
        if (error instanceof Error && error.name === 'TaskTimedOut') return;
        throw error;
      }
    },
  };
}
