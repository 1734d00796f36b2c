// Errors keep their cause; an unexpected one is reported with its stack and causes under -v.
import t from 'tap';
import { InfraError, UsageError, errorReport } from '../src/util/errors.js';
import { parseCommandArgs } from '../src/util/args.js';
import { parseRunOptions } from '../src/config/run-options.js';

await t.test('InfraError and UsageError carry an ES2022 cause; the report names every link', async (t) => {
  const root = new Error('EACCES: permission denied');
  const infra = new InfraError('cannot write results.json', 'detail', { cause: root });
  t.equal(infra.cause, root);
  t.equal(infra.detail, 'detail');
  const usage = new UsageError('--results-dir /x: not writable', { cause: infra });
  t.equal(usage.cause, infra);
  const report = errorReport(usage);
  t.match(report, /^UsageError: --results-dir \/x: not writable\n\s+at /);
  t.match(report, /caused by: InfraError: cannot write results\.json/);
  t.match(report, /caused by: Error: EACCES: permission denied\n\s+at /);
  t.equal(errorReport('a string'), 'a string');
});

await t.test("parseArgs' own errors become usage errors naming the command, with the cause", async (t) => {
  const err = t.throws(() => parseCommandArgs('sockvm cache prune', ['--frob'], { all: { type: 'boolean' } })) as UsageError;
  t.ok(err instanceof UsageError);
  t.match(err.message, /^sockvm cache prune: Unknown option '--frob'.*; see 'sockvm cache --help'$/);
  t.ok(err.cause instanceof Error, 'the parseArgs error is kept');
  const run = t.throws(() => parseRunOptions(['--frob'])) as UsageError;
  t.ok(run.cause instanceof Error);
});
