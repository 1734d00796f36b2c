// JSON config files checked by zod schemas, and zod's issues turned into messages a user can act
// on: every problem in the file at once, each as `<file>: <key path>: <what is wrong and the fix>`.
import { z } from 'zod';
import { UsageError } from '../util/errors.js';

/** A zod error message: a fixed text, or one made from the value that broke the rule. */
export type Message = string | ((input: unknown) => string);

/** The `{ error }` parameter of a zod schema or check, from a message. */
export function says(message: Message): { error: (issue: { input: unknown }) => string } {
  return { error: (issue) => (typeof message === 'string' ? message : message(issue.input)) };
}

/** A value as the user wrote it, for a message: `"debian"`, `3`, `["a"]`. */
export function shown(input: unknown): string {
  return input === undefined ? 'nothing' : JSON.stringify(input);
}

/** The end of a message about a required key: what was there instead, or that it is missing. */
export function got(input: unknown): string {
  return input === undefined ? '; it is missing' : `, not ${JSON.stringify(input)}`;
}

/**
 * A list of strings each matching `pattern`; `fix` says what the list must be, for a value that
 * is no list and, with the bad item, for each item that does not fit.
 */
export function listOf(pattern: RegExp, fix: string): z.ZodArray<z.ZodString> {
  const item = says((v) => `${fix}; ${shown(v)} is not one`);
  return z.array(
    z.string(item).regex(pattern, item),
    says((v) => `${fix}, not ${shown(v)}`),
  );
}

/**
 * An object whose keys are all known: an unknown key (a typo) is an error listing the known ones;
 * keys starting with '$' (`$comment`) are allowed by the shape but not advertised.
 */
export function strictObject<S extends z.core.$ZodLooseShape>(shape: S, expected: string): z.ZodObject<S, z.core.$strict> {
  const known = Object.keys(shape).filter((k) => !k.startsWith('$'));
  return z.strictObject(shape, {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => JSON.stringify(k)).join(', ')} (known: ${known.join(', ')})`
        : `expected ${expected}${got(issue.input)}`,
  });
}

/** `targets."6.1-debug".kernel.config[2]`: a key path as one would write it in JavaScript. */
export function keyPath(path: readonly PropertyKey[]): string {
  return path
    .map((key, i) => {
      if (typeof key === 'number') return `[${key}]`;
      const name = String(key);
      const segment = /^[A-Za-z_$][\w$]*$/.test(name) ? name : JSON.stringify(name);
      return i === 0 ? segment : `.${segment}`;
    })
    .join('');
}

interface Problem {
  path: PropertyKey[];
  message: string;
}

/** A union's issue is reported as its one branch the value's type fits, if there is exactly one. */
const typeMismatch = (issue: z.core.$ZodIssue): boolean => issue.path.length === 0 && (issue.code === 'invalid_type' || issue.code === 'invalid_value');

function problems(issue: z.core.$ZodIssue, prefix: PropertyKey[]): Problem[] {
  const path = [...prefix, ...issue.path];
  if (issue.code === 'invalid_union') {
    // `"kernel": {"source": …}` with a bad fragment: the object branch's own issues say what is
    // wrong; "host" or "debian:…" failing on an object says nothing.
    const fitting = issue.errors.filter((branch) => !branch.every(typeMismatch));
    const [only] = fitting;
    if (only && fitting.length === 1) return only.flatMap((i) => problems(i, path));
  }
  if (issue.code === 'invalid_key') return issue.issues.flatMap((i) => problems(i, path));
  return [{ path, message: issue.message }];
}

/**
 * One line per problem. A message about a key starts with the key in quotes (`"kernel" must
 * be …`), so the key is not repeated in the path before it: `targets.x: "kernel" must be …`.
 */
export function problemLines(error: z.ZodError, file: string): string[] {
  return error.issues
    .flatMap((issue) => problems(issue, []))
    .map(({ path, message }) => {
      const last = path.at(-1);
      const where = typeof last === 'string' && message.startsWith(`"${last}"`) ? path.slice(0, -1) : path;
      return where.length ? `${file}: ${keyPath(where)}: ${message}` : `${file}: ${message}`;
    });
}

/** Messages for the issues a schema gives no message of its own (a safety net: every schema here should). */
function fallback(issue: z.core.$ZodRawIssue): string {
  if (issue.code === 'invalid_type') return `expected ${issue.expected}, not ${shown(issue.input)}`;
  return `${shown(issue.input)} is not allowed here`;
}

/** Parses `text` as JSON and validates it with `schema`; a UsageError names every problem, its key and the fix. */
export function parseJsonWith<S extends z.ZodType>(schema: S, text: string, file: string): z.output<S> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${file}: not valid JSON (${err instanceof Error ? err.message : String(err)})`, { cause: err });
  }
  const result = schema.safeParse(raw, { error: fallback });
  if (!result.success) throw new UsageError(problemLines(result.error, file).join('\n'), { cause: result.error });
  return result.data;
}
