// Does a request carry the origin-verify value CloudFront adds? Pure apart from the client it is
// given: the secret is read through it and kept for a while (the clock decides how long), and the
// header is compared in constant time.
import { timingSafeEqual } from 'node:crypto';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import type { Clock } from '../shared/clock.ts';

/** What the verifier needs of a Secrets Manager client: the SDK's, or a test's fake. */
export interface SecretReader {
  send(command: GetSecretValueCommand): Promise<{ SecretString?: string | undefined }>;
}

export interface OriginVerifierOptions {
  readonly secrets: SecretReader;
  readonly clock: Clock;
  readonly secretArn: string;
  /** A value read is used this long, then read again (so a changed secret is picked up). */
  readonly cacheMs: number;
}

export interface OriginVerifier {
  /** True only when `presented` is exactly the secret's current value. */
  isAuthorized(presented: string | undefined): Promise<boolean>;
}

/** Constant-time equality of the presented header and the expected value (UTF-8 bytes). */
export function sameValue(presented: string, expected: Buffer): boolean {
  const given = Buffer.from(presented, 'utf8');
  // The length is no secret (infra generates a fixed length); timingSafeEqual needs equal lengths.
  if (given.length !== expected.length) return false;
  return timingSafeEqual(given, expected);
}

export function originVerifier(options: OriginVerifierOptions): OriginVerifier {
  let cached: { value: Buffer; readAt: number } | undefined;

  async function expected(): Promise<Buffer> {
    const now = options.clock.now();
    if (cached && now - cached.readAt < options.cacheMs) return cached.value;
    const out = await options.secrets.send(new GetSecretValueCommand({ SecretId: options.secretArn }));
    // An empty secret would let an empty header through: refuse to work with one.
    if (!out.SecretString)
      throw new Error(`the origin-verify secret ${options.secretArn} has no string value`);
    cached = { value: Buffer.from(out.SecretString, 'utf8'), readAt: now };
    return cached.value;
  }

  return {
    async isAuthorized(presented) {
      if (presented === undefined || presented === '') return false;
      return sameValue(presented, await expected());
    },
  };
}
