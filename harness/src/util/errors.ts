// Errors the user can act on: what went wrong, with which input, and the fix; the error that
// caused it is kept (ES2022 `cause`) for -v and for whoever catches it.

/** A failure of the harness or the infrastructure (exit code 2), not of the code under test. */
export class InfraError extends Error {
  constructor(
    message: string,
    /** Extra detail shown under the message: a log tail, the console tail. */
    readonly detail?: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'InfraError';
  }
}

/** Bad input from the user: an option, a path, a config key. */
export class UsageError extends InfraError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, undefined, options);
    this.name = 'UsageError';
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** An error with its stack and its causes' (for -v): what an unexpected failure needs. */
export function errorReport(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err, depth = 0; e !== undefined && depth < 8; depth++) {
    parts.push(depth === 0 ? describe(e) : `caused by: ${describe(e)}`);
    e = e instanceof Error ? e.cause : undefined;
  }
  return parts.join('\n');
}

function describe(e: unknown): string {
  return e instanceof Error ? (e.stack ?? `${e.name}: ${e.message}`) : String(e);
}
