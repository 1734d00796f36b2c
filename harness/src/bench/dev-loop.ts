// Edit → verdict: `sockvm dev` (one boot, then per save: rebuild, copy, reload, rerun) against
// a full `sockvm run --suite create` after the same edit. The edit touches a comment in the
// module source, in a copy of kernel/newtcp, so every save really rebuilds newtcp.ko.
import { appendFile, cp } from 'node:fs/promises';
import { join } from 'node:path';
import type { DevCycle } from '../events.js';
import { repoRoot } from '../util/paths.js';
import { mustPass, sockvm } from './cli-run.js';
import { median, type Comparison } from './stats.js';

export interface DevLoopFigures {
  rows: Comparison[];
  /** The median of each step of the saves' cycles. */
  breakdown: string;
}

export async function devVersusRun(scratch: string, edits: number, fullRuns: number, log: (line: string) => void): Promise<DevLoopFigures> {
  const src = join(scratch, 'newtcp');
  await cp(join(repoRoot, 'kernel', 'newtcp'), src, { recursive: true });
  let n = 0;
  const edit = (): Promise<void> => appendFile(join(src, 'af_newtcp.c'), `/* bench edit ${++n} at ${Date.now()} */\n`);
  const cycles: DevCycle[] = [];
  const spawned = Date.now();
  let firstVerdictMs = NaN;
  const dev = await sockvm(['dev', '--suite', 'create', '--module-src', src, '--results-dir', join(scratch, 'dev'), '--max-cycles', String(edits)], {
    onEvent: (e) => {
      if (e.type === 'dev-cycle') {
        if (!cycles.length) firstVerdictMs = Date.now() - spawned;
        cycles.push(e.cycle);
        log(`  dev cycle #${e.cycle.index}: ${e.cycle.status} in ${(e.cycle.totalMs / 1000).toFixed(2)} s`);
      }
      if (e.type === 'dev-waiting') void edit();
    },
  });
  mustPass('sockvm dev', dev);
  const saves = cycles.filter((c) => c.index > 0);
  const bad = saves.find((c) => c.status !== 'pass');
  if (bad) throw new Error(`sockvm dev cycle #${bad.index} did not pass: ${bad.reason ?? bad.status}`);
  const full: number[] = [];
  for (let i = 0; i < fullRuns; i++) {
    await edit();
    const r = await sockvm(['run', '--suite', 'create', '--module-src', src, '--results-dir', join(scratch, 'run')]);
    mustPass('sockvm run --suite create', r);
    full.push(r.wallMs);
    log(`  full run ${i + 1}: ${(r.wallMs / 1000).toFixed(2)} s`);
  }
  const step = (s: keyof DevCycle['steps']): string => `${s} ${(median(saves.map((c) => c.steps[s] ?? 0)) / 1000).toFixed(2)} s`;
  return {
    rows: [
      {
        what: 'edit → verdict of create',
        a: { label: 'sockvm dev', ms: median(saves.map((c) => c.totalMs)), n: saves.length },
        b: { label: 'sockvm run', ms: median(full), n: full.length },
        note: `dev's start to its first verdict (build, boot, suites) ${(firstVerdictMs / 1000).toFixed(2)} s; the run's time is its wall time from an edit`,
      },
    ],
    breakdown: ['build', 'copy', 'reload', 'suites'].map((s) => step(s as keyof DevCycle['steps'])).join(', '),
  };
}
