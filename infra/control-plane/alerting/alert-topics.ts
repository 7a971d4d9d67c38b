// One SNS topic per alert severity, encrypted with a customer-managed key that the AWS
// services which publish alerts or deliver events (SNS, EventBridge, CloudWatch alarms)
// may use: with the AWS-managed aws/sns key they could not.
import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import type { AlertTopicsEnv } from '../../../functions/alert-router/config.ts';

/** Services that encrypt or decrypt with the key on our behalf. */
const KEY_USER_SERVICES = ['sns.amazonaws.com', 'events.amazonaws.com', 'cloudwatch.amazonaws.com'];
/** Services that publish to the topics directly (alarm actions, rule targets). */
const PUBLISHER_SERVICES = ['events.amazonaws.com', 'cloudwatch.amazonaws.com'];

export interface AlertTopicsProps {
  /** Shown in the topics' display names, e.g. "ecs-ops prod critical". */
  readonly environmentName: string;
}

export class AlertTopics extends Construct {
  /** Also encrypts the control plane's queues, so EventBridge can deliver into them. */
  readonly key: kms.Key;
  readonly critical: sns.Topic;
  readonly warning: sns.Topic;
  readonly info: sns.Topic;

  constructor(scope: Construct, id: string, props: AlertTopicsProps) {
    super(scope, id);
    const account = Stack.of(this).account;

    this.key = new kms.Key(this, 'Key', {
      description: `ecs-ops ${props.environmentName}: alert topics and control-plane queues`,
      enableKeyRotation: true,
    });
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowAwsServicesToUseTheKeyForThisAccount',
        principals: KEY_USER_SERVICES.map((service) => new iam.ServicePrincipal(service)),
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: ['*'],
        // Only on behalf of resources in this account (confused-deputy guard).
        conditions: { StringEquals: { 'aws:SourceAccount': account } },
      }),
    );

    const topic = (topicId: string, severity: string): sns.Topic => {
      const created = new sns.Topic(this, topicId, {
        displayName: `ecs-ops ${props.environmentName} ${severity}`,
        masterKey: this.key,
        enforceSSL: true,
      });
      created.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'AllowAlarmsAndRulesOfThisAccount',
          principals: PUBLISHER_SERVICES.map((service) => new iam.ServicePrincipal(service)),
          actions: ['sns:Publish'],
          resources: [created.topicArn],
          conditions: { StringEquals: { 'aws:SourceAccount': account } },
        }),
      );
      return created;
    };
    this.critical = topic('Critical', 'critical');
    this.warning = topic('Warning', 'warning');
    this.info = topic('Info', 'info');
  }

  /** sns:Publish on all three topics plus use of their key. */
  grantPublish(grantee: iam.IGrantable): void {
    for (const t of [this.critical, this.warning, this.info]) t.grantPublish(grantee);
  }

  /** The topic-ARN keys of the alert router's environment (only the router publishes). */
  environment(): AlertTopicsEnv {
    return {
      ALERT_TOPIC_CRITICAL: this.critical.topicArn,
      ALERT_TOPIC_WARNING: this.warning.topicArn,
      ALERT_TOPIC_INFO: this.info.topicArn,
    };
  }
}
