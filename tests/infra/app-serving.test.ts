// Template assertions on how the application is served and watched, for both example configs
// (dev and prod): ingress (load balancer, HTTP API and its authorizer), the edge (CloudFront, WAF,
// DNS) and observability. The rest of the application stack is app-stacks.test.ts.
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import { describe, expect, it } from 'vitest';
import { routedAlarmPrefix } from '../../events/operator-events.ts';
import { ORIGIN_VERIFY_HEADER, OriginVerifyEnvSchema } from '../../functions/origin-verify/config.ts';
import { API_PATH_PATTERN } from '../../infra/application/cdn.ts';
import { MANAGED_RULE_GROUPS, RATE_RULE_NAME } from '../../infra/application/edge-protection.ts';
import { ROLLOUT_OWNED_TAG } from '../../infra/application/handed-over-listener-rule.ts';
import { AUTHORIZER_CACHE_TTL } from '../../infra/application/http-api.ts';
import { listenerPorts } from '../../infra/application/load-balancer.ts';
import { GAME_DAY_ACTION, GAME_DAY_TARGET, GROUP_NAME_TAG } from '../../infra/application/spot-game-day.ts';
import { EnvironmentConfigSchema, loadConfig, type ServiceConfig } from '../../infra/config.ts';
import { appStackName, CLOUDFRONT_REGION } from '../../infra/stacks/application-stacks.ts';
import { authorize, type Principal, ResolvedApp } from '../../local/iam.ts';
import { resolveTokens } from '../../local/template.ts';
import {
  asArray,
  type CfnResource,
  ENVIRONMENTS,
  logicalId,
  ofType,
  onlyOfType,
  statementsOfKey,
  text,
  useAppSynth,
} from './app-synth.ts';

const app = useAppSynth();
const { template, allTemplates, httpApi, publishedValue } = app;

describe('ingress', () => {
  it('has two target groups with a spot-fit deregistration delay, and a production and a test listener', () => {
    for (const env of ENVIRONMENTS) {
      const config = loadConfig(env);
      const t = template(env, 'Ingress');
      const groups = ofType(t, 'AWS::ElasticLoadBalancingV2::TargetGroup');
      expect(groups, env).toHaveLength(2);
      for (const [, g] of groups) {
        expect(g.Properties?.TargetGroupAttributes).toContainEqual({
          Key: 'deregistration_delay.timeout_seconds',
          Value: String((config.services[0] as ServiceConfig).deregistrationDelaySeconds),
        });
      }
      const ports = listenerPorts(config.domain !== null);
      const listeners = ofType(t, 'AWS::ElasticLoadBalancingV2::Listener').map(([, l]) => l.Properties);
      expect(listeners.map((l) => l?.Port).sort()).toEqual([ports.production, ports.test].sort());
      expect(listeners.map((l) => l?.Protocol)).toEqual(
        env === 'prod' ? ['HTTPS', 'HTTPS'] : ['HTTP', 'HTTP'],
      );
    }
  });

  it('routes each listener through one handed-over rule that forwards to both groups (production: blue)', () => {
    const t = template('prod', 'Ingress');
    const rules = ofType(t, 'Custom::HandedOverListenerRule');
    expect(rules).toHaveLength(2);
    const [blueId, greenId] = ['LoadBalancerBlue', 'LoadBalancerGreen'].map(
      (prefix) =>
        ofType(t, 'AWS::ElasticLoadBalancingV2::TargetGroup').find(([id]) => id.startsWith(prefix))?.[0],
    );
    for (const [, rule] of rules) {
      expect(rule.Properties).not.toHaveProperty('Update');
      const create = text(rule.Properties?.Create);
      expect(create).toContain(`{"Ref":"${blueId}"}`);
      expect(create).toContain(`{"Ref":"${greenId}"}`);
      expect(create).toContain(ROLLOUT_OWNED_TAG.value);
    }
    const production = rules.find(([id]) => id.startsWith('LoadBalancerProductionTraffic'))?.[1];
    expect(text(production?.Properties?.Create)).toMatch(
      new RegExp(`${blueId}"\\},"\\\\",\\\\"Weight\\\\":100`),
    );
    // The listeners' own default action is a fixed 503 that nobody changes.
    for (const [, l] of ofType(t, 'AWS::ElasticLoadBalancingV2::Listener'))
      expect(l.Properties?.DefaultActions).toEqual([expect.objectContaining({ Type: 'fixed-response' })]);
  });

  it('keeps the ALB internal with access logs, and lets only the VPC reach it', () => {
    const [, alb] = onlyOfType(template('prod', 'Ingress'), 'AWS::ElasticLoadBalancingV2::LoadBalancer');
    expect(alb.Properties?.Scheme).toBe('internal');
    expect(alb.Properties?.LoadBalancerAttributes).toContainEqual({
      Key: 'access_logs.s3.enabled',
      Value: 'true',
    });
    const network = template('prod', 'Network');
    const albGroup = ofType(network, 'AWS::EC2::SecurityGroup').find(([id]) =>
      id.startsWith('NetworkLoadBalancer'),
    );
    const ingress = asArray(albGroup?.[1].Properties?.SecurityGroupIngress as Record<string, unknown>[]);
    expect(ingress.map((r) => r.CidrIp)).toEqual(['10.30.0.0/16', '10.30.0.0/16']);
  });

  it('fronts the ALB with API Gateway through a VPC link', () => {
    const t = template('prod', 'Ingress');
    const [linkId] = onlyOfType(t, 'AWS::ApiGatewayV2::VpcLink');
    const [, integration] = onlyOfType(t, 'AWS::ApiGatewayV2::Integration');
    expect(integration.Properties).toMatchObject({
      ConnectionType: 'VPC_LINK',
      ConnectionId: { Ref: linkId },
      IntegrationUri: { Ref: expect.stringMatching(/LoadBalancerAlbProduction/) },
      TlsConfig: { ServerNameToVerify: 'origin.app.example.com' },
    });
    const [, stage] = onlyOfType(t, 'AWS::ApiGatewayV2::Stage');
    expect(stage.Properties).toMatchObject({
      AccessLogSettings: { DestinationArn: expect.anything() },
      DefaultRouteSettings: { ThrottlingRateLimit: expect.any(Number) },
    });
  });

  it('puts every route of the HTTP API behind the origin-verify REQUEST authorizer', () => {
    for (const env of ENVIRONMENTS) {
      const t = template(env, 'Ingress');
      const api = httpApi(env);
      const [apiId] = onlyOfType(t, 'AWS::ApiGatewayV2::Api');
      const [authorizerId, authorizer] = onlyOfType(t, 'AWS::ApiGatewayV2::Authorizer');
      const fnId = logicalId(api.authorizerFunction.function);
      expect(authorizer.Properties, env).toMatchObject({
        ApiId: { Ref: apiId },
        AuthorizerType: 'REQUEST',
        AuthorizerPayloadFormatVersion: '2.0',
        EnableSimpleResponses: true,
        IdentitySource: [`$request.header.${ORIGIN_VERIFY_HEADER}`],
        AuthorizerResultTtlInSeconds: AUTHORIZER_CACHE_TTL.toSeconds(),
      });
      expect(AUTHORIZER_CACHE_TTL.toSeconds()).toBeGreaterThan(0);
      expect(text(authorizer.Properties?.AuthorizerUri)).toContain(`"Fn::GetAtt":["${fnId}","Arn"]`);
      const routes = ofType(t, 'AWS::ApiGatewayV2::Route');
      expect(routes.map(([, r]) => r.Properties?.RouteKey)).toContain('$default');
      for (const [id, route] of routes)
        expect(route.Properties, `${env}/${id}`).toMatchObject({
          ApiId: { Ref: apiId },
          AuthorizationType: 'CUSTOM',
          AuthorizerId: { Ref: authorizerId },
        });
      // API Gateway may invoke the function as this authorizer, and nothing else may.
      const permissions = ofType(t, 'AWS::Lambda::Permission').filter(([, p]) =>
        text(p.Properties?.FunctionName).includes(`"${fnId}"`),
      );
      expect(permissions.map(([, p]) => p.Properties)).toEqual([
        expect.objectContaining({
          Action: 'lambda:InvokeFunction',
          Principal: 'apigateway.amazonaws.com',
          SourceArn: {
            'Fn::Join': ['', [expect.any(String), { Ref: apiId }, '/authorizers/', { Ref: authorizerId }]],
          },
        }),
      ]);
      // The value it checks: a generated secret of letters and digits, which the function is told.
      const [secretId, secret] = onlyOfType(t, 'AWS::SecretsManager::Secret');
      expect(secretId).toBe(logicalId(api.originVerifySecret));
      const generated = secret.Properties?.GenerateSecretString as { PasswordLength: number };
      expect(generated).toMatchObject({ ExcludePunctuation: true });
      expect(generated.PasswordLength).toBeGreaterThanOrEqual(32);
      const fn = t.Resources[fnId] as CfnResource;
      expect(fn.Properties?.Environment).toMatchObject({
        Variables: { ORIGIN_VERIFY_SECRET_ARN: { Ref: secretId }, POWERTOOLS_SERVICE_NAME: 'origin-verify' },
      });
      // The function's own schema reads what infra sets (tokens stand in as their JSON).
      const vars =
        (fn.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {};
      const parsedEnv = OriginVerifyEnvSchema.parse(
        Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, typeof v === 'string' ? v : text(v)])),
      );
      expect(parsedEnv.ORIGIN_VERIFY_CACHE_SECONDS).toBeGreaterThan(0);
      expect(parsedEnv.ORIGIN_VERIFY_CACHE_SECONDS).toBeLessThanOrEqual(600);
    }
  });
});

describe('edge', () => {
  it('associates the us-east-1 WAF web ACL (managed rule groups and a rate rule) with CloudFront', () => {
    for (const env of ENVIRONMENTS) {
      const [aclId, acl] = onlyOfType(template(env, 'EdgeGlobal'), 'AWS::WAFv2::WebACL');
      expect(acl.Properties?.Scope).toBe('CLOUDFRONT');
      const rules = acl.Properties?.Rules as { Name: string; Statement: Record<string, unknown> }[];
      expect(rules.map((r) => r.Name)).toEqual([...MANAGED_RULE_GROUPS, RATE_RULE_NAME]);
      expect(rules.at(-1)?.Statement).toMatchObject({
        RateBasedStatement: { Limit: loadConfig(env).features.wafRateLimit, AggregateKeyType: 'IP' },
      });
      const [, distribution] = onlyOfType(template(env, 'Edge'), 'AWS::CloudFront::Distribution');
      const webAcl = (distribution.Properties?.DistributionConfig as { WebACLId?: unknown } | undefined)
        ?.WebACLId;
      // Read from the us-east-1 stack's output that publishes the ACL's ARN.
      expect(webAcl).toEqual({
        'Fn::GetStackOutput': {
          StackName: appStackName(env, 'EdgeGlobal'),
          Region: CLOUDFRONT_REGION,
          OutputName: expect.stringContaining(`${aclId}Arn`),
        },
      });
    }
  });

  it('serves static assets through origin access control and the app through a VPC origin', () => {
    const t = template('prod', 'Edge');
    const [, distribution] = onlyOfType(t, 'AWS::CloudFront::Distribution');
    const config = distribution.Properties?.DistributionConfig as Record<string, unknown>;
    const origins = config.Origins as Record<string, unknown>[];
    expect(origins.some((o) => o.OriginAccessControlId && o.S3OriginConfig)).toBe(true);
    expect(origins.some((o) => o.VpcOriginConfig)).toBe(true);
    expect(config).toMatchObject({
      Logging: { Prefix: 'cloudfront/' },
      ViewerCertificate: { MinimumProtocolVersion: 'TLSv1.2_2021', SslSupportMethod: 'sni-only' },
      Aliases: ['app.example.com'],
    });
    const [, vpcOrigin] = onlyOfType(t, 'AWS::CloudFront::VpcOrigin');
    expect(vpcOrigin.Properties?.VpcOriginEndpointConfig).toMatchObject({
      OriginProtocolPolicy: 'https-only',
    });
  });

  it('serves /api/* from the HTTP API, uncached, sending the origin-verify secret in its header', () => {
    for (const env of ENVIRONMENTS) {
      const [, distribution] = onlyOfType(template(env, 'Edge'), 'AWS::CloudFront::Distribution');
      const config = distribution.Properties?.DistributionConfig as {
        CacheBehaviors: Record<string, unknown>[];
        Origins: Record<string, unknown>[];
        WebACLId?: unknown;
      };
      const behaviors = config.CacheBehaviors.filter((b) => b.PathPattern === API_PATH_PATTERN);
      expect(behaviors, env).toHaveLength(1);
      const behavior = behaviors[0] as Record<string, unknown>;
      expect(behavior).toMatchObject({
        AllowedMethods: ['GET', 'HEAD', 'OPTIONS', 'PUT', 'PATCH', 'POST', 'DELETE'],
        CachePolicyId: cloudfront.CachePolicy.CACHING_DISABLED.cachePolicyId,
        OriginRequestPolicyId:
          cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER.originRequestPolicyId,
        ViewerProtocolPolicy: 'https-only',
      });
      const origin = config.Origins.find((o) => o.Id === behavior.TargetOriginId) as {
        DomainName: { 'Fn::Join': [string, unknown[]] };
        CustomOriginConfig: Record<string, unknown>;
        OriginCustomHeaders: { HeaderName: string; HeaderValue: { 'Fn::Join': [string, unknown[]] } }[];
      };
      expect(origin.CustomOriginConfig).toMatchObject({
        OriginProtocolPolicy: 'https-only',
        OriginSSLProtocols: ['TLSv1.2'],
      });
      // The API's own endpoint, <api id>.execute-api.<region>.<suffix>, from the Ingress stack.
      const ingress = template(env, 'Ingress');
      const [apiId] = onlyOfType(ingress, 'AWS::ApiGatewayV2::Api');
      const [apiRef, ...domainRest] = origin.DomainName['Fn::Join'][1];
      expect(publishedValue(apiRef)).toEqual({ Ref: apiId });
      expect(domainRest).toEqual([`.execute-api.${loadConfig(env).region}.`, { Ref: 'AWS::URLSuffix' }]);
      // The header's value is the secret's, resolved by CloudFormation: the template holds no value.
      expect(origin.OriginCustomHeaders.map((h) => h.HeaderName)).toEqual([ORIGIN_VERIFY_HEADER]);
      const [open, secretRef, close] = (origin.OriginCustomHeaders[0]?.HeaderValue['Fn::Join'][1] ?? []) as [
        string,
        unknown,
        string,
      ];
      expect([open, close]).toEqual(['{{resolve:secretsmanager:', ':SecretString:::}}']);
      const [secretId] = onlyOfType(ingress, 'AWS::SecretsManager::Secret');
      expect(publishedValue(secretRef)).toEqual({ Ref: secretId });
      // The same distribution carries the WAF web ACL (see above): /api/* is behind it too.
      expect(config.WebACLId).toEqual({ 'Fn::GetStackOutput': expect.anything() });
    }
  });

  it('with a domain: a DNS-validated certificate in us-east-1 and alias records', () => {
    const [, cert] = onlyOfType(template('prod', 'EdgeGlobal'), 'AWS::CertificateManager::Certificate');
    expect(cert.Properties).toMatchObject({ DomainName: 'app.example.com', ValidationMethod: 'DNS' });
    const records = ofType(template('prod', 'Edge'), 'AWS::Route53::RecordSet').map(
      ([, r]) => r.Properties?.Type,
    );
    expect(records.sort()).toEqual(['A', 'AAAA']);
  });

  it('without a domain: no certificate, no records, and still a distribution', () => {
    expect(ofType(template('dev', 'EdgeGlobal'), 'AWS::CertificateManager::Certificate')).toEqual([]);
    expect(ofType(template('dev', 'Ingress'), 'AWS::CertificateManager::Certificate')).toEqual([]);
    expect(ofType(template('dev', 'Edge'), 'AWS::Route53::RecordSet')).toEqual([]);
    onlyOfType(template('dev', 'Edge'), 'AWS::CloudFront::Distribution');
  });
});

describe('observability', () => {
  it('has the alarms the issue lists, with stable names, each notifying a severity topic', () => {
    const names = (env: string, part: string) =>
      ofType(template(env, part), 'AWS::CloudWatch::Alarm')
        .map(([, a]) => a.Properties?.AlarmName)
        .filter((n): n is string => typeof n === 'string');
    const app = names('prod', 'Observability');
    const expected = [
      'ecs-ops-prod-web-blue-5xx',
      'ecs-ops-prod-web-green-5xx',
      'ecs-ops-prod-web-blue-latency-p95',
      'ecs-ops-prod-web-green-latency-p95',
      'ecs-ops-prod-web-blue-unhealthy-hosts',
      'ecs-ops-prod-web-cpu',
      'ecs-ops-prod-web-memory',
      'ecs-ops-prod-aurora-cpu',
      'ecs-ops-prod-aurora-connections',
      'ecs-ops-prod-aurora-replica-lag',
      'ecs-ops-prod-ecs-ops-prod-redis-001-evictions',
      'ecs-ops-prod-ecs-ops-prod-redis-001-engine-cpu',
      'ecs-ops-prod-app-table-throttles',
      'ecs-ops-prod-api-origin-verify-errors',
    ];
    expect(app).toEqual(expect.arrayContaining(expected));
    const controlPlane = names('prod', 'ControlPlane');
    expect(controlPlane.filter((n) => n.endsWith('-errors')).length).toBeGreaterThanOrEqual(2); // one per function
    expect(controlPlane.filter((n) => n.endsWith('-failed')).length).toBeGreaterThanOrEqual(1); // one per workflow
    expect(controlPlane.filter((n) => n.endsWith('-throttles')).length).toBeGreaterThanOrEqual(3); // one per table
    for (const part of ['Observability', 'ControlPlane']) {
      const ours = ofType(template('prod', part), 'AWS::CloudWatch::Alarm').filter(([, a]) =>
        String(a.Properties?.AlarmName).startsWith('ecs-ops-prod-'),
      );
      for (const [, alarm] of ours) {
        // The control plane's own alarms reach people through the alert router, by their names.
        const routed = String(alarm.Properties?.AlarmName).startsWith(routedAlarmPrefix('ecs-ops-prod'));
        expect(asArray(alarm.Properties?.AlarmActions as unknown[])).toHaveLength(routed ? 0 : 1);
        expect(alarm.Properties?.TreatMissingData).toBe('notBreaching');
      }
    }
  });

  it("provisions the spot game day: an FIS template over the config's share of the spot group, stopped by the services' alarms", async () => {
    for (const env of ENVIRONMENTS) {
      const config = loadConfig(env);
      const t = template(env, 'Observability');
      const [experimentId, experiment] = onlyOfType(t, 'AWS::FIS::ExperimentTemplate');
      const group = config.compute.spot.asgName;
      const percent = Math.round((config.gameDays?.spotFraction ?? 0) * 100);
      expect(percent).toBeGreaterThan(0);
      expect(experiment.Properties).toMatchObject({
        Targets: {
          [GAME_DAY_TARGET]: {
            ResourceType: 'aws:ec2:spot-instance',
            ResourceTags: { [GROUP_NAME_TAG]: group },
            Filters: [{ Path: 'State.Name', Values: ['running'] }],
            SelectionMode: `PERCENT(${percent})`,
          },
        },
        Actions: {
          [GAME_DAY_ACTION]: {
            ActionId: 'aws:ec2:send-spot-instance-interruptions',
            Parameters: { durationBeforeInterruption: 'PT2M' },
            Targets: { SpotInstances: GAME_DAY_TARGET },
          },
        },
        Tags: { Name: `ecs-ops-${env}-spot-game-day` },
      });
      // Every target group's 5xx and unhealthy-hosts alarm, blue and green, of every service (one
      // service here: four alarms, each a stop condition of its own; past five, see app-services).
      const stops = asArray(experiment.Properties?.StopConditions as unknown[]) as {
        Source: string;
        Value: unknown;
      }[];
      expect(stops.map((c) => c.Source)).toEqual(stops.map(() => 'aws:cloudwatch:alarm'));
      expect(ofType(t, 'AWS::CloudWatch::CompositeAlarm')).toEqual([]);
      const referenced = stops
        .map((c) => (c.Value as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0])
        .map((id) => (t.Resources[id] as CfnResource).Properties?.AlarmName)
        .sort();
      expect(referenced).toEqual(
        config.services
          .flatMap((service) =>
            ['blue', 'green'].flatMap((color) =>
              ['5xx', 'unhealthy-hosts'].map((kind) => `ecs-ops-${env}-${service.name}-${color}-${kind}`),
            ),
          )
          .sort(),
      );
      // ops gameday spot --aws finds it by this output.
      expect(
        (t as { Outputs?: Record<string, { Value: unknown }> }).Outputs?.SpotGameDayTemplateId?.Value,
      ).toEqual({
        'Fn::GetAtt': [experimentId, 'Id'],
      });

      // The experiment's role interrupts the spot group's instances and nothing else.
      const artifact = app.synth.assembly.getStackByName(appStackName(env, 'Observability'));
      const resolved = new ResolvedApp([
        {
          stackName: artifact.stackName,
          template: artifact.template,
          region: artifact.environment.region,
          accountId: artifact.environment.account,
        },
      ]);
      const [roleId, role] = ofType(t, 'AWS::IAM::Role').find(([, r]) =>
        text(r.Properties?.AssumeRolePolicyDocument).includes('fis.amazonaws.com'),
      ) as [string, CfnResource];
      expect(text(role.Properties?.AssumeRolePolicyDocument)).toContain('aws:SourceAccount');
      const fis = resolved.principal(artifact.stackName, roleId);
      const instance = `arn:aws:ec2:${config.region}:${config.account}:instance/i-0123456789abcdef0`;
      const interrupt = (tags: Record<string, string>) =>
        authorize(fis, {
          action: 'ec2:SendSpotInstanceInterruptions',
          resource: instance,
          context: Object.fromEntries(Object.entries(tags).map(([k, v]) => [`aws:ResourceTag/${k}`, v])),
        });
      expect(await interrupt({ [GROUP_NAME_TAG]: group })).toBe('Allowed');
      expect(await interrupt({ [GROUP_NAME_TAG]: config.compute.onDemand.asgName })).toBe('ImplicitlyDenied');
      expect(await interrupt({})).toBe('ImplicitlyDenied');
      expect(await authorize(fis, { action: 'ec2:TerminateInstances', resource: instance })).toBe(
        'ImplicitlyDenied',
      );

      // Whoever runs it (ops gameday spot --aws) may start this template and follow its experiments.
      const [runnerId] = ofType(t, 'AWS::IAM::ManagedPolicy').find(
        ([, p]) => p.Properties?.ManagedPolicyName === `ecs-ops-${env}-spot-game-day`,
      ) as [string, CfnResource];
      const ctx = resolved.context(artifact.stackName);
      const runner: Principal = {
        arn: `arn:aws:iam::${config.account}:role/on-call`,
        accountId: config.account,
        policies: [
          {
            name: 'runner',
            policy: resolveTokens(
              (t.Resources[runnerId] as CfnResource).Properties?.PolicyDocument,
              ctx,
            ) as never,
          },
        ],
      };
      const templateArn = String(
        resolveTokens(
          {
            'Fn::Join': [
              '',
              [
                `arn:aws:fis:${config.region}:${config.account}:experiment-template/`,
                { 'Fn::GetAtt': [experimentId, 'Id'] },
              ],
            ],
          },
          ctx,
        ),
      );
      const experimentArn = `arn:aws:fis:${config.region}:${config.account}:experiment/EXPaBCD1efg2HIJkL3`;
      expect(await authorize(runner, { action: 'fis:StartExperiment', resource: templateArn })).toBe(
        'Allowed',
      );
      expect(
        await authorize(runner, {
          action: 'fis:StartExperiment',
          resource: templateArn.replace(/experiment-template\/.*/, 'experiment-template/EXTsomeoneelses'),
        }),
      ).toBe('ImplicitlyDenied');
      for (const action of ['fis:GetExperiment', 'fis:ListExperimentResolvedTargets'])
        expect(await authorize(runner, { action, resource: experimentArn })).toBe('Allowed');
      expect(await authorize(runner, { action: 'fis:GetExperimentTemplate', resource: templateArn })).toBe(
        'Allowed',
      );
      expect(await authorize(runner, { action: 'fis:UpdateExperimentTemplate', resource: templateArn })).toBe(
        'ImplicitlyDenied',
      );
    }
  });

  it('has a dashboard, a multi-region CloudTrail with file validation, and e-mail alerts with a DLQ', () => {
    const t = template('prod', 'Observability');
    onlyOfType(t, 'AWS::CloudWatch::Dashboard');
    const [, trail] = onlyOfType(t, 'AWS::CloudTrail::Trail');
    expect(trail.Properties).toMatchObject({
      IsMultiRegionTrail: true,
      EnableLogFileValidation: true,
      IsLogging: true,
    });
    const subscriptions = ofType(t, 'AWS::SNS::Subscription').map(([, r]) => r.Properties ?? {});
    for (const subscription of subscriptions)
      expect(subscription).toMatchObject({ Protocol: 'email', RedrivePolicy: expect.anything() });
    const alerts = loadConfig('prod').alerts;
    expect(subscriptions.map((p) => p.Endpoint).sort()).toEqual(
      [...alerts.emails, ...alerts.warningEmails].sort(),
    );
  });

  it('gives every topic an alarm notifies a subscriber wherever alerts are sent', () => {
    const cp = template('prod', 'ControlPlane');
    const topicIds = ofType(cp, 'AWS::SNS::Topic').map(([id]) => id);
    // A topic is named by Ref in its own stack and by a published output (its id in the name) elsewhere.
    const topicOf = (ref: unknown): string | undefined => {
      const r = ref as { Ref?: string; 'Fn::GetStackOutput'?: { OutputName: string } };
      if (r.Ref) return topicIds.find((id) => id === r.Ref);
      const output = r['Fn::GetStackOutput']?.OutputName ?? '';
      return topicIds.find((id) => output.includes(id));
    };
    const alarms = [
      ...ofType(template('prod', 'Observability'), 'AWS::CloudWatch::Alarm'),
      ...ofType(cp, 'AWS::CloudWatch::Alarm'),
    ];
    const notified = new Set(
      alarms.flatMap(([, a]) => asArray(a.Properties?.AlarmActions as unknown[]).map(topicOf)),
    );
    const subscribed = new Set(
      ofType(template('prod', 'Observability'), 'AWS::SNS::Subscription').map(([, sub]) =>
        topicOf(sub.Properties?.TopicArn),
      ),
    );
    expect([...notified].sort()).toEqual(topicIds.filter((id) => /Critical|Warning/.test(id)).sort());
    for (const topic of notified) expect(subscribed.has(topic), `${topic} has a subscriber`).toBe(true);
  });

  it('refuses an environment that pages but sends its warnings nowhere, naming the key', () => {
    const prod = { ...loadConfig('prod') };
    const parsed = EnvironmentConfigSchema.safeParse({ ...prod, alerts: { emails: ['oncall@example.com'] } });
    expect(parsed.success).toBe(false);
    expect(JSON.stringify(parsed.error?.issues)).toContain('warningEmails');
  });

  it('encrypts the trail’s log files with a rotating customer-managed key only that trail may use', () => {
    const t = template('prod', 'Observability');
    const [, trail] = onlyOfType(t, 'AWS::CloudTrail::Trail');
    const keyId = (trail.Properties?.KMSKeyId as { 'Fn::GetAtt'?: [string, string] })?.['Fn::GetAtt']?.[0];
    const key = t.Resources[keyId as string];
    expect(key?.Type).toBe('AWS::KMS::Key');
    expect(key?.Properties?.EnableKeyRotation).toBe(true);
    const forCloudTrail = statementsOfKey(key as CfnResource).filter((st) =>
      text(st).includes('cloudtrail.amazonaws.com'),
    );
    expect(forCloudTrail.flatMap((st) => asArray(st.Action)).sort()).toEqual([
      'kms:DescribeKey',
      'kms:GenerateDataKey*',
    ]);
    for (const st of forCloudTrail)
      expect(text(st.Condition), text(st)).toContain(':trail/ecs-ops-prod-trail');
  });

  it('keeps every control-plane log for as long as the environment’s config says', () => {
    for (const env of ENVIRONMENTS) {
      const days = loadConfig(env).logRetentionDays;
      const groups = ofType(template(env, 'ControlPlane'), 'AWS::Logs::LogGroup');
      expect(groups.length).toBeGreaterThanOrEqual(13); // 9 functions, 4 workflows
      for (const [id, group] of groups) expect(group.Properties?.RetentionInDays, `${env}/${id}`).toBe(days);
    }
  });

  it('sets a retention on every log group of every stack', () => {
    for (const { name, template: t } of allTemplates()) {
      for (const [id, group] of ofType(t, 'AWS::Logs::LogGroup'))
        expect(group.Properties?.RetentionInDays, `${name}/${id}`).toEqual(expect.any(Number));
    }
  });
});
