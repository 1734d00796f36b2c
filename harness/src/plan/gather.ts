// What the planner reads from disk: the targets file, the suites and their manifests, the
// module source, the host tools. Problems are collected, not thrown, so the plan reports them
// all at once.
import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { programSuiteFiles, suitePrograms } from '../build/program-suites.js';
import { findSuites } from '../build/suites.js';
import type { RunOptions } from '../config/run-options.js';
import { loadConfig } from '../config/targets.js';
import { fragmentPath } from '../kernel/kbuild/recipe.js';
import { readManifest } from '../suites/manifest.js';
import { errorMessage } from '../util/errors.js';
import { exists } from '../util/fs.js';
import { repoRoot } from '../util/paths.js';
import { loadResults } from '../results/load.js';
import type { FoundSuite, PlanInputs } from './plan.js';
import { failedSelection } from './rerun.js';
import { durationsOf } from './shard.js';

/** Every directory of suites a run builds: the repository's, then each --suites-dir. */
export function suiteSourceDirs(options: RunOptions): string[] {
  return [join(repoRoot, 'suites'), ...options.suiteDirs];
}

export async function gatherPlanInputs(options: RunOptions): Promise<PlanInputs> {
  const problems: string[] = [];
  const config = await loadConfig(options.configFile).catch((err: unknown) => {
    problems.push(errorMessage(err));
    return undefined;
  });
  const suites: FoundSuite[] = [];
  const dirs = await findSuites(suiteSourceDirs(options)).catch((err: unknown) => {
    problems.push(errorMessage(err));
    return [];
  });
  for (const { src, names, programs } of dirs) {
    for (const name of names) {
      const sourceDir = join(src, name);
      try {
        const manifest = await readManifest(sourceDir);
        suites.push({ name, sourceDir, manifest });
        // A program suite's files and programs are checked now, with every other problem.
        if (programs.includes(name)) suitePrograms(sourceDir, manifest, await programSuiteFiles(sourceDir));
      } catch (err) {
        problems.push(errorMessage(err));
      }
    }
  }
  const moduleSrc = options.moduleSrc ?? join(repoRoot, 'kernel', 'newtcp');
  const isTree = (await exists(join(moduleSrc, 'Kbuild'))) || (await exists(join(moduleSrc, 'Makefile')));
  const tools: Record<string, string | undefined> = {};
  for (const name of new Set(suites.flatMap((s) => s.manifest.tools))) tools[name] = await findOnPath(name);
  const missingFragments: Record<string, string> = {};
  for (const f of new Set((config?.targets ?? []).flatMap((t) => (t.kernel.provider === 'source' ? t.kernel.config : [])))) {
    const path = fragmentPath(f, repoRoot, repoRoot);
    if (!(await exists(path))) missingFragments[f] = path;
  }
  const copies: NonNullable<PlanInputs['copies']> = {};
  for (const path of options.copies) {
    const st = await lstat(path).catch(() => undefined);
    copies[path] = !st ? undefined : st.isFile() ? 'file' : st.isDirectory() ? 'dir' : 'other';
  }
  const inputs: PlanInputs = { config, suites, moduleSrc: { path: moduleSrc, isTree }, tools, missingFragments, problems, copies };
  if (options.durationsFile !== undefined) {
    const read = await loadResults(options.durationsFile, '--durations').catch((err: unknown) => void problems.push(errorMessage(err)));
    if (read) inputs.durations = durationsOf(read.file.targets);
  }
  if (options.rerunFailed !== undefined) {
    const read = await loadResults(options.rerunFailed, '--rerun-failed').catch((err: unknown) => void problems.push(errorMessage(err)));
    try {
      if (read) inputs.rerun = failedSelection(read.file, options.rerunFailed, config?.defaultTarget ?? 'host');
    } catch (err) {
      problems.push(errorMessage(err));
    }
  }
  return inputs;
}

/** A host program's path: the usual system directories, then PATH. */
async function findOnPath(name: string): Promise<string | undefined> {
  const dirs = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin', ...(process.env.PATH ?? '').split(':')];
  for (const dir of dirs) if (dir && (await exists(join(dir, name)))) return join(dir, name);
  return undefined;
}
