// The deployed workflows by name, without loading the runner (the CLI's help lists them).
export const WORKFLOW_NAMES = [
  'spot-surge',
  'blue-green-rollout',
  'release-train',
  'scale-service',
  'remediate-alarm',
] as const;
export type WorkflowName = (typeof WORKFLOW_NAMES)[number];
