// npm run bench: every benchmark in one run, then one table of A against B with ratios.
// Usage: npm run bench [-- --rounds N --edits N --only boot,dev,cold,kernels]
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus } from 'node:os';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { bootVariants } from './boot.js';
import { coldVersusWarm } from './cold-warm.js';
import { devVersusRun } from './dev-loop.js';
import { tinyVersusDistro } from './kernels.js';
import { comparisonTable, type Comparison } from './stats.js';

const SECTIONS = ['boot', 'dev', 'cold', 'kernels'] as const;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '2' },
      edits: { type: 'string', default: '5' },
      cpus: { type: 'string', default: '2' },
      only: { type: 'string', default: SECTIONS.join(',') },
    },
  });
  const only = values.only.split(',');
  const unknown = only.filter((s) => !(SECTIONS as readonly string[]).includes(s));
  if (unknown.length) throw new Error(`--only ${unknown.join(',')}: expected some of ${SECTIONS.join(',')}`);
  const rounds = Number(values.rounds);
  const edits = Number(values.edits);
  if (!(rounds >= 1 && edits >= 1)) throw new Error('--rounds and --edits: whole numbers from 1');
  const scratch = await mkdtemp(join(tmpdir(), 'sockvm-bench-'));
  const log = (line: string): void => console.log(line);
  console.log(`sockvm bench on ${cpus().length} host CPUs (${cpus()[0]?.model ?? 'unknown CPU'}), scratch ${scratch}`);
  const rows: Comparison[] = [];
  const started = Date.now();
  try {
    if (only.includes('boot')) await bootVariants(rounds, Number(values.cpus));
    if (only.includes('dev')) {
      console.log(`\nedit → verdict: sockvm dev (${edits} edits) against sockvm run --suite create`);
      const dev = await devVersusRun(scratch, edits, rounds, log);
      rows.push(...dev.rows);
      console.log(`  dev's median breakdown per save: ${dev.breakdown}`);
    }
    if (only.includes('cold')) {
      console.log('\ncold cache against warm: sockvm run --suite create');
      rows.push(await coldVersusWarm(scratch, log));
    }
    if (only.includes('kernels')) {
      console.log('\nboot to SSH: tiny source kernel against the distro kernel');
      rows.push(await tinyVersusDistro(scratch, rounds, log));
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  if (rows.length) console.log(`\n${comparisonTable(rows).join('\n')}`);
  console.log(`\nbench took ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

main().catch((err: unknown) => {
  console.error(`bench: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 2;
});
