// consoleLinks: the console URLs an alert carries, for the function's own region. Each link is
// read back as a URL: console host and page for that region, and the resource's identifier
// recovered exactly from it, however awkward its characters.
import { describe, expect, it } from 'vitest';
import { consoleLinks } from '../../functions/shared/alerts.ts';

const EXECUTION_ARN = (region: string) =>
  `arn:aws:states:${region}:123456789012:execution:EcsOps-prod-SpotSurge:spot-i-0abc/retry:2`;
// Alarm names may hold spaces, slashes, # and ?: none of them may cut the link short.
const ALARM = 'api 5xx > 5% / 5 min #1?';

/** The part of the fragment after `prefix`, decoded. */
function fragmentAfter(url: URL, prefix: string): string {
  expect(url.hash.startsWith(prefix), url.hash).toBe(true);
  return decodeURIComponent(url.hash.slice(prefix.length));
}

describe('consoleLinks', () => {
  for (const region of ['eu-west-1', 'ap-southeast-2']) {
    it(`links the ECS service, the Step Functions execution and the CloudWatch alarm in ${region}`, () => {
      const links = consoleLinks(region, {
        cluster: 'web',
        service: 'api',
        executionArn: EXECUTION_ARN(region),
        alarmName: ALARM,
      });
      expect(Object.keys(links).sort()).toEqual([
        'CloudWatch alarm',
        'ECS service',
        'Step Functions execution',
      ]);
      const origin = `https://${region}.console.aws.amazon.com`;

      const ecs = new URL(links['ECS service'] as string);
      expect(ecs.origin).toBe(origin);
      expect(ecs.pathname).toBe('/ecs/v2/clusters/web/services/api/health');
      expect(ecs.searchParams.get('region')).toBe(region);

      const execution = new URL(links['Step Functions execution'] as string);
      expect(execution.origin).toBe(origin);
      expect(execution.pathname).toBe('/states/home');
      expect(execution.searchParams.get('region')).toBe(region);
      expect(fragmentAfter(execution, '#/v2/executions/details/')).toBe(EXECUTION_ARN(region));

      const alarm = new URL(links['CloudWatch alarm'] as string);
      expect(alarm.origin).toBe(origin);
      expect(alarm.pathname).toBe('/cloudwatch/home');
      expect(alarm.searchParams.get('region')).toBe(region);
      expect(fragmentAfter(alarm, '#alarmsV2:alarm/')).toBe(ALARM);
    });
  }

  it('links the cluster when there is no service, and nothing ECS for a service without its cluster', () => {
    const cluster = consoleLinks('us-east-2', { cluster: 'web' });
    expect(Object.keys(cluster)).toEqual(['ECS cluster']);
    const url = new URL(cluster['ECS cluster'] as string);
    expect(url.origin).toBe('https://us-east-2.console.aws.amazon.com');
    expect(url.pathname).toBe('/ecs/v2/clusters/web/infrastructure');
    expect(url.searchParams.get('region')).toBe('us-east-2');

    // A service name alone does not say which cluster's page to open.
    expect(consoleLinks('us-east-2', { service: 'api' })).toEqual({});
  });

  it('gives no links without a region, rather than links into the wrong one', () => {
    expect(consoleLinks(undefined, { cluster: 'web', service: 'api', alarmName: ALARM })).toEqual({});
    expect(consoleLinks('', { cluster: 'web', service: 'api' })).toEqual({});
  });
});
