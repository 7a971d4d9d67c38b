// EventBridge event patterns, defined once: the CDK rules, the local emulator's rules
// (ops seed) and the tests all import these objects.

import { asgLaunchUnsuccessfulPattern } from './operator-events.ts';

export type EventPattern = Record<string, unknown>;

export const SPOT_WARNING_DETAIL_TYPE = 'EC2 Spot Instance Interruption Warning';
export const REBALANCE_DETAIL_TYPE = 'EC2 Instance Rebalance Recommendation';
export const ECS_TASK_STATE_CHANGE_DETAIL_TYPE = 'ECS Task State Change';

export const FIS_STATE_CHANGE_DETAIL_TYPE = 'FIS Experiment State Change';

/** The FIS experiment states that open (running) and close a game day; the others pass unseen. */
export const FIS_BRACKET_STATUSES = ['running', 'completed', 'stopped', 'failed'] as const;

/** Older documentation shows `TerminationNotice`; current events say `SpotInterruption`. Match both. */
export const FARGATE_SPOT_STOP_CODES = ['SpotInterruption', 'TerminationNotice'] as const;

export const spotInterruptionWarningPattern: EventPattern = {
  source: ['aws.ec2'],
  'detail-type': [SPOT_WARNING_DETAIL_TYPE],
};

export const rebalanceRecommendationPattern: EventPattern = {
  source: ['aws.ec2'],
  'detail-type': [REBALANCE_DETAIL_TYPE],
};

/** Fargate Spot reclaims, optionally scoped to the managed clusters' ARNs. */
export function fargateSpotInterruptionPattern(clusterArns?: readonly string[]): EventPattern {
  return {
    source: ['aws.ecs'],
    'detail-type': [ECS_TASK_STATE_CHANGE_DETAIL_TYPE],
    detail: {
      stopCode: [...FARGATE_SPOT_STOP_CODES],
      ...(clusterArns && clusterArns.length > 0 ? { clusterArn: [...clusterArns] } : {}),
    },
  };
}

/**
 * FIS experiments starting and ending: the interruptions in between are a game day's, and the
 * people who get the spot alerts hear that first. EC2's own events for them are the usual ones.
 */
export const fisExperimentStatePattern: EventPattern = {
  source: ['aws.fis'],
  'detail-type': [FIS_STATE_CHANGE_DETAIL_TYPE],
  detail: { 'new-state': { status: [...FIS_BRACKET_STATUSES] } },
};

/**
 * Every pattern that feeds the spot-interruption queue, by rule id: the interruption signals, FIS
 * experiments starting and ending (game days), and the managed groups' launch failures, which it
 * remembers to steer replacements elsewhere.
 */
export function spotInterruptionPatterns(
  clusterArns?: readonly string[],
  autoScalingGroups: readonly string[] = [],
): Record<string, EventPattern> {
  return {
    SpotInterruptionWarning: spotInterruptionWarningPattern,
    RebalanceRecommendation: rebalanceRecommendationPattern,
    FargateSpotInterruption: fargateSpotInterruptionPattern(clusterArns),
    GameDayExperimentState: fisExperimentStatePattern,
    ...(autoScalingGroups.length > 0
      ? { CapacityLaunchFailure: asgLaunchUnsuccessfulPattern(autoScalingGroups) }
      : {}),
  };
}
