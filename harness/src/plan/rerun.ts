// --rerun-failed <dir>: what failed in an earlier run, as a selection: each target that failed,
// with the suites that failed on it (all of its own selection when it failed before any suite
// ran), each suite narrowed to its failed test by a glob (SOCKVM_TEST for that suite alone) when
// one test failed in it and nothing else did (a crash, a kernel warning, a bad exit rerun the
// whole suite, as does more than one failed test: the TAP library takes one glob). Pure.
import type { ResultsFile, SuiteResult } from '../results/model.js';
import { judgeTest } from '../results/verdict.js';
import { UsageError } from '../util/errors.js';

export interface RerunSelection {
  /** The results.json read. */
  from: string;
  /** Failed targets, each with its failed suites (empty: the target's whole selection) and, per suite, the glob of its one failed test. */
  targets: { name: string; suites: string[]; testFilters: Record<string, string> }[];
  /** Whether the earlier run kept its targets in directories of their own. */
  matrix: boolean;
}

const baseName = (suite: string): string => suite.replace(/#\d+$/, '');

/** A test's name as an fnmatch(3) glob matching only it; undefined when no glob can (a quote or a backslash). */
export function literalGlob(text: string): string | undefined {
  // The glob travels in single quotes and through a shell `case`: these cannot be matched literally.
  // eslint-disable-next-line no-control-regex -- matching control characters is the point here
  if (/['\\\x00-\x1f\x7f]/.test(text)) return undefined;
  return text.replace(/[*?[]/g, (c) => `[${c}]`);
}

function failedTests(suite: SuiteResult): string[] {
  return suite.tests.filter((t) => judgeTest(t) === 'failed').map((t) => t.name);
}

export function failedSelection(file: ResultsFile, path: string, defaultTarget: string): RerunSelection {
  const targets: RerunSelection['targets'] = [];
  for (const run of file.targets) {
    if (run.status === 'pass') continue;
    const failed = run.suites.filter((s) => s.status !== 'pass');
    const suites = [...new Set(failed.map((s) => baseName(s.name)))];
    const testFilters: Record<string, string> = {};
    for (const name of suites) {
      const rounds = failed.filter((s) => baseName(s.name) === name);
      // A failure besides the tests' (a crash, a kernel report, an error) needs the whole suite.
      const onlyTests = rounds.every((s) => s.status === 'fail' && s.errors.length === 0 && s.kernelFindings.length === 0);
      const tests = new Set(rounds.flatMap(failedTests));
      const [only] = tests;
      const glob = onlyTests && tests.size === 1 && only !== undefined ? literalGlob(only) : undefined;
      if (glob !== undefined) testFilters[name] = `${name}/${glob}`;
    }
    // Failed without a failed suite (no boot, a kernel report at unload, nothing ran): its whole selection again.
    targets.push({ name: run.target ?? defaultTarget, suites, testFilters });
  }
  if (!targets.length) {
    const why = file.infraError
      ? `it failed before any target ran (${file.infraError})`
      : `its run ${file.status === 'pass' ? 'passed' : 'recorded no failed target'}`;
    throw new UsageError(`--rerun-failed ${path}: nothing to rerun: ${why}; give the results of a run with failures`);
  }
  return { from: path, targets, matrix: file.matrix };
}
