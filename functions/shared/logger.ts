import { Logger } from '@aws-lambda-powertools/logger';

// Events and inputs are not ours: a field may carry a credential (a key pasted into a reason, a
// SecretString in an alarm's reason, a bad value quoted by an InvalidInputError). Every log line
// goes through redact() before it is written; tests/reliability/secrets.test.ts checks it.

export const REDACTED = '[REDACTED]';

/** Keys whose values are secrets whatever they look like. */
const SECRET_KEY =
  /secret|password|passwd|passphrase|credential|token|api[-_]?key|private[-_]?key|authorization/i;

const B64 = 'A-Za-z0-9/+';
const SECRET_PATTERNS: RegExp[] = [
  // AWS access key ids: long-term (AKIA), temporary (ASIA) and the other credential kinds.
  /\b(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b/g,
  // STS session tokens.
  /\b(?:IQoJb3JpZ2luX2Vj|FwoGZXIvYXdzE)[A-Za-z0-9/+=]*/g,
  // AWS secret access keys: 40 base64 characters of mixed case, standing alone (or cut short by
  // an InvalidInputError's "..."). Hex digests (one case) and longer runs do not match.
  new RegExp(
    `(?<![${B64}=])(?=[${B64}]{0,39}[a-z])(?=[${B64}]{0,39}[A-Z])(?=[${B64}]{0,39}[0-9/+])(?:[${B64}]{40}(?![${B64}=])|[${B64}]{16,39}(?=\\.\\.\\.))`,
    'g',
  ),
];
// `"password": "…"`, `password=…`, and the same inside quoted JSON (`\"password\":\"…\"`).
const SECRET_PAIR =
  /((?:secret|password|passwd|passphrase|token|api[-_]?key|private[-_]?key|credentials?)[A-Za-z_-]*\\?"?\s*[:=]\s*\\?"?)[^"\\\s,;&}]+/gi;

/** The text with anything that looks like a credential replaced by [REDACTED]. */
export function redact(text: string): string {
  let out = text.replace(SECRET_PAIR, `$1${REDACTED}`);
  for (const pattern of SECRET_PATTERNS) out = out.replace(pattern, REDACTED);
  return out;
}

function redactingReplacer(key: string, value: unknown): unknown {
  if (
    key !== '' &&
    SECRET_KEY.test(key) &&
    value !== null &&
    value !== undefined &&
    typeof value !== 'boolean'
  )
    return REDACTED;
  return typeof value === 'string' ? redact(value) : value;
}

/** One logger per function bundle; the service name comes from POWERTOOLS_SERVICE_NAME. */
export const logger = new Logger({ jsonReplacerFn: redactingReplacer });

/** What decision modules need from a logger. */
export type Log = Pick<Logger, 'info' | 'warn' | 'error' | 'debug'>;
