// `ops rollout` of a service ECS deploys, its pure parts: which services the stack's outputs say
// ECS deploys (--aws), the task-set flags it refuses, and the lines --watch prints as ECS reports
// the service deployment.
import { describe, expect, it } from 'vitest';
import { describeDeployment, ecsDeployedInOutputs, refuseTaskSetFlags } from '../../cli/ecs-rollout.ts';
import { DEPLOYMENT_HOOK_OUTPUTS } from '../../infra/shared/stack-outputs.ts';

describe('ops rollout of a service ECS deploys', () => {
  const outputs = { [DEPLOYMENT_HOOK_OUTPUTS.services]: 'web/shop,batch/shop,web/catalog' };

  it('finds the service among those the outputs list, by cluster and name or a unique name', () => {
    expect(ecsDeployedInOutputs(outputs, { service: 'catalog' })).toEqual({
      cluster: 'web',
      service: 'catalog',
    });
    expect(ecsDeployedInOutputs(outputs, { cluster: 'batch', service: 'shop' })).toEqual({
      cluster: 'batch',
      service: 'shop',
    });
    // Ambiguous without a cluster, and unknown: left to the workflow, whose first state names the field.
    expect(ecsDeployedInOutputs(outputs, { service: 'shop' })).toBeUndefined();
    expect(ecsDeployedInOutputs(outputs, { service: 'api' })).toBeUndefined();
    expect(ecsDeployedInOutputs({}, { service: 'catalog' })).toBeUndefined();
  });

  it('refuses the flags whose plan is the service’s own', () => {
    expect(() => refuseTaskSetFlags({ strategy: 'canary:10:5m', 'no-analysis': true }, 'web/shop')).toThrow(
      'web/shop is deployed by ECS: its strategy, analysis and approval are its deployment configuration and rollout defaults, not --strategy, --no-analysis',
    );
    expect(() => refuseTaskSetFlags({ 'no-analysis': false }, 'web/shop')).not.toThrow();
  });

  it('prints a line when ECS reports a new status or lifecycle stage, with green’s share', () => {
    const at = (lifecycleStage: string, weight?: number) => ({
      status: 'IN_PROGRESS' as const,
      lifecycleStage: lifecycleStage as 'BAKE_TIME',
      ...(weight === undefined
        ? {}
        : { targetServiceRevision: { requestedProductionTrafficWeight: weight } }),
    });
    expect(describeDeployment(at('PRODUCTION_TRAFFIC_SHIFT', 10))).toEqual([
      'ECS IN_PROGRESS          PRODUCTION_TRAFFIC_SHIFT (green 10% of production)',
    ]);
    expect(
      describeDeployment(at('PRODUCTION_TRAFFIC_SHIFT', 10), at('PRODUCTION_TRAFFIC_SHIFT', 10)),
    ).toEqual([]);
    expect(
      describeDeployment(
        { status: 'ROLLBACK_SUCCESSFUL', statusReason: 'lifecycle hook failed' },
        at('BAKE_TIME'),
      ),
    ).toEqual(['ECS ROLLBACK_SUCCESSFUL  : lifecycle hook failed']);
  });
});
