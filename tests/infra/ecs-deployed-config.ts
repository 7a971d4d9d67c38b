// dev with a second service, api, that ECS deploys (a canary), as the infra tests and the
// scanners synthesize it: the ECS-controlled variant of a service and the control plane's hook.
import { type EnvironmentConfigInput, loadConfig, type ServiceConfigInput } from '../../infra/config.ts';

export function devWithEcsDeployedApi(): EnvironmentConfigInput {
  const config = structuredClone(loadConfig('dev')) as EnvironmentConfigInput;
  const web = config.services[0] as ServiceConfigInput;
  config.services = [
    web,
    {
      ...structuredClone(web),
      name: 'api',
      containerPort: 8080,
      routing: { pathPatterns: ['/api/*'] },
      rulePriority: 5,
      deployment: {
        controller: 'ecs',
        strategy: { type: 'canary', percent: 10, bakeMinutes: 10 },
        bakeTimeMinutes: 15,
        analysisBakeSeconds: 600,
      },
    },
  ];
  return config;
}
