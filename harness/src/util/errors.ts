// Errors the user can act on: what went wrong, with which input, and the fix.

/** A failure of the harness or the infrastructure (exit code 2), not of the code under test. */
export class InfraError extends Error {
  constructor(
    message: string,
    /** Extra detail shown under the message: a log tail, the console tail. */
    readonly detail?: string,
  ) {
    super(message);
    this.name = 'InfraError';
  }
}

/** Bad input from the user: an option, a path, a config key. */
export class UsageError extends InfraError {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
