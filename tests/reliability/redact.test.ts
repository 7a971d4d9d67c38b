// The logger's redaction (functions/shared/logger.ts): what it hides, and what it must leave
// readable (the ids, ARNs, names and hashes operators search the logs for).
import { afterEach, describe, expect, it } from 'vitest';
import { logger, REDACTED, redact } from '../../functions/shared/logger.ts';

describe('redact', () => {
  it.each([
    ['an access key id', 'key AKIAQ7XZ3M4N5P6R2S7T was used', 'key [REDACTED] was used'],
    ['a temporary access key id', 'ASIAW2V5K7L3M9N4P8Q6', REDACTED],
    ['a secret access key', 'secret q8Vt3/mZk9+Lw2RbX7sPfN4yHc6JdE1gUa5oKi0T here', 'secret [REDACTED] here'],
    ['a secret access key cut short by "..."', '(got "q8Vt3/mZk9+Lw2RbX7s...)', '(got "[REDACTED]...)'],
    ['a session token', 'token IQoJb3JpZ2luX2VjEHcaCWV1LXdlc3QtMSJH+/==', 'token [REDACTED]'],
    [
      'a SecretString',
      '{"username":"app","password":"pW9-xQ2","apiKey":"k-123"}',
      '{"username":"app","password":"[REDACTED]","apiKey":"[REDACTED]"}',
    ],
    [
      'a SecretString quoted in an error message',
      'got "{\\"password\\":\\"pW9-xQ2\\",\\"engine\\":\\"pg\\"}"',
      'got "{\\"password\\":\\"[REDACTED]\\",\\"engine\\":\\"pg\\"}"',
    ],
    [
      'a connection string',
      'postgres://db?user=app&password=pW9-xQ2&ssl=1',
      'postgres://db?user=app&password=[REDACTED]&ssl=1',
    ],
  ])('hides %s', (_, text, expected) => {
    expect(redact(text)).toBe(expected);
  });

  it.each([
    'i-0123456789abcdef0',
    'arn:aws:ecs:us-east-1:123456789012:container-instance/web/0f1e2d3c4b5a69788796a5b4c3d2e1f0',
    'arn:aws:ecs:us-east-1:123456789012:task/web/3d8b1a1e7cfb4f0c9d1e5f6a7b8c9d0e',
    'remediate-web-api-cpu-high-829666ecb70be9c0b1b5fc5aaec38107',
    'arn:aws:lambda:us-east-1:123456789012:function:EcsOps-local-ControlPlane-SpotInterruptionFunctionBCBE5098',
    'da39a3ee5e6b4b0d3255bfef95601890afd80709',
    '36e02f3c-82ff-42e2-b58e-e666f284ef90',
    '2026-11-20T10:15:00.000Z',
    'web/api: scaled out from 4 to 6 because the alarm is in ALARM',
    'detail.instance-id: expected an EC2 instance id like i-0123456789abcdef0 (got "web-1")',
  ])('leaves %s as it is', (text) => {
    expect(redact(text)).toBe(text);
  });
});

describe('the functions logger', () => {
  const written: string[] = [];
  const write = process.stdout.write;
  afterEach(() => {
    process.stdout.write = write;
  });

  it('redacts values of secret-named keys and credentials in any string, nested or in errors', () => {
    process.stdout.write = ((chunk: string) => {
      written.push(chunk);
      return true;
    }) as typeof process.stdout.write;
    logger.setLogLevel('INFO');
    logger.info('Rotating AKIAQ7XZ3M4N5P6R2S7T', {
      credentials: { AccessKeyId: 'ASIAW2V5K7L3M9N4P8Q6', SecretAccessKey: 'anything-at-all' },
      request: {
        SecretString: 'hunter2',
        Password: 'hunter3',
        nested: ['ok', 'q8Vt3/mZk9+Lw2RbX7sPfN4yHc6JdE1gUa5oKi0T'],
      },
      error: new Error('login failed for password=hunter4'),
      instanceId: 'i-0123456789abcdef0',
      tokenCount: true,
    });
    process.stdout.write = write;
    const line = JSON.parse(written.join('')) as Record<string, unknown>;
    const text = JSON.stringify(line);
    for (const secret of [
      'AKIAQ7XZ3M4N5P6R2S7T',
      'ASIAW2V5K7L3M9N4P8Q6',
      'anything-at-all',
      'hunter2',
      'hunter3',
      'hunter4',
    ])
      expect(text).not.toContain(secret);
    expect(text).not.toContain('q8Vt3/mZk9+Lw2RbX7sPfN4yHc6JdE1gUa5oKi0T');
    expect(line).toMatchObject({
      message: `Rotating ${REDACTED}`,
      credentials: REDACTED,
      request: { SecretString: REDACTED, Password: REDACTED, nested: ['ok', REDACTED] },
      error: { name: 'Error', message: `login failed for password=${REDACTED}` },
      instanceId: 'i-0123456789abcdef0',
      tokenCount: true,
    });
  });
});
