// A game day for spot: an AWS FIS experiment template that sends spot interruptions to a share of
// the spot group's running instances, as EC2 would (a rebalance recommendation at once, the
// two-minute warning, then the interruption), and stops the experiment as soon as one of the
// services' critical alarms fires. `ops gameday spot --aws` starts it and reports on it.
import { ArnFormat, Stack, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as fis from 'aws-cdk-lib/aws-fis';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { acknowledgeWildcardResources } from '../shared/nag-findings.ts';

/** The tag Auto Scaling puts on every instance it launches: how FIS finds the spot group's. */
export const GROUP_NAME_TAG = 'aws:autoscaling:groupName';

/** The template's only action and target, by the names `ops gameday spot` reads them back. */
export const GAME_DAY_ACTION = 'interrupt-spot-instances';
export const GAME_DAY_TARGET = 'SpotInstances';

/** Stop conditions an experiment template takes (an FIS quota that cannot be raised). */
export const MAX_STOP_CONDITIONS = 5;

/** PT2M: the warning comes at once, with the rebalance recommendation, as when EC2 reclaims. */
export const DURATION_BEFORE_INTERRUPTION = 'PT2M';

export interface SpotGameDayProps {
  /** ecs-ops-<env>: prefix of the stop alarm's name and of the template's Name tag. */
  readonly namePrefix: string;
  readonly spotGroupName: string;
  /** Share of the group's running instances; a whole percent. */
  readonly fraction: number;
  /** Any of them in ALARM stops the experiment. */
  readonly stopAlarms: readonly cloudwatch.IAlarm[];
}

export class SpotGameDay extends Construct {
  readonly template: fis.CfnExperimentTemplate;
  /** What stops the experiment: the alarms themselves, or one composite of them past five. */
  readonly stopAlarms: readonly cloudwatch.IAlarm[];
  readonly role: iam.Role;
  /** For whoever runs game days (`ops gameday spot --aws`), with the operator policy: this template only. */
  readonly runnerPolicy: iam.ManagedPolicy;

  constructor(scope: Construct, id: string, props: SpotGameDayProps) {
    super(scope, id);
    const stack = Stack.of(this);
    if (props.stopAlarms.length === 0) throw new Error('a game day needs at least one alarm to stop it');
    // FIS takes five stop conditions at most: more alarms than that are combined into one.
    this.stopAlarms =
      props.stopAlarms.length <= MAX_STOP_CONDITIONS
        ? [...props.stopAlarms]
        : [
            new cloudwatch.CompositeAlarm(this, 'StopAlarm', {
              compositeAlarmName: `${props.namePrefix}-spot-game-day-stop`,
              alarmDescription:
                '[critical] A service alarm fired during a spot game day: the FIS experiment stops (the alarms themselves page)',
              alarmRule: cloudwatch.AlarmRule.anyOf(
                ...props.stopAlarms.map((a) =>
                  cloudwatch.AlarmRule.fromAlarm(a, cloudwatch.AlarmState.ALARM),
                ),
              ),
            }),
          ];

    this.role = new iam.Role(this, 'Role', {
      description: `AWS FIS: spot interruptions to ${props.spotGroupName} on a game day`,
      assumedBy: new iam.ServicePrincipal('fis.amazonaws.com', {
        conditions: {
          StringEquals: { 'aws:SourceAccount': stack.account },
          ArnLike: {
            'aws:SourceArn': stack.formatArn({
              service: 'fis',
              resource: 'experiment',
              resourceName: '*',
              arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
            }),
          },
        },
      }),
    });
    // Only the spot group's instances can be interrupted, whatever the template is edited to target.
    const instances = stack.formatArn({
      service: 'ec2',
      resource: 'instance',
      resourceName: '*',
      arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
    });
    this.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['ec2:SendSpotInstanceInterruptions'],
        resources: [instances],
        conditions: { StringEquals: { [`aws:ResourceTag/${GROUP_NAME_TAG}`]: props.spotGroupName } },
      }),
    );
    acknowledgeWildcardResources(
      this.role,
      [instances],
      `Auto Scaling names the spot instances at launch: the grant is scoped to those tagged ${GROUP_NAME_TAG}=${props.spotGroupName} instead.`,
    );
    // FIS resolves the target's tags and filters with DescribeInstances, which has no resource scope.
    this.role.addToPolicy(new iam.PolicyStatement({ actions: ['ec2:DescribeInstances'], resources: ['*'] }));
    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'ec2:DescribeInstances supports no resource-level permissions; FIS resolves the target with it.',
    });

    const percent = Math.round(props.fraction * 100);
    this.template = new fis.CfnExperimentTemplate(this, 'Template', {
      description: `Spot game day: interrupt ${percent}% of ${props.spotGroupName}'s running instances (two-minute warning)`,
      roleArn: this.role.roleArn,
      targets: {
        [GAME_DAY_TARGET]: {
          resourceType: 'aws:ec2:spot-instance',
          resourceTags: { [GROUP_NAME_TAG]: props.spotGroupName },
          filters: [{ path: 'State.Name', values: ['running'] }],
          selectionMode: `PERCENT(${percent})`,
        },
      },
      actions: {
        [GAME_DAY_ACTION]: {
          actionId: 'aws:ec2:send-spot-instance-interruptions',
          description:
            'A rebalance recommendation and the two-minute interruption warning, then the interruption',
          parameters: { durationBeforeInterruption: DURATION_BEFORE_INTERRUPTION },
          targets: { SpotInstances: GAME_DAY_TARGET },
        },
      },
      stopConditions: this.stopAlarms.map((a) => ({ source: 'aws:cloudwatch:alarm', value: a.alarmArn })),
      // Required, and replaced when changed: the name the console lists it by.
      tags: { Name: `${props.namePrefix}-spot-game-day` },
    });

    const fisArn = (resource: string, resourceName: string) =>
      stack.formatArn({ service: 'fis', resource, resourceName, arnFormat: ArnFormat.SLASH_RESOURCE_NAME });
    const templateArn = fisArn('experiment-template', this.template.attrId);
    // Experiment ids are FIS's to choose: any experiment, which only this template can start here.
    const experiments = fisArn('experiment', '*');
    this.runnerPolicy = new iam.ManagedPolicy(this, 'RunnerPolicy', {
      managedPolicyName: `${props.namePrefix}-spot-game-day`,
      description: `Run the spot game day of ${props.spotGroupName} (ops gameday spot --aws); attach with the operator policy`,
      statements: [
        new iam.PolicyStatement({
          sid: 'ReadTheTemplate',
          actions: ['fis:GetExperimentTemplate'],
          resources: [templateArn],
        }),
        new iam.PolicyStatement({
          sid: 'StartIt',
          actions: ['fis:StartExperiment'],
          resources: [templateArn, experiments],
        }),
        // An account's first experiment creates FIS's service-linked role, as its caller.
        new iam.PolicyStatement({
          sid: 'FirstExperimentInTheAccount',
          actions: ['iam:CreateServiceLinkedRole'],
          resources: ['*'],
          conditions: { StringEquals: { 'iam:AWSServiceName': 'fis.amazonaws.com' } },
        }),
        new iam.PolicyStatement({
          sid: 'FollowIt',
          actions: ['fis:GetExperiment', 'fis:ListExperimentResolvedTargets'],
          resources: [experiments],
        }),
      ],
    });
    acknowledgeWildcardResources(
      this.runnerPolicy,
      [experiments],
      'An experiment id is chosen by FIS when it starts; StartExperiment is allowed from this template only.',
    );
    Validations.of(this.runnerPolicy).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        "iam:CreateServiceLinkedRole names its role only through the iam:AWSServiceName condition: FIS's, and no other.",
    });
  }
}
