// Answers to waiting tasks from functions that run in this process (a remediation rolling back a
// rollout answers the rollout's gate): on AWS they go through SendTaskSuccess, here straight to
// the local runner's registry.
import type { TaskCallbacks } from '../functions/rollout-step/operator.ts';
import { pendingTaskTokens, sendTaskSuccess } from './workflow-runner.ts';

export const localTaskCallbacks: TaskCallbacks = {
  async success(token, output) {
    // Another process's run: the answer is on the rollout's record, which that process relays.
    if (!pendingTaskTokens().some((t) => t.token === token)) return;
    sendTaskSuccess(token, output);
  },
};
