// Every subcommand's options go through node:util parseArgs; its errors become usage errors
// that name the command and where its help is.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './errors.js';

type Options = NonNullable<ParseArgsConfig['options']>;

export function parseCommandArgs<O extends Options>(command: string, args: string[], options: O, allowPositionals = false) {
  try {
    return parseArgs({ args, options, allowPositionals, strict: true });
  } catch (err) {
    const why = err instanceof Error ? (err.message.split('\n')[0] ?? err.message) : String(err);
    throw new UsageError(`${command}: ${why}; see '${command.split(' ').slice(0, 2).join(' ')} --help'`, { cause: err });
  }
}
