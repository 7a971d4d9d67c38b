// Errors that can cross into Step Functions carry a stable `name`: state machines
// retry or catch on it, so renaming one is a breaking change.

export class OpsError extends Error {
  override readonly name: string = 'OpsError';
}

/** Input (event, console input, config) failed validation. Never retried. */
export class InvalidInputError extends OpsError {
  override readonly name = 'InvalidInput';
  constructor(
    readonly field: string,
    readonly problem: string,
    readonly received?: unknown,
  ) {
    super(`${field}: ${problem}${received === undefined ? '' : ` (got ${preview(received)})`}`);
  }
}

/** Another actor holds the lease on the resource. */
export class LockHeldError extends OpsError {
  override readonly name = 'LockHeld';
  constructor(
    readonly resource: string,
    readonly holder: string,
    readonly expiresAt: string,
  ) {
    super(`${resource} is locked by ${holder} until ${expiresAt}`);
  }
}

/** The named thing (cluster, service, instance) is not managed by this control plane. */
export class UnknownResourceError extends OpsError {
  override readonly name = 'UnknownResource';
}

/** Something that should have changed did not read back as changed. */
export class VerificationFailedError extends OpsError {
  override readonly name = 'VerificationFailed';
}

function preview(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : JSON.stringify(value ?? null);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
