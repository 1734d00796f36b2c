// Which suites a run executes, in which order, how many times.
import { UsageError } from '../util/errors.js';
import type { SuiteManifest } from './manifest.js';

export interface SuiteSpec {
  name: string;
  binary: string;
  manifest: SuiteManifest;
  /** Host paths of the BPF objects the manifest's "bpf" names, in its order. */
  bpfObjects?: string[];
}

export interface Selection {
  only: string[];
  tags: string[];
}

/**
 * Suites named with --suite run in the order named; otherwise every suite by name. --tag keeps
 * suites carrying any of the tags. Throws naming an unknown suite or a tag no suite carries.
 */
export function selectSuites(all: SuiteSpec[], sel: Selection): SuiteSpec[] {
  let chosen: SuiteSpec[];
  if (sel.only.length) {
    chosen = sel.only.map((name) => {
      const s = all.find((x) => x.name === name);
      if (!s) throw new UsageError(`--suite ${name}: no such suite (known: ${all.map((x) => x.name).join(', ')})`);
      return s;
    });
  } else chosen = [...all].sort((a, b) => a.name.localeCompare(b.name));
  if (sel.tags.length) {
    const known = new Set(all.flatMap((s) => s.manifest.tags));
    for (const tag of sel.tags) {
      if (!known.has(tag)) throw new UsageError(`--tag ${tag}: no suite has this tag (tags in use: ${[...known].sort().join(', ') || 'none'})`);
    }
    chosen = chosen.filter((s) => s.manifest.tags.some((t) => sel.tags.includes(t)));
  }
  return chosen;
}

/** The name a suite's results go under in round `round` (1-based) of a repeated run. */
export function roundName(name: string, round: number, rounds: number): string {
  return rounds > 1 ? `${name}#${round}` : name;
}
