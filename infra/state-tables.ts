// The control plane's own state: leases (locks), the action journal (audit) and
// idempotency records. Retained on stack deletion: the journal is evidence.
import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import type { ControlPlaneEnv } from '../functions/shared/env.ts';

/** Every record carries its expiry as epoch seconds here; DynamoDB deletes it afterwards. */
export const TTL_ATTRIBUTE = 'expiresAt';
/** Journal index for "what happened today": partition `day` (YYYY-MM-DD), sort `at` (ISO time). */
export const JOURNAL_BY_DAY_INDEX = 'byDay';

export type StateTablesEnv = Pick<ControlPlaneEnv, 'JOURNAL_TABLE' | 'LOCKS_TABLE' | 'IDEMPOTENCY_TABLE'>;

export class StateTables extends Construct {
  readonly locks: dynamodb.Table;
  readonly journal: dynamodb.Table;
  readonly idempotency: dynamodb.Table;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    const S = dynamodb.AttributeType.STRING;

    this.locks = this.table('Locks', { name: 'resource', type: S });

    this.journal = this.table('Journal', { name: 'resource', type: S }, { name: 'at', type: S });
    this.journal.addGlobalSecondaryIndex({
      indexName: JOURNAL_BY_DAY_INDEX,
      partitionKey: { name: 'day', type: S },
      sortKey: { name: 'at', type: S },
      projectionType: dynamodb.ProjectionType.ALL,
    });

    this.idempotency = this.table('Idempotency', { name: 'id', type: S });
  }

  private table(id: string, partitionKey: dynamodb.Attribute, sortKey?: dynamodb.Attribute): dynamodb.Table {
    return new dynamodb.Table(this, id, {
      partitionKey,
      ...(sortKey ? { sortKey } : {}),
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: TTL_ATTRIBUTE,
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }

  /** Read and write on all three tables (and the journal's index). */
  grantReadWrite(grantee: iam.IGrantable): void {
    for (const table of [this.locks, this.journal, this.idempotency]) table.grantReadWriteData(grantee);
  }

  /** The table-name keys of ControlPlaneEnvSchema. */
  environment(): StateTablesEnv {
    return {
      JOURNAL_TABLE: this.journal.tableName,
      LOCKS_TABLE: this.locks.tableName,
      IDEMPOTENCY_TABLE: this.idempotency.tableName,
    };
  }
}
