// Lambda REQUEST authorizer of the HTTP API (simple responses): a request is let through only
// when it carries the x-origin-verify header CloudFront adds, i.e. it came through CloudFront and
// its WAF. API Gateway caches the answer per header value for a few minutes.
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { APIGatewayRequestAuthorizerEventV2, APIGatewaySimpleAuthorizerResult } from 'aws-lambda';
import { awsClient } from '../shared/clients.ts';
import { type Clock, systemClock } from '../shared/clock.ts';
import { parseEnv } from '../shared/env.ts';
import { lambdaHandler } from '../shared/lambda-handler.ts';
import { logger } from '../shared/logger.ts';
import { ORIGIN_VERIFY_HEADER, OriginVerifyEnvSchema } from './config.ts';
import { type OriginVerifier, originVerifier } from './verify.ts';

export function createHandler(options: { clock?: Clock } = {}) {
  const clock = options.clock ?? systemClock;
  let verifier: OriginVerifier | undefined;
  return lambdaHandler(
    async (event: APIGatewayRequestAuthorizerEventV2): Promise<APIGatewaySimpleAuthorizerResult> => {
      if (!verifier) {
        const env = parseEnv(OriginVerifyEnvSchema);
        verifier = originVerifier({
          secrets: awsClient(SecretsManagerClient),
          clock,
          secretArn: env.ORIGIN_VERIFY_SECRET_ARN,
          cacheMs: env.ORIGIN_VERIFY_CACHE_SECONDS * 1000,
        });
      }
      // HTTP API (payload 2.0) passes header names in lower case.
      const isAuthorized = await verifier.isAuthorized(event.headers?.[ORIGIN_VERIFY_HEADER]);
      // Never the header's value: only whether it matched, and where the request went.
      if (!isAuthorized)
        logger.warn('Refused a request without the origin-verify value', { routeArn: event.routeArn });
      return { isAuthorized };
    },
  );
}

export const handler = createHandler();
