// The application's own database user: it signs in with IAM database authentication (a token
// from its task role, valid 15 minutes), so nothing it holds expires when RDS rotates the master
// password, and it may only read and write the application's schema. Created at deploy time
// through the RDS Data API with the master secret, which only this deploy-time call reads.
import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as rds from 'aws-cdk-lib/aws-rds';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';

/** The application's schema and user. */
export const APP_DATABASE = 'app';
export const APP_DATABASE_USER = 'app_user';

/**
 * One statement per call (the Data API runs one at a time), each safe to run again: a stack
 * update re-runs them all and changes nothing that is already in place.
 */
export const APP_USER_STATEMENTS = [
  `CREATE DATABASE IF NOT EXISTS \`${APP_DATABASE}\``,
  `CREATE USER IF NOT EXISTS '${APP_DATABASE_USER}'@'%' IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS' REQUIRE SSL`,
  // Rows only: schema changes are migrations, run as the administrator.
  `GRANT SELECT, INSERT, UPDATE, DELETE ON \`${APP_DATABASE}\`.* TO '${APP_DATABASE_USER}'@'%'`,
] as const;

export interface DatabaseAppUserProps {
  readonly cluster: rds.DatabaseCluster;
  /** The RDS-managed master secret, and the key it is encrypted with. */
  readonly masterSecretArn: string;
  readonly encryptionKey: kms.IKey;
  /** The stack's deploy-time call log group (one per stack, see infra/shared/cdk-internals.ts). */
  readonly logGroup: logs.ILogGroup;
}

export class DatabaseAppUser extends Construct {
  constructor(scope: Construct, id: string, props: DatabaseAppUserProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const clusterArn = props.cluster.clusterArn;
    // The Data API reads the secret with the caller's credentials, so the caller needs it and its key.
    const policy = cr.AwsCustomResourcePolicy.fromStatements([
      new iam.PolicyStatement({ actions: ['rds-data:ExecuteStatement'], resources: [clusterArn] }),
      new iam.PolicyStatement({
        actions: ['secretsmanager:GetSecretValue'],
        resources: [props.masterSecretArn],
      }),
      new iam.PolicyStatement({
        actions: ['kms:Decrypt'],
        resources: [props.encryptionKey.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${stack.region}.amazonaws.com` } },
      }),
    ]);
    let previous: Construct = props.cluster;
    APP_USER_STATEMENTS.forEach((sql, i) => {
      const call: cr.AwsSdkCall = {
        service: '@aws-sdk/client-rds-data',
        action: 'ExecuteStatement',
        parameters: { resourceArn: clusterArn, secretArn: props.masterSecretArn, sql },
        physicalResourceId: cr.PhysicalResourceId.of(`${APP_DATABASE_USER}-${i + 1}`),
      };
      const statement = new cr.AwsCustomResource(this, `Statement${i + 1}`, {
        resourceType: 'Custom::DatabaseAppUser',
        onCreate: call,
        onUpdate: call,
        // Nothing on delete: the cluster keeps its users until it is deleted (with a final snapshot).
        policy,
        installLatestAwsSdk: false,
        logGroup: props.logGroup,
      });
      // After the cluster and its instances are available, and in order.
      statement.node.addDependency(previous);
      previous = statement;
    });
  }
}
