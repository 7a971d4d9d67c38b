// One reliability world per test file: a private emulator, the control plane deployed from the
// synthesized template, a seeded cluster (instances, Auto Scaling groups, a service behind a
// weighted listener), and a snapshot of everything bad input must never change.
import { AutoScalingClient, DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import { DynamoDBClient, ListTablesCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import {
  DescribeContainerInstancesCommand,
  DescribeServicesCommand,
  ECSClient,
  ListClustersCommand,
  ListContainerInstancesCommand,
  ListServicesCommand,
} from '@aws-sdk/client-ecs';
import {
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  DescribeRulesCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { ListExecutionsCommand, ListStateMachinesCommand, SFNClient } from '@aws-sdk/client-sfn';
import { GetQueueAttributesCommand, ListQueuesCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { beforeAll } from 'vitest';
import { awsClient } from '../../functions/shared/clients.ts';
import { deployControlPlane } from '../../local/control-plane.ts';
import type { DeployedStack } from '../../local/deploy.ts';
import { type Seed, seed } from '../../local/seed.ts';
import { useEmulator } from '../support/emulator.ts';

export interface ReliabilityWorld {
  stack: DeployedStack;
  seed: Seed;
}

export function useReliabilityWorld(): ReliabilityWorld {
  useEmulator();
  const world = {} as ReliabilityWorld;
  beforeAll(async () => {
    world.stack = await deployControlPlane();
    world.seed = await seed(world.stack, { instances: 6, spotFraction: 0.5 });
  });
  return world;
}

/** An SQS batch as Lambda's event source mapping delivers it; a string body is sent as is. */
export function sqsBatch(
  bodies: readonly unknown[],
  queueArn = 'arn:aws:sqs:us-east-1:123456789012:q',
): SQSEvent {
  return {
    Records: bodies.map((body, i) => ({
      messageId: `fuzz-${i}`,
      receiptHandle: `handle-${i}`,
      body: typeof body === 'string' ? body : JSON.stringify(body),
      attributes: {
        ApproximateReceiveCount: '1',
        SentTimestamp: '1795000000000',
        SenderId: 'AIDAEXAMPLE',
        ApproximateFirstReceiveTimestamp: '1795000000000',
      },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: queueArn,
      awsRegion: 'us-east-1',
    })),
  };
}

export interface WorldSnapshot {
  containerInstances: Record<string, string | undefined>;
  desiredCapacities: Record<string, number | undefined>;
  services: Record<
    string,
    { desired?: number; taskSets: { id?: string; scale?: number; status?: string }[] }
  >;
  listenerWeights: Record<string, unknown>;
  tables: Record<string, string[]>;
  executions: Record<string, number>;
  queues: Record<string, Record<string, string>>;
}

/**
 * What bad input must never change: container instance statuses, Auto Scaling desired
 * capacities, service desired counts and task sets, listener (and rule) weights, every
 * DynamoDB table's items (journal, locks, operations, ...), executions started, queue depths.
 */
export async function snapshot(): Promise<WorldSnapshot> {
  const ecs = awsClient(ECSClient);
  const containerInstances: WorldSnapshot['containerInstances'] = {};
  const services: WorldSnapshot['services'] = {};
  for (const cluster of (await ecs.send(new ListClustersCommand({}))).clusterArns ?? []) {
    const arns = (await ecs.send(new ListContainerInstancesCommand({ cluster }))).containerInstanceArns ?? [];
    for (let i = 0; i < arns.length; i += 100) {
      const out = await ecs.send(
        new DescribeContainerInstancesCommand({ cluster, containerInstances: arns.slice(i, i + 100) }),
      );
      for (const ci of out.containerInstances ?? [])
        containerInstances[ci.containerInstanceArn ?? '?'] = ci.status;
    }
    const serviceArns = (await ecs.send(new ListServicesCommand({ cluster }))).serviceArns ?? [];
    if (serviceArns.length > 0) {
      const out = await ecs.send(new DescribeServicesCommand({ cluster, services: serviceArns }));
      for (const s of out.services ?? []) {
        services[s.serviceArn ?? '?'] = {
          ...(s.desiredCount !== undefined ? { desired: s.desiredCount } : {}),
          taskSets: (s.taskSets ?? []).map((t) => ({
            ...(t.id ? { id: t.id } : {}),
            ...(t.scale?.value !== undefined ? { scale: t.scale.value } : {}),
            ...(t.status ? { status: t.status } : {}),
          })),
        };
      }
    }
  }

  const desiredCapacities: WorldSnapshot['desiredCapacities'] = {};
  const groups = await awsClient(AutoScalingClient).send(new DescribeAutoScalingGroupsCommand({}));
  for (const g of groups.AutoScalingGroups ?? [])
    desiredCapacities[g.AutoScalingGroupName ?? '?'] = g.DesiredCapacity;

  const elb = awsClient(ElasticLoadBalancingV2Client);
  const listenerWeights: WorldSnapshot['listenerWeights'] = {};
  for (const lb of (await elb.send(new DescribeLoadBalancersCommand({}))).LoadBalancers ?? []) {
    const listeners = await elb.send(new DescribeListenersCommand({ LoadBalancerArn: lb.LoadBalancerArn }));
    for (const l of listeners.Listeners ?? []) {
      const rules = await elb.send(new DescribeRulesCommand({ ListenerArn: l.ListenerArn }));
      listenerWeights[l.ListenerArn ?? '?'] = {
        defaultActions: l.DefaultActions?.map((a) => a.ForwardConfig?.TargetGroups ?? a.TargetGroupArn),
        rules: rules.Rules?.map((r) =>
          r.Actions?.map((a) => a.ForwardConfig?.TargetGroups ?? a.TargetGroupArn),
        ),
      };
    }
  }

  const db = awsClient(DynamoDBClient);
  const tables: WorldSnapshot['tables'] = {};
  for (const table of (await db.send(new ListTablesCommand({}))).TableNames ?? []) {
    const items: string[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out = await db.send(
        new ScanCommand({ TableName: table, ...(start ? { ExclusiveStartKey: start as never } : {}) }),
      );
      items.push(...(out.Items ?? []).map((item) => JSON.stringify(item)));
      start = out.LastEvaluatedKey;
    } while (start);
    tables[table] = items.sort();
  }

  const sfn = awsClient(SFNClient);
  const executions: WorldSnapshot['executions'] = {};
  for (const m of (await sfn.send(new ListStateMachinesCommand({}))).stateMachines ?? []) {
    const out = await sfn.send(new ListExecutionsCommand({ stateMachineArn: m.stateMachineArn }));
    executions[m.name ?? '?'] = out.executions?.length ?? 0;
  }

  const sqs = awsClient(SQSClient);
  const queues: WorldSnapshot['queues'] = {};
  for (const url of (await sqs.send(new ListQueuesCommand({}))).QueueUrls ?? []) {
    const out = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: url,
        AttributeNames: [
          'ApproximateNumberOfMessages',
          'ApproximateNumberOfMessagesNotVisible',
          'ApproximateNumberOfMessagesDelayed',
        ],
      }),
    );
    queues[url] = out.Attributes ?? {};
  }

  return { containerInstances, desiredCapacities, services, listenerWeights, tables, executions, queues };
}
