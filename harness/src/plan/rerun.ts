// --rerun-failed <dir>: what failed in an earlier run, as a selection: each target that failed,
// with the suites that failed on it (all of its own selection when it failed before any suite
// ran), narrowed to one test by a --test glob when a single test failed in the whole run (the
// glob is one for the run: several failed tests rerun their whole suites). Pure.
import type { ResultsFile, SuiteResult } from '../results/model.js';
import { judgeTest } from '../results/verdict.js';
import { UsageError } from '../util/errors.js';

export interface RerunSelection {
  /** The results.json read. */
  from: string;
  /** Failed targets, each with its failed suites (empty: the target's whole selection). */
  targets: { name: string; suites: string[] }[];
  /** `<suite>/<test>` as a glob, when exactly one test failed. */
  testFilter?: string;
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
  const tests = new Set<string>();
  let suiteOnlyFailure = false;
  for (const run of file.targets) {
    if (run.status === 'pass') continue;
    const failed = run.suites.filter((s) => s.status !== 'pass');
    const suites = [...new Set(failed.map((s) => baseName(s.name)))];
    for (const s of failed) {
      const names = failedTests(s);
      if (!names.length) suiteOnlyFailure = true;
      for (const n of names) tests.add(`${baseName(s.name)}/${n}`);
    }
    // Failed without a failed suite (no boot, a kernel report at unload, nothing ran): its whole selection again.
    if (!suites.length) suiteOnlyFailure = true;
    targets.push({ name: run.target ?? defaultTarget, suites });
  }
  if (!targets.length) {
    const why = file.infraError
      ? `it failed before any target ran (${file.infraError})`
      : `its run ${file.status === 'pass' ? 'passed' : 'recorded no failed target'}`;
    throw new UsageError(`--rerun-failed ${path}: nothing to rerun: ${why}; give the results of a run with failures`);
  }
  const sel: RerunSelection = { from: path, targets, matrix: file.matrix };
  const [only] = tests;
  const glob = only !== undefined && tests.size === 1 && !suiteOnlyFailure ? literalGlob(only) : undefined;
  if (glob !== undefined) sel.testFilter = glob;
  return sel;
}
