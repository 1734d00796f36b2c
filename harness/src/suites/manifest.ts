// A suite's manifest, suites/<name>/suite.json: what the suite needs from the harness.
// Missing file → defaults; bad keys → an error naming the file, the key and the fix. One zod
// schema checks the file and gives the type.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { listOf, parseJsonWith, says, shown, strictObject } from '../config/schema.js';

/** A program's name: it is a file name in the suite directory and a word of the guest's driver script. */
export const PROGRAM_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
const PROGRAMS_FIX =
  "\"programs\" must be a non-empty list of file names in the suite's directory like [\"socket\", \"run.sh\"] (letters, digits, '_', '.', '-', not starting with '.' or '-')";

const TIMEOUT_FIX = (v: unknown): string => `"timeout" must be a whole number of seconds > 0, not ${shown(v)}`;

const manifestSchema = strictObject(
  {
    /** 1: runs in one guest. 2: client on guest 1, server on guest 2, joined by an e1000 link. */
    guests: z
      .literal(
        [1, 2],
        says((v) => `"guests" must be 1 or 2, not ${shown(v)}`),
      )
      .default(1),
    /** Per-suite time limit in seconds; absent means the run's --suite-timeout. */
    timeout: z.int(says(TIMEOUT_FIX)).positive(says(TIMEOUT_FIX)).exactOptional(),
    needsRoot: z.boolean(says('"needsRoot" must be true or false')).default(true),
    tags: listOf(/^[\w-]+$/, '"tags" must be a list of words like ["smoke", "wire"]').default(() => []),
    /** Kernel modules (by name, e.g. sch_netem) the guest loads at boot, with their dependencies. */
    modules: listOf(/^[\w.-]+$/, '"modules" must be a list of names like ["sch_netem"]').default(() => []),
    /** Host programs (by name, e.g. tc) copied into the guest's /usr/local/bin with their libraries. */
    tools: listOf(/^[\w.-]+$/, '"tools" must be a list of names like ["tc"]').default(() => []),
    /**
     * BPF objects (e.g. "prog.bpf.o") copied into the guest's /suites/<suite>.bpf/, which the suite
     * gets as SOCKVM_BPF_DIR: built from suites/<suite>/<x>.bpf.c by suites/Makefile, or shipped
     * ready-made in suites/<suite>/.
     */
    bpf: listOf(
      /^\w[\w.-]*\.o$/,
      '"bpf" must be a list of BPF object file names like ["prog.bpf.o"] (built from prog.bpf.c next to suite.json, or placed there)',
    ).default(() => []),
    description: z.string(says('"description" must be a string')).exactOptional(),
    /** A test crashes guest 2 on purpose (a dead peer): its death is no crash, and both guests are rebooted after. */
    killsPeer: z.boolean(says('"killsPeer" must be true or false')).default(false),
    /**
     * Left out of the default programme: runs only when --suite names it or --tag names one of its
     * tags (the perf suite: a minute of measurements a functional verdict does not need).
     */
    optIn: z.boolean(says('"optIn" must be true or false')).default(false),
    /** Always run under the BPF tracer, as with --trace. */
    trace: z.boolean(says('"trace" must be true or false')).default(false),
    /**
     * Ready-made programs (static binaries, #!/bin/sh scripts) in the suite's directory, run in
     * this order, each a test whose TAP or KTAP output becomes its subtests (build/program-suites.ts).
     * Absent: a directory with C sources is built by suites/Makefile, one without runs its executables.
     */
    programs: listOf(PROGRAM_NAME, PROGRAMS_FIX).min(1, says(PROGRAMS_FIX)).exactOptional(),
  },
  'a JSON object like {"guests": 1, "tags": ["smoke"]}',
)
  .superRefine((m, ctx) => {
    if (m.killsPeer && m.guests !== 2) ctx.addIssue({ code: 'custom', path: ['killsPeer'], message: '"killsPeer" needs "guests": 2 (the peer is guest 2)' });
    const twice = m.programs?.find((x, i) => m.programs?.indexOf(x) !== i);
    if (twice !== undefined)
      ctx.addIssue({ code: 'custom', path: ['programs'], message: `"programs" names '${twice}' twice; each program runs once per suite` });
    if (m.programs && m.guests === 2)
      ctx.addIssue({
        code: 'custom',
        path: ['programs'],
        message: '"programs" runs in one guest; drop "guests": 2 (two-guest suites are C suites with --role client/server)',
      });
  })
  .transform(({ timeout, ...rest }) => {
    // The file says "timeout"; the harness says which unit.
    const manifest: typeof rest & { timeoutSec?: number } = rest;
    if (timeout !== undefined) manifest.timeoutSec = timeout;
    return manifest;
  });

export type SuiteManifest = z.infer<typeof manifestSchema>;

export function parseManifest(text: string, where: string): SuiteManifest {
  return parseJsonWith(manifestSchema, text, where);
}

/** A suite without suite.json: every default; with `over`, those keys changed (tests' fixtures). */
export const defaultManifest = (over: Partial<SuiteManifest> = {}): SuiteManifest => ({ ...manifestSchema.parse({}), ...over });

export async function readManifest(suiteDir: string): Promise<SuiteManifest> {
  const file = join(suiteDir, 'suite.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return defaultManifest();
  }
  return parseManifest(text, file);
}
