// "Infra and the control plane must not fight" (docs/ownership.md), shown on the emulator:
// deploy the parts of the dev templates that a rollout touches, using the templates' own
// properties and custom-resource calls; roll out the way the rollout workflow does (new task
// definition revision, green task set, rule weights, primary task set, blue deleted, count
// changed); synthesize again and check that the next deploy's templates manage none of what
// the rollout changed. A naive template is checked the same way and must be caught.
import { CreateSubnetCommand, CreateVpcCommand, EC2Client, RunInstancesCommand } from '@aws-sdk/client-ec2';
import {
  CreateClusterCommand,
  CreateServiceCommand,
  CreateTaskSetCommand,
  DeleteTaskSetCommand,
  DescribeServicesCommand,
  DescribeTaskSetsCommand,
  ECSClient,
  RegisterContainerInstanceCommand,
  RegisterTaskDefinitionCommand,
  UpdateServiceCommand,
  UpdateServicePrimaryTaskSetCommand,
} from '@aws-sdk/client-ecs';
import {
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateRuleCommand,
  CreateTargetGroupCommand,
  DescribeListenersCommand,
  DescribeRulesCommand,
  ElasticLoadBalancingV2Client,
  ModifyRuleCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsClient } from '../../functions/shared/clients.ts';
import { INITIAL_TASK_SET_EXTERNAL_ID } from '../../infra/application/web-service.ts';
import { appStackName } from '../../infra/stacks/application-stacks.ts';
import { EMULATOR_ACCOUNT_ID, EMULATOR_REGION } from '../../local/emulator.ts';
import { type Attrs, type ResolveContext, resolveTokens } from '../../local/template.ts';
import { useEmulator } from '../support/emulator.ts';
import { type Synthesized, sdkClientOf, synthesize } from './synth-support.ts';

type CfnResource = { Type: string; Properties?: Record<string, unknown> };
type Template = {
  Resources: Record<string, CfnResource>;
  Outputs?: Record<string, { Value: unknown; Export?: { Name: string } }>;
};
type Json = Record<string, unknown>;

useEmulator();

const ENV = 'dev';
let first: Synthesized;
let next: Synthesized;

beforeAll(async () => {
  first = await synthesize({ environmentName: ENV });
}, 240_000);
afterAll(() => {
  first?.cleanup();
  next?.cleanup();
});

const templateOf = (s: Synthesized, part: string) =>
  s.assembly.getStackByName(appStackName(ENV, part)).template as Template;
const ofType = (t: Template, type: string) => Object.entries(t.Resources).filter(([, r]) => r.Type === type);

/** What the emulator holds, by the logical id of the template resource that created it. */
interface Deployed {
  ingress: ResolveContext;
  compute: ResolveContext;
  listeners: Record<string, string>;
  rules: Record<string, string>;
  targetGroups: Record<string, string>;
  cluster: string;
  service: string;
  initialTaskSet: string;
}

function context(): ResolveContext {
  return {
    resources: {},
    region: EMULATOR_REGION,
    accountId: EMULATOR_ACCOUNT_ID,
    partition: 'aws',
    urlSuffix: 'amazonaws.com',
  };
}

/** Fn::ImportValue is not in the shared resolver: replace each by the producer's resolved export. */
function inlineImports(value: unknown, exported: Record<string, unknown>): unknown {
  if (Array.isArray(value)) return value.map((v) => inlineImports(v, exported));
  if (value === null || typeof value !== 'object') return value;
  const obj = value as Json;
  if ('Fn::ImportValue' in obj) {
    const name = obj['Fn::ImportValue'] as string;
    if (!(name in exported)) throw new Error(`no export ${name}`);
    return exported[name];
  }
  return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, inlineImports(v, exported)]));
}

const at = (value: unknown, path: string): unknown =>
  path.split('.').reduce<unknown>((v, key) => (v as Json | undefined)?.[key], value);

/** Runs an AwsCustomResource's Create call exactly as the template spells it. */
async function runCreateCall(resource: CfnResource, ctx: ResolveContext, exported: Record<string, unknown>) {
  const call = JSON.parse(
    resolveTokens(inlineImports(resource.Properties?.Create, exported), ctx) as string,
  ) as {
    service: string;
    action: string;
    parameters: Json;
    physicalResourceId: { responsePath: string };
  };
  const elb = awsClient(ElasticLoadBalancingV2Client);
  const ecs = awsClient(ECSClient);
  const p = call.parameters as never;
  const response: unknown = await (async () => {
    // Bound by the client the provider would load: a service name it cannot resolve fails here too.
    switch (`${sdkClientOf(call.service)}.${call.action}`) {
      case 'elastic-load-balancing-v2.CreateRule':
        return elb.send(new CreateRuleCommand(p));
      case 'ecs.CreateTaskSet':
        return ecs.send(new CreateTaskSetCommand(p));
      case 'ecs.UpdateServicePrimaryTaskSet':
        return ecs.send(new UpdateServicePrimaryTaskSetCommand(p));
      default:
        throw new Error(`no local binding for ${call.service}.${call.action}`);
    }
  })();
  const physicalId = at(response, call.physicalResourceId.responsePath) as string;
  return { ref: physicalId, [call.physicalResourceId.responsePath]: physicalId } as Attrs;
}

/** Creates, in the emulator, what the Ingress and Compute templates create for the web service. */
async function deployFromTemplates(s: Synthesized): Promise<Deployed> {
  const ingressTemplate = templateOf(s, 'Ingress');
  const computeTemplate = templateOf(s, 'Compute');
  const ec2 = awsClient(EC2Client);
  const elb = awsClient(ElasticLoadBalancingV2Client);
  const ecs = awsClient(ECSClient);
  const ingress = context();
  const compute = context();

  const vpc = await ec2.send(new CreateVpcCommand({ CidrBlock: '10.20.0.0/16' }));
  const vpcId = vpc.Vpc?.VpcId as string;
  const subnets = await Promise.all(
    ['a', 'b'].map(async (az, i) => {
      const out = await ec2.send(
        new CreateSubnetCommand({
          VpcId: vpcId,
          CidrBlock: `10.20.${i}.0/24`,
          AvailabilityZone: `us-east-1${az}`,
        }),
      );
      return out.Subnet?.SubnetId as string;
    }),
  );

  const [albId] = ofType(ingressTemplate, 'AWS::ElasticLoadBalancingV2::LoadBalancer')[0] as [
    string,
    CfnResource,
  ];
  const alb = await elb.send(
    new CreateLoadBalancerCommand({ Name: 'web', Subnets: subnets, Scheme: 'internal', Type: 'application' }),
  );
  const albArn = alb.LoadBalancers?.[0]?.LoadBalancerArn as string;
  ingress.resources[albId] = {
    ref: albArn,
    LoadBalancerFullName: albArn.split(':loadbalancer/')[1] as string,
  };

  const targetGroups: Record<string, string> = {};
  for (const [i, [id, tg]] of ofType(ingressTemplate, 'AWS::ElasticLoadBalancingV2::TargetGroup').entries()) {
    const p = tg.Properties as Json;
    const out = await elb.send(
      new CreateTargetGroupCommand({
        Name: `web-${i}`,
        Protocol: p.Protocol as 'HTTP',
        Port: p.Port as number,
        TargetType: p.TargetType as 'instance',
        VpcId: vpcId,
        HealthCheckPath: p.HealthCheckPath as string,
      }),
    );
    targetGroups[id] = out.TargetGroups?.[0]?.TargetGroupArn as string;
    const arn = targetGroups[id] as string;
    ingress.resources[id] = { ref: arn, TargetGroupFullName: arn.split(':').at(-1) as string };
  }

  const listeners: Record<string, string> = {};
  for (const [id, listener] of ofType(ingressTemplate, 'AWS::ElasticLoadBalancingV2::Listener')) {
    const p = resolveTokens(listener.Properties, ingress) as Json;
    const out = await elb.send(
      new CreateListenerCommand({
        LoadBalancerArn: p.LoadBalancerArn as string,
        Port: p.Port as number,
        Protocol: p.Protocol as 'HTTP',
        DefaultActions: p.DefaultActions as never,
      }),
    );
    listeners[id] = out.Listeners?.[0]?.ListenerArn as string;
    ingress.resources[id] = { ref: listeners[id] as string };
  }

  const rules: Record<string, string> = {};
  for (const [id, rule] of ofType(ingressTemplate, 'Custom::HandedOverListenerRule')) {
    ingress.resources[id] = await runCreateCall(rule, ingress, {});
    rules[id] = ingress.resources[id]?.ref as string;
  }
  const exported: Record<string, unknown> = {};
  for (const output of Object.values(ingressTemplate.Outputs ?? {})) {
    // Exports of things not created here (the API, the ALB's DNS name) are not needed by the compute stack.
    if (!output.Export) continue;
    try {
      exported[output.Export.Name] = resolveTokens(output.Value, ingress);
    } catch {}
  }

  // Compute: the cluster, one container instance (the emulator places task-set tasks on it), the
  // task definition CloudFormation owns, the service shell, then the two create-once calls.
  const [clusterId, clusterResource] = ofType(computeTemplate, 'AWS::ECS::Cluster')[0] as [
    string,
    CfnResource,
  ];
  const cluster = clusterResource.Properties?.ClusterName as string;
  await ecs.send(new CreateClusterCommand({ clusterName: cluster }));
  compute.resources[clusterId] = { ref: cluster };
  const instance = await ec2.send(
    // One of the emulator's built-in images.
    new RunInstancesCommand({ ImageId: 'ami-12c6146b', MinCount: 1, MaxCount: 1, SubnetId: subnets[0] }),
  );
  await ecs.send(
    new RegisterContainerInstanceCommand({
      cluster,
      instanceIdentityDocument: JSON.stringify({
        instanceId: instance.Instances?.[0]?.InstanceId,
        region: EMULATOR_REGION,
      }),
      instanceIdentityDocumentSignature: 'local',
      totalResources: [
        { name: 'CPU', type: 'INTEGER', integerValue: 8192 },
        { name: 'MEMORY', type: 'INTEGER', integerValue: 16384 },
      ],
    }),
  );
  for (const [id, provider] of ofType(computeTemplate, 'AWS::ECS::CapacityProvider'))
    compute.resources[id] = { ref: provider.Properties?.Name as string };

  const [taskId, task] = ofType(computeTemplate, 'AWS::ECS::TaskDefinition')[0] as [string, CfnResource];
  const registered = await ecs.send(new RegisterTaskDefinitionCommand(taskDefinitionInput(task, undefined)));
  compute.resources[taskId] = { ref: registered.taskDefinition?.taskDefinitionArn as string };

  const [serviceId, serviceResource] = ofType(computeTemplate, 'AWS::ECS::Service')[0] as [
    string,
    CfnResource,
  ];
  const sp = resolveTokens(serviceResource.Properties, compute) as Json;
  const created = await ecs.send(
    new CreateServiceCommand({
      cluster,
      serviceName: sp.ServiceName as string,
      deploymentController: { type: (sp.DeploymentController as Json).Type as 'EXTERNAL' },
      deploymentConfiguration: lowerKeys(sp.DeploymentConfiguration) as never,
      placementStrategy: lowerKeys(sp.PlacementStrategies) as never,
      schedulingStrategy: sp.SchedulingStrategy as 'REPLICA',
      propagateTags: sp.PropagateTags as 'SERVICE',
      enableECSManagedTags: sp.EnableECSManagedTags as boolean,
    }),
  );
  const service = created.service?.serviceName as string;
  compute.resources[serviceId] = { ref: created.service?.serviceArn as string, Name: service };
  // What registering the scalable target does: the count comes up to the configured minimum.
  const [, target] = ofType(computeTemplate, 'AWS::ApplicationAutoScaling::ScalableTarget')[0] as [
    string,
    CfnResource,
  ];
  await ecs.send(
    new UpdateServiceCommand({ cluster, service, desiredCount: target.Properties?.MinCapacity as number }),
  );

  const [initialId, initial] = ofType(computeTemplate, 'Custom::InitialTaskSet')[0] as [string, CfnResource];
  compute.resources[initialId] = await runCreateCall(initial, compute, exported);
  const [primaryId, primary] = ofType(computeTemplate, 'Custom::InitialPrimaryTaskSet')[0] as [
    string,
    CfnResource,
  ];
  compute.resources[primaryId] = await runCreateCall(primary, compute, exported);

  return {
    ingress,
    compute,
    listeners,
    rules,
    targetGroups,
    cluster,
    service,
    initialTaskSet: compute.resources[initialId]?.ref as string,
  };
}

function taskDefinitionInput(task: CfnResource, image: string | undefined) {
  const p = task.Properties as Json;
  const container = (p.ContainerDefinitions as Json[])[0] as Json;
  return {
    family: p.Family as string,
    networkMode: p.NetworkMode as 'bridge',
    containerDefinitions: [
      {
        name: container.Name as string,
        image: image ?? (container.Image as string),
        cpu: container.Cpu as number,
        memory: container.Memory as number,
        portMappings: lowerKeys(container.PortMappings) as never,
      },
    ],
  };
}

function lowerKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(lowerKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value as Json).map(([k, v]) => [k.charAt(0).toLowerCase() + k.slice(1), lowerKeys(v)]),
  );
}

/** Live state, keyed like the template: "<kind>:<logicalId>" -> field -> value. */
type Snapshot = Record<string, Record<string, unknown>>;

async function snapshot(d: Deployed): Promise<Snapshot> {
  const elb = awsClient(ElasticLoadBalancingV2Client);
  const ecs = awsClient(ECSClient);
  const out: Snapshot = {};
  for (const [id, arn] of Object.entries(d.listeners)) {
    const l = (await elb.send(new DescribeListenersCommand({ ListenerArns: [arn] }))).Listeners?.[0];
    out[`listener:${id}`] = { DefaultActions: l?.DefaultActions, Port: l?.Port, Protocol: l?.Protocol };
    const rules = (await elb.send(new DescribeRulesCommand({ ListenerArn: arn }))).Rules ?? [];
    for (const [ruleId, ruleArn] of Object.entries(d.rules)) {
      const rule = rules.find((r) => r.RuleArn === ruleArn);
      if (rule)
        out[`rule:${ruleId}`] = {
          Actions: rule.Actions,
          Conditions: rule.Conditions,
          Priority: rule.Priority,
        };
    }
  }
  const service = (await ecs.send(new DescribeServicesCommand({ cluster: d.cluster, services: [d.service] })))
    .services?.[0];
  const taskSets =
    (await ecs.send(new DescribeTaskSetsCommand({ cluster: d.cluster, service: d.service }))).taskSets ?? [];
  const primary = taskSets.find((t) => t.status === 'PRIMARY');
  out.service = {
    desiredCount: service?.desiredCount,
    deploymentConfiguration: service?.deploymentConfiguration,
    deploymentController: service?.deploymentController,
    placementStrategy: service?.placementStrategy,
    taskSets: taskSets.map((t) => t.taskSetArn).sort(),
    primaryTaskSet: primary?.taskSetArn,
    primaryExternalId: primary?.externalId,
    taskDefinition: primary?.taskDefinition,
    loadBalancers: primary?.loadBalancers,
  };
  return out;
}

/** What the rollout workflow does to a service (issue 5), step by step. */
async function rollOut(d: Deployed, s: Synthesized): Promise<void> {
  const elb = awsClient(ElasticLoadBalancingV2Client);
  const ecs = awsClient(ECSClient);
  const [, task] = ofType(templateOf(s, 'Compute'), 'AWS::ECS::TaskDefinition')[0] as [string, CfnResource];
  const revision = await ecs.send(
    new RegisterTaskDefinitionCommand(taskDefinitionInput(task, 'example/app:v2')),
  );
  const [blue, green] = Object.entries(d.targetGroups)
    .sort(([a], [b]) => (a.includes('Blue') ? -1 : b.includes('Blue') ? 1 : 0))
    .map(([, arn]) => arn) as [string, string];
  const greenSet = await ecs.send(
    new CreateTaskSetCommand({
      cluster: d.cluster,
      service: d.service,
      taskDefinition: revision.taskDefinition?.taskDefinitionArn as string,
      externalId: 'rollout-execution-1',
      loadBalancers: [{ targetGroupArn: green, containerName: 'app', containerPort: 80 }],
      scale: { unit: 'PERCENT', value: 100 },
    }),
  );
  const weights = (blueWeight: number) => [
    {
      Type: 'forward' as const,
      ForwardConfig: {
        TargetGroups: [
          { TargetGroupArn: blue, Weight: blueWeight },
          { TargetGroupArn: green, Weight: 100 - blueWeight },
        ],
      },
    },
  ];
  const [productionRule, testRule] = Object.entries(d.rules)
    .sort(([a]) => (a.includes('Production') ? -1 : 1))
    .map(([, arn]) => arn) as [string, string];
  for (const step of [90, 50, 0])
    await elb.send(new ModifyRuleCommand({ RuleArn: productionRule, Actions: weights(step) }));
  // After promotion the test listener points at the old (now idle) colour for the next rollout.
  await elb.send(new ModifyRuleCommand({ RuleArn: testRule, Actions: weights(100) }));
  await ecs.send(
    new UpdateServicePrimaryTaskSetCommand({
      cluster: d.cluster,
      service: d.service,
      primaryTaskSet: greenSet.taskSet?.taskSetArn as string,
    }),
  );
  await ecs.send(
    new DeleteTaskSetCommand({
      cluster: d.cluster,
      service: d.service,
      taskSet: d.initialTaskSet,
      force: true,
    }),
  );
  // Scaling during the rollout (auto scaling or the scaling workflow) changes the count too.
  await ecs.send(new UpdateServiceCommand({ cluster: d.cluster, service: d.service, desiredCount: 4 }));
}

/** "<kind>:<logicalId>.<field>" for every live field that changed. */
function changedFields(before: Snapshot, after: Snapshot): string[] {
  const changed: string[] = [];
  for (const [object, fields] of Object.entries(after)) {
    for (const [field, value] of Object.entries(fields)) {
      if (JSON.stringify(before[object]?.[field]) !== JSON.stringify(value))
        changed.push(`${object}.${field}`);
    }
  }
  return changed.sort();
}

const SERVICE_FIELDS: Record<string, string> = {
  DesiredCount: 'desiredCount',
  TaskDefinition: 'taskDefinition',
  LoadBalancers: 'loadBalancers',
  DeploymentConfiguration: 'deploymentConfiguration',
  DeploymentController: 'deploymentController',
  PlacementStrategies: 'placementStrategy',
};

/**
 * The live fields a deploy of this template writes when it updates a resource, in the same
 * "<kind>:<logicalId>.<field>" terms. A custom resource writes only what its Update call sends.
 */
function managedFields(templates: Template[]): string[] {
  const fields: string[] = [];
  for (const t of templates) {
    for (const [id, r] of Object.entries(t.Resources)) {
      const props = r.Properties ?? {};
      switch (r.Type) {
        case 'AWS::ElasticLoadBalancingV2::Listener':
          for (const key of ['DefaultActions', 'Port', 'Protocol'])
            if (key in props) fields.push(`listener:${id}.${key}`);
          break;
        case 'AWS::ElasticLoadBalancingV2::ListenerRule':
          for (const key of ['Actions', 'Conditions', 'Priority'])
            if (key in props) fields.push(`rule:${id}.${key}`);
          break;
        case 'Custom::HandedOverListenerRule':
          if ('Update' in props) fields.push(`rule:${id}.Actions`);
          break;
        case 'AWS::ECS::Service':
          // A Fargate worker is not rolled out: its task definition and count are the template's.
          if (JSON.stringify(props.CapacityProviderStrategy ?? []).includes('"FARGATE')) break;
          for (const [key, field] of Object.entries(SERVICE_FIELDS))
            if (key in props) fields.push(`service.${field}`);
          break;
        case 'AWS::ECS::TaskSet':
        case 'Custom::InitialTaskSet':
          if (r.Type === 'AWS::ECS::TaskSet' || 'Update' in props) fields.push('service.taskSets');
          break;
        case 'AWS::ECS::PrimaryTaskSet':
        case 'Custom::InitialPrimaryTaskSet':
          if (r.Type === 'AWS::ECS::PrimaryTaskSet' || 'Update' in props)
            fields.push(
              'service.primaryTaskSet',
              'service.primaryExternalId',
              'service.taskDefinition',
              'service.loadBalancers',
            );
          break;
      }
    }
  }
  return fields.sort();
}

describe('infra and the rollout do not fight', () => {
  let deployed: Deployed;
  let before: Snapshot;
  let after: Snapshot;

  beforeAll(async () => {
    deployed = await deployFromTemplates(first);
    before = await snapshot(deployed);
    await rollOut(deployed, first);
    after = await snapshot(deployed);
    // The next `cdk deploy`: the same config synthesized again.
    next = await synthesize({ environmentName: ENV });
  }, 240_000);

  it('deploys from the templates: production on blue, the first task set primary behind blue', () => {
    const production = Object.keys(deployed.rules).find((id) => id.includes('Production')) as string;
    const blue = Object.entries(deployed.targetGroups).find(([id]) => id.includes('Blue'))?.[1];
    expect(JSON.stringify(before[`rule:${production}`]?.Actions)).toContain(
      `"TargetGroupArn":"${blue}","Weight":100`,
    );
    expect(before.service).toMatchObject({
      desiredCount: 2,
      primaryTaskSet: deployed.initialTaskSet,
      primaryExternalId: INITIAL_TASK_SET_EXTERNAL_ID,
      loadBalancers: [expect.objectContaining({ targetGroupArn: blue })],
    });
  });

  it('rolls out: weights, task sets, primary, image and count all changed', () => {
    const production = Object.keys(deployed.rules).find((id) => id.includes('Production')) as string;
    const test = Object.keys(deployed.rules).find((id) => id.includes('Test')) as string;
    expect(changedFields(before, after)).toEqual(
      [
        `rule:${production}.Actions`,
        `rule:${test}.Actions`,
        'service.desiredCount',
        'service.loadBalancers',
        'service.primaryExternalId',
        'service.primaryTaskSet',
        'service.taskDefinition',
        'service.taskSets',
      ].sort(),
    );
    expect(String(after.service?.taskDefinition)).not.toBe(String(before.service?.taskDefinition));
  });

  it('the next deploy’s templates manage none of what the rollout changed', () => {
    const templates = ['Ingress', 'Compute'].map((part) => templateOf(next, part));
    const overlap = managedFields(templates).filter((f) => changedFields(before, after).includes(f));
    expect(overlap).toEqual([]);
  });

  it('sends the create-once resources nothing: their properties did not change between the two synths', () => {
    for (const part of ['Ingress', 'Compute']) {
      for (const type of [
        'Custom::HandedOverListenerRule',
        'Custom::InitialTaskSet',
        'Custom::InitialPrimaryTaskSet',
      ]) {
        for (const [id, r] of ofType(templateOf(next, part), type)) {
          expect(r.Properties, id).not.toHaveProperty('Update');
          expect(r.Properties).toEqual(templateOf(first, part).Resources[id]?.Properties);
        }
      }
    }
  });

  it('what the templates do manage on touched objects still matches the live state after the rollout', () => {
    for (const [id, listener] of ofType(
      templateOf(next, 'Ingress'),
      'AWS::ElasticLoadBalancingV2::Listener',
    )) {
      const declared = resolveTokens(listener.Properties?.DefaultActions, deployed.ingress);
      expect(after[`listener:${id}`]?.DefaultActions).toEqual(declared);
    }
    // The emulator keeps no deployment configuration or placement strategy for a service (moto
    // 5.2.5 drops them), so of the service's template-managed fields only the controller is compared.
    const [, service] = ofType(templateOf(next, 'Compute'), 'AWS::ECS::Service')[0] as [string, CfnResource];
    expect(after.service?.deploymentController).toEqual(lowerKeys(service.Properties?.DeploymentController));
  });

  it('catches a naive template that would fight: a desired count, a task definition and a CloudFormation rule', () => {
    const ingress = structuredClone(templateOf(next, 'Ingress'));
    const compute = structuredClone(templateOf(next, 'Compute'));
    const production = Object.keys(deployed.rules).find((id) => id.includes('Production')) as string;
    ingress.Resources[production] = {
      Type: 'AWS::ElasticLoadBalancingV2::ListenerRule',
      Properties: { Actions: [], Conditions: [], Priority: 10 },
    };
    const [, service] = ofType(compute, 'AWS::ECS::Service')[0] as [string, CfnResource];
    Object.assign(service.Properties as Json, { DesiredCount: 2, TaskDefinition: { Ref: 'WebTask' } });
    const overlap = managedFields([ingress, compute]).filter((f) => changedFields(before, after).includes(f));
    expect(overlap).toEqual(
      [`rule:${production}.Actions`, 'service.desiredCount', 'service.taskDefinition'].sort(),
    );
  });
});
