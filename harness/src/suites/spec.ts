// A built suite, and the names its results go under when a run repeats (the planner selects).
import type { SuiteFile } from '../build/program-suites.js';
import type { SuiteManifest } from './manifest.js';

export interface SuiteSpec {
  name: string;
  binary: string;
  /** Where its sources and suite.json are (sockvm dev watches it). */
  sourceDir?: string;
  manifest: SuiteManifest;
  /** Host paths of the BPF objects the manifest's "bpf" names, in its order. */
  bpfObjects?: string[];
  /** A program suite's files (suite.json "programs"), for the guest's /suites/<name>.d/. */
  files?: SuiteFile[];
}

/** The name a suite's results go under in round `round` (1-based) of a repeated run. */
export function roundName(name: string, round: number, rounds: number): string {
  return rounds > 1 ? `${name}#${round}` : name;
}
