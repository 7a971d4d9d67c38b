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

/** The service cannot be rolled out as it is (leftover task sets, traffic already on green, ...). */
export class PreconditionFailedError extends OpsError {
  override readonly name = 'PreconditionFailed';
}

/** A freeze window covers the action, and no break-glass override was given. */
export class FrozenError extends OpsError {
  override readonly name = 'Frozen';
}

/** A service's error budget burns too fast (its SLO's burn-rate rules fire), and no break-glass override was given. */
export class ErrorBudgetBurningError extends OpsError {
  override readonly name = 'ErrorBudgetBurning';
}

/** Something that should have changed did not read back as changed. */
export class VerificationFailedError extends OpsError {
  override readonly name = 'VerificationFailed';
}

function preview(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value ?? null) ?? String(value);
  } catch {
    // Not JSON (a BigInt, a cycle): still say what came rather than fail to say it.
    try {
      text = String(value);
    } catch {
      text = `a ${typeof value}`;
    }
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
