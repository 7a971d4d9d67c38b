// The names the deployed control plane publishes and its readers rely on: CloudFormation output
// keys (stable logical ids the ops CLI and the rig read) and the journal's index. Kept apart
// from the constructs, with no CDK import, so that a reader (every `ops` command) does not load
// the CDK to learn a name.

/** Spot interruption handling (infra/control-plane/spot/spot-interruption-handling.ts). */
export const SPOT_INTERRUPTION_OUTPUTS = {
  queueUrl: 'SpotInterruptionQueueUrl',
  queueDlqUrl: 'SpotInterruptionQueueDlqUrl',
  deliveryDlqUrl: 'SpotInterruptionDeliveryDlqUrl',
  surgeStateMachineArn: 'SpotSurgeStateMachineArn',
} as const;

/** Alerting (infra/control-plane/alerting/alerting.ts). */
export const ALERTING_OUTPUTS = {
  queueUrl: 'AlertQueueUrl',
  queueDlqUrl: 'AlertQueueDlqUrl',
  stateTable: 'AlertStateTableName',
} as const;

/** Rollouts (infra/control-plane/rollouts/rollouts.ts). */
export const ROLLOUT_OUTPUTS = {
  rolloutStateMachineArn: 'RolloutStateMachineArn',
} as const;

/** Release trains (infra/control-plane/trains/release-trains.ts). */
export const TRAIN_OUTPUTS = {
  trainStateMachineArn: 'ReleaseTrainStateMachineArn',
} as const;

/**
 * The lifecycle hook of ECS-controlled deployments (infra/control-plane/rollouts/deployment-hook.ts):
 * only where a managed service is deployed by ECS. A service's LifecycleHooks name both.
 */
export const DEPLOYMENT_HOOK_OUTPUTS = {
  functionArn: 'DeploymentHookFunctionArn',
  invokeRoleArn: 'DeploymentHookInvokeRoleArn',
  /** The services ECS deploys, `cluster/service`, comma-separated: `ops rollout --aws` updates these. */
  services: 'DeploymentHookServices',
} as const;

/** Scaling (infra/control-plane/scaling/scaling.ts). */
export const SCALING_OUTPUTS = {
  scaleStateMachineArn: 'ScaleServiceStateMachineArn',
  scaleAlarmQueueUrl: 'ScaleAlarmQueueUrl',
  scaleAlarmQueueDlqUrl: 'ScaleAlarmQueueDlqUrl',
  scaleAlarmDeliveryDlqUrl: 'ScaleAlarmDeliveryDlqUrl',
} as const;

/** Remediation (infra/control-plane/remediation/remediation.ts). */
export const REMEDIATION_OUTPUTS = {
  remediationStateMachineArn: 'RemediationStateMachineArn',
  remediationQueueUrl: 'RemediationQueueUrl',
  remediationQueueDlqUrl: 'RemediationQueueDlqUrl',
  remediationDeliveryDlqUrl: 'RemediationDeliveryDlqUrl',
} as const;

/** Output keys (logical ids), shared with the ops CLI. */
export const CONTROL_PLANE_OUTPUTS = {
  ...SPOT_INTERRUPTION_OUTPUTS,
  ...ALERTING_OUTPUTS,
  ...ROLLOUT_OUTPUTS,
  ...TRAIN_OUTPUTS,
  ...SCALING_OUTPUTS,
  ...REMEDIATION_OUTPUTS,
  journalTable: 'JournalTableName',
  /** The freeze windows (JSON), for `ops status`. */
  freezeWindows: 'FreezeWindows',
  /** The services' SLOs and burn-rate rules (JSON), for `ops slo`. */
  serviceSlos: 'ServiceSlos',
  locksTable: 'LocksTableName',
  operationsTable: 'OperationsTableName',
  criticalTopic: 'AlertTopicCriticalArn',
  warningTopic: 'AlertTopicWarningArn',
  infoTopic: 'AlertTopicInfoArn',
} as const;

/** Journal index for "what happened today": partition `day` (YYYY-MM-DD), sort `at` (ISO time). */
export const JOURNAL_BY_DAY_INDEX = 'byDay';
