// What the cost suite reads from the synthesized prod control plane: fixed costs (alarms, keys,
// idle polling of event sources) and each state machine's state types.
import type { CfnTemplate } from '../../local/deploy.ts';
import { alarmMetricCount } from '../cost-model.ts';

// ---------------------------------------------------------------------------------------------
// What the template says: memory sizes, log levels and retention, fixed resources.

export interface TemplateFacts {
  memoryMb: Record<string, number>;
  functionLogRetentionDays: Record<string, number>;
  /** By state machine logical id. */
  machineLogs: Record<string, { level: string; retentionDays: number }>;
  kmsKeys: number;
  alarms: number;
  alarmMetrics: number;
  eventSourceMappings: number;
  dashboards: number;
  schedules: number;
  logGroups: number;
}

type Resource = CfnTemplate['Resources'][string];

export function templateFacts(template: CfnTemplate): TemplateFacts {
  const resources = template.Resources;
  const retention = (ref: unknown): number => {
    const id =
      (ref as { Ref?: string }).Ref ?? (ref as { 'Fn::GetAtt'?: [string, string] })['Fn::GetAtt']?.[0];
    const days = resources[id ?? '']?.Properties?.RetentionInDays;
    // A log group without retention keeps its logs forever; price a year of them.
    return typeof days === 'number' ? days : 365;
  };
  const facts: TemplateFacts = {
    memoryMb: {},
    functionLogRetentionDays: {},
    machineLogs: {},
    kmsKeys: 0,
    alarms: 0,
    alarmMetrics: 0,
    eventSourceMappings: 0,
    dashboards: 0,
    schedules: 0,
    logGroups: 0,
  };
  for (const [id, r] of Object.entries(resources) as [string, Resource][]) {
    const p = r.Properties ?? {};
    switch (r.Type) {
      case 'AWS::Lambda::Function': {
        const env = (p.Environment as { Variables?: Record<string, string> } | undefined)?.Variables ?? {};
        const fn = env.POWERTOOLS_SERVICE_NAME ?? id;
        facts.memoryMb[fn] = typeof p.MemorySize === 'number' ? p.MemorySize : 128;
        facts.functionLogRetentionDays[fn] = retention(
          (p.LoggingConfig as { LogGroup?: unknown } | undefined)?.LogGroup ?? {},
        );
        break;
      }
      case 'AWS::StepFunctions::StateMachine': {
        const logging = p.LoggingConfiguration as
          | { Level?: string; Destinations?: { CloudWatchLogsLogGroup?: { LogGroupArn?: unknown } }[] }
          | undefined;
        facts.machineLogs[id] = {
          level: logging?.Level ?? 'OFF',
          retentionDays: retention(logging?.Destinations?.[0]?.CloudWatchLogsLogGroup?.LogGroupArn ?? {}),
        };
        break;
      }
      case 'AWS::KMS::Key':
        facts.kmsKeys++;
        break;
      case 'AWS::CloudWatch::Alarm':
        facts.alarms++;
        facts.alarmMetrics += alarmMetricCount(p as { Metrics?: { MetricStat?: unknown }[] });
        break;
      case 'AWS::Lambda::EventSourceMapping':
        facts.eventSourceMappings++;
        break;
      case 'AWS::CloudWatch::Dashboard':
        facts.dashboards++;
        break;
      case 'AWS::Scheduler::Schedule':
        facts.schedules++;
        break;
      case 'AWS::Logs::LogGroup':
        facts.logGroups++;
        break;
    }
  }
  return facts;
}

/** State types by name, nested Map/Parallel states included. */
export function stateTypes(definition: Record<string, unknown>, into = new Map<string, string>()) {
  const states = (definition.States ?? {}) as Record<string, Record<string, unknown>>;
  for (const [stateName, s] of Object.entries(states)) {
    into.set(stateName, String(s.Type));
    for (const nested of [s.Iterator, s.ItemProcessor, ...((s.Branches as unknown[]) ?? [])])
      if (nested && typeof nested === 'object') stateTypes(nested as Record<string, unknown>, into);
  }
  return into;
}
