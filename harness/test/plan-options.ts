// `sockvm run <argv> --results-dir /res` parsed as from /w: the options the planner tests plan with.
import { parseRunOptions, type RunOptions } from '../src/config/run-options.js';

export function planOptions(argv: string[]): RunOptions {
  const o = parseRunOptions(['--results-dir', '/res', ...argv], '/w');
  if (o === 'help') throw new Error('planOptions: --help has no options to plan with');
  return o;
}
