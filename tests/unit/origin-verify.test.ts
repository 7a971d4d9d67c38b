// The origin-verify authorizer's rule (functions/origin-verify/verify.ts): only the secret's exact
// value passes, compared in constant time, and the value is read again once its cache time is up.
import type { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from 'vitest';
import { originVerifier, type SecretReader, sameValue } from '../../functions/origin-verify/verify.ts';

const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:222222222222:secret:origin-verify-AbCdEf';
const VALUE = 'Q7xk2Lp9Vb4Rt8Zm3Nc6Hd1Wf5Gj0Sy2Ea7Ku4Po9Ti6';
const CACHE_MS = 5 * 60_000;

/** A Secrets Manager stand-in: answers with `state.current` and records the calls. */
function fakeSecrets(initial: string | undefined) {
  const state = { current: initial, calls: [] as GetSecretValueCommand[] };
  const client: SecretReader = {
    send: async (command) => {
      state.calls.push(command);
      return state.current === undefined ? {} : { SecretString: state.current };
    },
  };
  return { client, state };
}

function setup(initial: string | undefined) {
  const clock = { t: Date.parse('2026-12-02T10:00:00Z'), now: () => clock.t };
  const { client, state } = fakeSecrets(initial);
  const verifier = originVerifier({ secrets: client, clock, secretArn: SECRET_ARN, cacheMs: CACHE_MS });
  return { verifier, clock, state };
}

describe('origin verify', () => {
  it('lets the exact value through, reading it from the named secret', async () => {
    const { verifier, state } = setup(VALUE);
    expect(await verifier.isAuthorized(VALUE)).toBe(true);
    expect(state.calls.map((c) => c.input)).toEqual([{ SecretId: SECRET_ARN }]);
  });

  it('refuses a wrong value of the same length, a missing or empty header, and other lengths', async () => {
    const { verifier } = setup(VALUE);
    const sameLength = `${VALUE.slice(0, -1)}${VALUE.endsWith('x') ? 'y' : 'x'}`;
    expect(sameLength).toHaveLength(VALUE.length);
    expect(await verifier.isAuthorized(sameLength)).toBe(false);
    expect(await verifier.isAuthorized(undefined)).toBe(false);
    expect(await verifier.isAuthorized('')).toBe(false);
    expect(await verifier.isAuthorized(VALUE.slice(0, -1))).toBe(false);
    expect(await verifier.isAuthorized(`${VALUE}x`)).toBe(false);
    expect(await verifier.isAuthorized(` ${VALUE}`)).toBe(false);
    expect(await verifier.isAuthorized(VALUE.toLowerCase())).toBe(false);
  });

  it('compares bytes: the same number of characters but more bytes is refused, not an error', () => {
    const expected = Buffer.from('abcd', 'utf8');
    expect(sameValue('abcd', expected)).toBe(true);
    // 'é' is two bytes in UTF-8: timingSafeEqual would throw on buffers of different lengths.
    expect(sameValue('abcé', expected)).toBe(false);
    expect(sameValue('abce', expected)).toBe(false);
  });

  it('keeps the value for the cache time, then reads it again and follows a changed secret', async () => {
    const { verifier, clock, state } = setup(VALUE);
    expect(await verifier.isAuthorized(VALUE)).toBe(true);
    clock.t += CACHE_MS - 1;
    expect(await verifier.isAuthorized(VALUE)).toBe(true);
    expect(await verifier.isAuthorized('nope')).toBe(false);
    expect(state.calls).toHaveLength(1);

    // The secret changes: until the cache time is up the old value still passes.
    const next = 'Zr5Tb8Wq2Mx4Nv7Kc1Pd9Hs3Lf6Gj0Ay2Eu7Ko4Ri9Si6';
    state.current = next;
    expect(await verifier.isAuthorized(next)).toBe(false);
    expect(state.calls).toHaveLength(1);
    clock.t += 1;
    expect(await verifier.isAuthorized(next)).toBe(true);
    expect(await verifier.isAuthorized(VALUE)).toBe(false);
    expect(state.calls).toHaveLength(2);
  });

  it('does not read the secret for a request without the header', async () => {
    const { verifier, state } = setup(VALUE);
    expect(await verifier.isAuthorized(undefined)).toBe(false);
    expect(state.calls).toHaveLength(0);
  });

  it('fails, rather than letting anything through, when the secret has no string value', async () => {
    const { verifier } = setup(undefined);
    await expect(verifier.isAuthorized('')).resolves.toBe(false);
    await expect(verifier.isAuthorized(VALUE)).rejects.toThrow(/has no string value/);
  });
});
