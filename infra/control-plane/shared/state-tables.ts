// The control plane's own state: leases (locks), the action journal (audit) and the
// operations table (one record per operation). Retained on stack deletion: the journal is evidence.
import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import type { ControlPlaneEnv } from '../../../functions/shared/env.ts';
import { JOURNAL_BY_DAY_INDEX } from '../../shared/stack-outputs.ts';

/** Every record carries its expiry as epoch seconds here; DynamoDB deletes it afterwards. */
export const TTL_ATTRIBUTE = 'expiresAt';

/** A DynamoDB item action the control plane's code takes. */
export type ItemAction =
  | 'GetItem'
  | 'BatchGetItem'
  | 'PutItem'
  | 'UpdateItem'
  | 'DeleteItem'
  | 'BatchWriteItem'
  | 'Scan';

/** Which item actions code takes on each state table. */
export interface StateTableAccess {
  locks?: readonly ItemAction[];
  journal?: readonly ItemAction[];
  operations?: readonly ItemAction[];
}

/** What the shared modules take, for composing a function's grant with its own modules' needs. */
export const SHARED_TABLE_ACCESS = {
  /** functions/shared/journal.ts: records are written in batches. */
  journal: { journal: ['BatchWriteItem'] },
  /** functions/shared/lock.ts (and service-lock.ts's acquire and release): conditional put and delete. */
  leases: { locks: ['PutItem', 'DeleteItem'] },
  /** functions/shared/service-lock.ts serviceLockHolder: who holds a service. */
  leaseHolders: { locks: ['GetItem'] },
  /** functions/shared/named-executions.ts: the claim on an execution name. */
  namedExecutions: { operations: ['PutItem'] },
} as const satisfies Record<string, StateTableAccess>;

/** These item actions on the table itself (none on its indexes): every table grant goes through here. */
export function grantItemActions(
  grantee: iam.IGrantable,
  table: dynamodb.ITable,
  actions: readonly ItemAction[],
): void {
  iam.Grant.addToPrincipal({
    grantee,
    actions: actions.map((action) => `dynamodb:${action}`),
    resourceArns: [table.tableArn],
  });
}

export type StateTablesEnv = Pick<ControlPlaneEnv, 'JOURNAL_TABLE' | 'LOCKS_TABLE' | 'OPERATIONS_TABLE'>;

export class StateTables extends Construct {
  readonly locks: dynamodb.Table;
  readonly journal: dynamodb.Table;
  readonly operations: dynamodb.Table;

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

    // One record per operation in progress or recently done: spot episodes, rollouts with their
    // gates, remediation and scaling runs, claims on execution names. The construct id keeps the
    // table's first name: another would replace the deployed table and lose its records.
    this.operations = this.table('Idempotency', { name: 'id', type: S });
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

  /**
   * The item actions a function's code takes, per table, on the table alone: no function reads an
   * index (the journal's byDay index is the CLI's, through the operator policies).
   */
  grant(grantee: iam.IGrantable, ...needs: StateTableAccess[]): void {
    for (const name of ['locks', 'journal', 'operations'] as const) {
      const actions = [...new Set(needs.flatMap((need) => need[name] ?? []))].sort();
      if (actions.length > 0) grantItemActions(grantee, this[name], actions);
    }
  }

  /** The table-name keys of ControlPlaneEnvSchema. */
  environment(): StateTablesEnv {
    return {
      JOURNAL_TABLE: this.journal.tableName,
      LOCKS_TABLE: this.locks.tableName,
      OPERATIONS_TABLE: this.operations.tableName,
    };
  }
}
