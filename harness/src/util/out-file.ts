// Writing the run's output (results, logs, keys, the image): a write that fails (ENOSPC, EACCES,
// EISDIR, …) is an infrastructure error naming the file, never a bare "ENOSPC: …, write" without
// a path nor an unhandled rejection with a stack trace.
import { appendFile, writeFile } from 'node:fs/promises';
import { InfraError } from './errors.js';

const WHY: Record<string, string> = {
  ENOSPC: 'no space left on its filesystem',
  EDQUOT: 'disk quota exceeded',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'it is a directory',
  ENOTDIR: 'a parent is not a directory',
  ENOENT: 'its directory is gone',
  EROFS: 'read-only filesystem',
  EIO: 'I/O error',
};

/** Whether `err` is a file system error of the kinds above (not already one of ours). */
export function isIoError(err: unknown): err is NodeJS.ErrnoException {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return !(err instanceof InfraError) && typeof code === 'string' && code in WHY;
}

/** `err` (from writing `path`) as the infrastructure error it is: "cannot write <path>: ENOSPC (…)". */
export function ioError(path: string, err: unknown): InfraError {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const why = code ? `${code} (${WHY[code] ?? (err as Error).message})` : String(err);
  return new InfraError(`cannot write ${path}: ${why}`, undefined, { cause: err });
}

type Data = Parameters<typeof writeFile>[1];
type Options = Parameters<typeof writeFile>[2];

export async function writeOut(path: string, data: Data, options?: Options): Promise<void> {
  try {
    await writeFile(path, data, options);
  } catch (err) {
    throw ioError(path, err);
  }
}

export async function appendOut(path: string, data: string): Promise<void> {
  try {
    await appendFile(path, data);
  } catch (err) {
    throw ioError(path, err);
  }
}

/**
 * A file appended to in order from callbacks that cannot await (a guest's output, line by line).
 * A failed append stops the later ones and is kept: flush() rejects with it, naming the file, and
 * nothing is left as an unhandled rejection in between.
 */
export class AppendLog {
  private queue: Promise<void> = Promise.resolve();
  error: InfraError | undefined;

  constructor(readonly path: string) {}

  append(text: string): void {
    this.queue = this.queue.then(async () => {
      if (this.error) return;
      await appendFile(this.path, text).catch((err: unknown) => {
        this.error = ioError(this.path, err);
      });
    });
  }

  /** Waits for the appends so far; rejects with the first one that failed. */
  async flush(): Promise<void> {
    await this.queue;
    if (this.error) throw this.error;
  }
}
