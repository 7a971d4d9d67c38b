// The control plane: its state, its alert topics and the capabilities that operate the
// web application's ECS stack. The stack only composes constructs; outputs are what the
// ops CLI reads to find them.
import { CfnOutput, type Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { RemediationConfig } from '../../functions/remediate-step/config.ts';
import { alarmMappingsOf, type ScaledService } from '../../functions/scale-service-step/scaling-config.ts';
import type { FreezeWindow } from '../../functions/shared/freeze-windows.ts';
import type { ManagedCluster } from '../../functions/shared/managed-clusters.ts';
import { type ManagedService, managedServicesEnv } from '../../functions/shared/rollouts/config.ts';
import type { SloConfig } from '../../functions/shared/slo/objectives.ts';
import { loadFreezeWindows, loadSloConfig } from '../capability-configs.ts';
import { ConfigError } from '../config.ts';
import { AlertTopics } from '../control-plane/alerting/alert-topics.ts';
import { Alerting } from '../control-plane/alerting/alerting.ts';
import { ChatAnswers, type ChatChannel } from '../control-plane/alerting/chat-answers.ts';
import { EventAlerts } from '../control-plane/alerting/event-alerts.ts';
import { OutcomeDashboard } from '../control-plane/observability/outcome-dashboard.ts';
import { loadRemediationConfig, Remediation } from '../control-plane/remediation/remediation.ts';
import {
  DEFAULT_ROLLOUT_SERVICES,
  Rollouts,
  withRolloutDefaults,
} from '../control-plane/rollouts/rollouts.ts';
import { loadScalingConfig, Scaling } from '../control-plane/scaling/scaling.ts';
import { StateTables } from '../control-plane/shared/state-tables.ts';
import { SpotInterruptionHandling } from '../control-plane/spot/spot-interruption-handling.ts';
import { ReleaseTrains } from '../control-plane/trains/release-trains.ts';
import { CONTROL_PLANE_OUTPUTS } from '../shared/stack-outputs.ts';

export interface ControlPlaneStackProps extends StackProps {
  readonly managedClusters: readonly ManagedCluster[];
  /** dev, staging, prod: in the stack name, alerts and OPS_ENVIRONMENT. */
  readonly environmentName: string;
  /** Override of dist/functions for the function bundles (tests build into a temp dir). */
  readonly assetRoot?: string;
  /** Alerts of one group inside this window become one message (default 30 s). */
  readonly alertGroupWindow?: Duration;
  /** Services the rollout workflow may roll out (default DEFAULT_ROLLOUT_SERVICES). */
  readonly rolloutServices?: readonly ManagedService[];
  /** The task roles rollouts may pass (`path/name`); default: this environment's role path. */
  readonly passableRoles?: readonly string[];
  /** Scaled services and their guardrails (default: config/scaling/<environmentName>.json; none, no scaling). */
  readonly scaledServices?: readonly ScaledService[];
  /** The runbook registry (default: config/remediation/<environmentName>.json; none, no remediation). */
  readonly remediation?: RemediationConfig;
  /** How long every log group of the control plane keeps its logs (the environment's config). */
  readonly logRetention?: logs.RetentionDays;
  /** Freeze windows (default: config/freezes/<environmentName>.json; none, no freeze). */
  readonly freezeWindows?: readonly FreezeWindow[];
  /** Services' SLOs (default: config/slos/<environmentName>.json; none, no error-budget gate). */
  readonly slos?: SloConfig;
  /** A Slack channel the stack configures for Amazon Q Developer, with the answer buttons. */
  readonly chat?: ChatChannel;
}

export class ControlPlaneStack extends Stack {
  readonly tables: StateTables;
  readonly topics: AlertTopics;
  readonly alerting: Alerting;
  /** ECS, AWS Health and Auto Scaling events, and the alarms on the control plane, as alerts. */
  readonly eventAlerts: EventAlerts;
  /** The outcome metrics the functions publish, one graph per capability. */
  readonly outcomeDashboard: OutcomeDashboard;
  readonly spotInterruption: SpotInterruptionHandling;
  readonly rollouts: Rollouts;
  readonly trains: ReleaseTrains;
  /** The chat buttons (approve, reject, roll back) and the function they invoke. */
  readonly chatAnswers: ChatAnswers;
  /** Absent when the environment scales no service. */
  readonly scaling?: Scaling;
  /** Absent when the environment has no runbook registry. */
  readonly remediation?: Remediation;
  /** What the capabilities act on: the rolled-out and scaled services, the runbooks. */
  readonly rolloutServices: readonly ManagedService[];
  readonly scaledServices: readonly ScaledService[];
  readonly runbooks: RemediationConfig['runbooks'];

  constructor(scope: Construct, id: string, props: ControlPlaneStackProps) {
    super(scope, id, {
      description: `ecs-ops control plane (${props.environmentName})`,
      ...props,
    });
    this.tables = new StateTables(this, 'State');
    this.topics = new AlertTopics(this, 'Alerts', { environmentName: props.environmentName });
    this.alerting = new Alerting(this, 'Alerting', {
      topics: this.topics,
      tables: this.tables,
      environmentName: props.environmentName,
      ...(props.alertGroupWindow ? { groupWindow: props.alertGroupWindow } : {}),
      assetRoot: props.assetRoot,
    });
    this.eventAlerts = new EventAlerts(this, 'EventAlerts', {
      managedClusters: props.managedClusters,
      topics: this.topics,
      alerting: this.alerting,
      environmentName: props.environmentName,
      assetRoot: props.assetRoot,
    });
    this.outcomeDashboard = new OutcomeDashboard(this, 'Outcomes', {
      dashboardName: `ecs-ops-${props.environmentName}-control-plane`,
      environmentName: props.environmentName,
    });
    this.spotInterruption = new SpotInterruptionHandling(this, 'SpotInterruption', {
      managedClusters: props.managedClusters,
      tables: this.tables,
      topics: this.topics,
      alerting: this.alerting,
      environmentName: props.environmentName,
      assetRoot: props.assetRoot,
    });
    const freezeWindows = props.freezeWindows ?? loadFreezeWindows(props.environmentName);
    const slos = props.slos ?? loadSloConfig(props.environmentName);
    const rolloutServices = withRolloutDefaults(
      props.environmentName,
      props.rolloutServices ?? DEFAULT_ROLLOUT_SERVICES,
    );
    this.rollouts = new Rollouts(this, 'Rollouts', {
      managedServices: rolloutServices,
      ...(props.passableRoles ? { passableRoles: props.passableRoles } : {}),
      tables: this.tables,
      alerting: this.alerting,
      environmentName: props.environmentName,
      freezeWindows,
      slos,
      assetRoot: props.assetRoot,
    });
    this.chatAnswers = new ChatAnswers(this, 'ChatAnswers', {
      namePrefix: `ecs-ops-${props.environmentName}`,
      environmentName: props.environmentName,
      tables: this.tables,
      topics: this.topics,
      routeArns: this.rollouts.routeArns,
      ...(props.chat ? { chat: props.chat } : {}),
      assetRoot: props.assetRoot,
    });
    this.trains = new ReleaseTrains(this, 'Trains', {
      rollouts: this.rollouts,
      managedServices: managedServicesEnv(rolloutServices),
      tables: this.tables,
      alerting: this.alerting,
      environmentName: props.environmentName,
      freezeWindows,
      slos,
      assetRoot: props.assetRoot,
    });

    // An SLO judges a rolled-out service's load balancer metrics: only those have them here.
    slos.services.forEach((slo, i) => {
      if (!rolloutServices.some((s) => s.cluster === slo.cluster && s.service === slo.service))
        throw new ConfigError(`config/slos/${props.environmentName}.json`, [
          {
            key: `services.${i}.service`,
            message: `${slo.cluster}/${slo.service} is not a service this environment rolls out (${rolloutServices.map((s) => `${s.cluster}/${s.service}`).join(', ')})`,
          },
        ]);
    });
    this.rolloutServices = rolloutServices;
    const scaledServices = props.scaledServices ?? loadScalingConfig(props.environmentName) ?? [];
    this.scaledServices = scaledServices;
    if (scaledServices.length > 0) {
      this.scaling = new Scaling(this, 'Scaling', {
        services: scaledServices,
        managedClusters: props.managedClusters,
        tables: this.tables,
        topics: this.topics,
        alerting: this.alerting,
        environmentName: props.environmentName,
        freezeWindows,
        assetRoot: props.assetRoot,
      });
    }

    const remediation = props.remediation ?? loadRemediationConfig(props.environmentName);
    this.runbooks = remediation?.runbooks ?? [];
    if (remediation) {
      this.remediation = new Remediation(this, 'Remediation', {
        config: remediation,
        managedClusters: props.managedClusters,
        // Remediation names services only; the rollout defaults stay with the rollout functions.
        rolloutServices: rolloutServices.map(({ defaults: _defaults, ...service }) => service),
        ...(this.scaling ? { scaleStateMachine: this.scaling.workflow.stateMachine } : {}),
        scaleAlarmNames: alarmMappingsOf(scaledServices).map((m) => m.alarmName),
        tables: this.tables,
        topics: this.topics,
        alerting: this.alerting,
        environmentName: props.environmentName,
        assetRoot: props.assetRoot,
      });
    }

    const O = CONTROL_PLANE_OUTPUTS;
    // The spot and alerting capabilities write their own outputs (queues, DLQs, state machine, table).
    const output = (id: string, value: string, description: string) =>
      new CfnOutput(this, id, { value, description });
    output(O.journalTable, this.tables.journal.tableName, 'Action journal (audit) table');
    output(O.locksTable, this.tables.locks.tableName, 'Resource lease (lock) table');
    output(
      O.operationsTable,
      this.tables.operations.tableName,
      'Operations table: spot episodes, rollout records and gates, remediation and scaling runs',
    );
    output(O.criticalTopic, this.topics.critical.topicArn, 'Critical alerts');
    output(O.warningTopic, this.topics.warning.topicArn, 'Warning alerts');
    output(O.infoTopic, this.topics.info.topicArn, 'Informational alerts');
    // CloudFormation takes output values of at most 4,096 characters.
    const windows = JSON.stringify(freezeWindows);
    if (windows.length > 4096)
      throw new Error(
        `config/freezes/${props.environmentName}.json: the windows take ${windows.length} characters as JSON; at most 4096 fit a stack output`,
      );
    output(O.freezeWindows, windows, 'Freeze windows (config/freezes/<env>.json), for ops status');
    const objectives = JSON.stringify(slos);
    if (objectives.length > 4096)
      throw new Error(
        `config/slos/${props.environmentName}.json: the SLOs take ${objectives.length} characters as JSON; at most 4096 fit a stack output`,
      );
    output(
      O.serviceSlos,
      objectives,
      'Service SLOs and burn-rate rules (config/slos/<env>.json), for ops slo',
    );
    // One retention for the whole control plane, the environment's: each construct's own default
    // (90 days, a year for rollouts) applies only where no environment config says otherwise.
    const retention = props.logRetention;
    if (retention !== undefined)
      for (const group of this.node.findAll().filter((c) => c instanceof logs.LogGroup))
        (group.node.defaultChild as logs.CfnLogGroup).retentionInDays = retention;
  }
}
