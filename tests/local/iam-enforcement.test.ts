// IAM as the rig enforces it on every call: the deployed control plane's functions and state
// machines act as their synthesized roles, and a call AWS would refuse gets AWS's AccessDenied
// and changes nothing. These are the refusals the least-privilege work must guarantee, beside
// the one grant that once could not work (remediation answering a gate).
import { BatchWriteItemCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  ECSClient,
  ListServicesCommand,
  ListTaskDefinitionsCommand,
  RegisterTaskDefinitionCommand,
} from '@aws-sdk/client-ecs';
import { SendTaskSuccessCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { beforeAll, describe, expect, it } from 'vitest';
import { awsClient } from '../../functions/shared/clients.ts';
import { deployControlPlane } from '../../local/control-plane.ts';
import type { DeployedStack } from '../../local/deploy.ts';
import { actAs, iamStats } from '../../local/iam-enforcement.ts';
import { observerClient } from '../../local/observer.ts';
import { deployedWorkflow, runDeployedWorkflow } from '../../local/workflows.ts';
import { useEmulator } from '../support/emulator.ts';

useEmulator();

let stack: DeployedStack;
beforeAll(async () => {
  stack = await deployControlPlane();
}, 240_000);

const fn = (name: string) => {
  const found = stack.functions[name];
  if (!found) throw new Error(`no function ${name}`);
  return found.arn;
};

async function refusal(
  call: () => Promise<unknown>,
): Promise<Error & { $metadata?: { httpStatusCode?: number } }> {
  const error = await call().then(
    () => undefined,
    (e: unknown) => e as Error,
  );
  if (!error) throw new Error('the call was allowed');
  return error;
}

describe('IAM enforced on the rig', () => {
  it('refuses rollout-step passing a task role it does not manage, and registers nothing', async () => {
    const before = await observerClient(ECSClient).send(
      new ListTaskDefinitionsCommand({ familyPrefix: 'web-api' }),
    );
    const error = await refusal(() =>
      actAs(fn('rollout-step'), () =>
        awsClient(ECSClient).send(
          new RegisterTaskDefinitionCommand({
            family: 'web-api',
            taskRoleArn: `arn:aws:iam::${stack.accountId}:role/payments-admin`,
            containerDefinitions: [{ name: 'api', image: 'registry.local/api:evil', memory: 512 }],
          }),
        ),
      ),
    );
    expect(error.name).toBe('AccessDeniedException');
    expect(error.message).toContain('iam:PassRole');
    expect(error.message).toContain('role/payments-admin');
    expect(error.$metadata?.httpStatusCode).toBe(400);
    const after = await observerClient(ECSClient).send(
      new ListTaskDefinitionsCommand({ familyPrefix: 'web-api' }),
    );
    expect(after.taskDefinitionArns).toEqual(before.taskDefinitionArns);
  });

  it("refuses a function writing to another environment's table", async () => {
    const journal = stack.functions['rollout-step']?.environment.JOURNAL_TABLE as string;
    const prodJournal = journal.replace(stack.stackName, 'EcsOps-prod-ControlPlane');
    expect(prodJournal).not.toBe(journal);
    // The journal's own write (functions/shared/journal.ts): a batch of records.
    const write = (table: string) =>
      actAs(fn('rollout-step'), () =>
        awsClient(DynamoDBClient).send(
          new BatchWriteItemCommand({
            RequestItems: {
              [table]: [{ PutRequest: { Item: { resource: { S: 'probe' }, at: { S: 'probe' } } } }],
            },
          }),
        ),
      );
    const error = await refusal(() => write(prodJournal));
    expect(error.name).toBe('AccessDeniedException');
    expect(error.message).toContain(`dynamodb:BatchWriteItem on resource: arn:aws:dynamodb:`);
    expect(error.message).toContain(`table/${prodJournal}`);
    // Its own environment's table is allowed to the same role.
    await expect(write(journal)).resolves.toBeDefined();
  });

  it('refuses a state machine starting a workflow it does not own; a nested start it owns is allowed', async () => {
    const scaling = deployedWorkflow(stack, 'scale-service');
    const rollout = deployedWorkflow(stack, 'blue-green-rollout');
    const error = await refusal(() =>
      actAs(scaling.arn, () =>
        awsClient(SFNClient).send(new StartExecutionCommand({ stateMachineArn: rollout.arn, input: '{}' })),
      ),
    );
    expect(error.name).toBe('AccessDeniedException');
    expect(error.message).toContain(`states:StartExecution on resource: ${rollout.arn}`);
    const remediation = deployedWorkflow(stack, 'remediate-alarm');
    await expect(
      actAs(remediation.arn, () =>
        awsClient(SFNClient).send(
          new StartExecutionCommand({ stateMachineArn: scaling.arn, name: 'iam-probe', input: '{}' }),
        ),
      ),
    ).resolves.toMatchObject({ executionArn: expect.stringContaining(':execution:') });
  });

  it('allows remediation answering a gate (the action takes no resource)', async () => {
    const error = await refusal(() =>
      actAs(fn('remediate-step'), () =>
        awsClient(SFNClient).send(new SendTaskSuccessCommand({ taskToken: 'no-such-token', output: '{}' })),
      ),
    );
    // The emulator answers for the token; IAM let the call through.
    expect(error.name).not.toBe('AccessDeniedException');
  });

  it('evaluates every call a role makes: an operation the table does not map fails, it is not waved through', async () => {
    const error = await refusal(() =>
      actAs(fn('rollout-step'), () => awsClient(ECSClient).send(new ListServicesCommand({ cluster: 'web' }))),
    );
    expect(error.name).toBe('IamRigError');
    expect(error.message).toContain('ECS.ListServices has no IAM mapping');
  });

  it('counts the calls of a workflow run: all evaluated, none denied', async () => {
    const before = iamStats();
    const result = await runDeployedWorkflow(stack, 'scale-service', {
      cluster: 'web',
      service: 'nope',
      delta: 1,
    });
    // The service does not exist: the workflow fails on its own terms, not on IAM.
    expect(JSON.stringify(result)).not.toContain('AccessDenied');
    const after = iamStats();
    expect(after.evaluated - before.evaluated).toBeGreaterThan(0);
    expect(after.denied).toBe(before.denied);
    expect(after.evaluated).toBe(after.allowed + after.denied);
  });
});
