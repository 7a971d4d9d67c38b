// AWS Backup for the data that cannot be rebuilt: the Aurora cluster and the application table,
// daily for five weeks and monthly for a year, in a vault encrypted with the data key and kept
// when the stack goes. Aurora's own automated backups and the table's point-in-time recovery
// cover the recent past; this plan covers the months after, and survives a deleted database.
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as backup from 'aws-cdk-lib/aws-backup';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as rds from 'aws-cdk-lib/aws-rds';
import { Construct } from 'constructs';

export interface DataBackupsProps {
  /** ecs-ops-<env>: names the vault and the plan. */
  readonly namePrefix: string;
  readonly encryptionKey: kms.IKey;
  readonly database: rds.IDatabaseCluster;
  readonly table: dynamodb.ITable;
}

export class DataBackups extends Construct {
  readonly vault: backup.BackupVault;
  readonly plan: backup.BackupPlan;

  constructor(scope: Construct, id: string, props: DataBackupsProps) {
    super(scope, id);
    this.vault = new backup.BackupVault(this, 'Vault', {
      backupVaultName: `${props.namePrefix}-backups`,
      encryptionKey: props.encryptionKey,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.plan = new backup.BackupPlan(this, 'Plan', {
      backupPlanName: `${props.namePrefix}-data`,
      backupVault: this.vault,
      backupPlanRules: [
        new backup.BackupPlanRule({
          ruleName: 'daily',
          scheduleExpression: events.Schedule.cron({ hour: '3', minute: '30' }),
          deleteAfter: Duration.days(35),
        }),
        new backup.BackupPlanRule({
          ruleName: 'monthly',
          scheduleExpression: events.Schedule.cron({ day: '1', hour: '4', minute: '30' }),
          deleteAfter: Duration.days(365),
        }),
      ],
    });
    const selection = this.plan.addSelection('Data', {
      resources: [
        backup.BackupResource.fromRdsDatabaseCluster(props.database),
        backup.BackupResource.fromDynamoDbTable(props.table),
      ],
    });
    Validations.of(selection).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup]',
      reason:
        'The AWS-maintained policy the Backup service role needs to snapshot the resource types it protects.',
    });
  }
}
