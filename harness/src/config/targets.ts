// sockvm.config.json: the targets (a kernel and what to run on it) a matrix run covers.
// One zod schema validates the file and gives the types; every error names the file, the key
// path and the fix.
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { UsageError } from '../util/errors.js';
import { got, listOf, parseJsonWith, says, shown, strictObject } from './schema.js';

export const CONFIG_FILE = 'sockvm.config.json';

/** A suite's or a tag's name. */
const WORD = /^[\w-]+$/;

/** Whole numbers from `min` to `max`, one message for every way to miss. */
const wholeNumber = (min: number, max: number, message: string): z.ZodInt => z.int(says(message)).min(min, says(message)).max(max, says(message));

const SOURCE_FIX = '"source" must be "debian:<release>", a tarball path or a kernel tree directory';
const SERIES_FIX = '"series" must name a directory of kernel/patches (e.g. "6.1") or be "none"';
const CONFIG_FIX = '"config" must be a list of fragment names in kernel/config (e.g. ["guest", "net", "newtcp"]) or paths';
const EXTRA_FIX = '"extra" must be a list of "CONFIG_NAME=value" items';
const MAKE_FIX = 'a make variable\'s value is a string, e.g. {"CC": "gcc-4.3", "ARCH": "x86_64"}';
const makeVariable = z.string(says((v) => `${MAKE_FIX}, not ${shown(v)}`)).exactOptional();

/** {"source": "debian:6.1", "series": "6.1", "config": ["guest", "net"], "extra": ["CONFIG_X=y"]}: a kernel built from source. */
const sourceKernelSchema = strictObject(
  {
    /** `debian:<release>` (its linux-source package), a tarball path, or a kernel tree directory. */
    source: z.string(says((v) => `${SOURCE_FIX}${got(v)}`)).min(1, says(`${SOURCE_FIX}, not ""`)),
    /** Patch series under kernel/patches; default chosen by the tree's version; 'none' for none. */
    series: z
      .string(says(SERIES_FIX))
      .regex(/^[\w.-]+$/, says(SERIES_FIX))
      .exactOptional(),
    /** Fragments merged over tinyconfig, in order: names in kernel/config or paths. */
    config: listOf(/./s, CONFIG_FIX).default(() => ['guest', 'net']),
    /** Single items merged last: `CONFIG_X=y`. */
    extra: listOf(/^(CONFIG_[A-Za-z0-9_]+=.+|# CONFIG_[A-Za-z0-9_]+ is not set)$/, EXTRA_FIX).exactOptional(),
    /** Make variables passed through (old trees, cross builds). */
    make: strictObject(
      { CC: makeVariable, HOSTCC: makeVariable, CROSS_COMPILE: makeVariable, ARCH: makeVariable },
      'an object like {"CC": "gcc-4.3", "ARCH": "x86_64"}',
    ).exactOptional(),
    /** 'host' (default) or a Debian release whose chroot builds the kernel and the module. */
    toolchain: z.string(says((v) => `"toolchain" must be "host" or a Debian release (bookworm, 6.1, ...), not ${shown(v)}`)).exactOptional(),
  },
  'a source kernel like {"source": "debian:6.1", "config": ["guest", "net"]}',
);

export type SourceKernelSpec = z.infer<typeof sourceKernelSchema>;

const kernelFix = (v: unknown): string =>
  v === undefined
    ? '"kernel" is missing (e.g. "kernel": "debian:6.12")'
    : `"kernel" must be "host" or "debian:<release>" (bullseye, bookworm, trixie, sid, or 5.10, 6.1, 6.12, 7.2), or a source kernel {"source": "debian:6.1", "config": ["guest", "net"]}, not ${shown(v)}`;

/** "host", "debian:<release>", or a source kernel object. */
const kernelSchema = z.union(
  [
    z.literal('host').transform(() => ({ provider: 'host' as const })),
    z
      .string()
      .regex(/^debian:.+$/, says(kernelFix))
      .transform((v) => ({ provider: 'debian' as const, release: v.slice('debian:'.length) })),
    sourceKernelSchema.transform((spec) => ({ provider: 'source' as const, ...spec })),
  ],
  says(kernelFix),
);

export type KernelSpec = z.infer<typeof kernelSchema>;

const targetSchema = strictObject(
  {
    kernel: kernelSchema,
    description: z.string(says('"description" must be a string')).exactOptional(),
    /** Suites this target runs when the command line does not choose (default: all). */
    suites: listOf(WORD, '"suites" must be a list of names like ["create", "stream"]').exactOptional(),
    tags: listOf(WORD, '"tags" must be a list of names like ["smoke", "wire"]').exactOptional(),
    /**
     * Guest CPUs under TCG when --cpus is not given. QEMU's TCG with 2 vCPUs breaks the kernel's
     * cross-CPU code patching (text_poke: a CPU runs the transient int3 after the patch is done,
     * "Oops: int3") on 6.12 and 7.2; one vCPU never does. KVM runs are not affected.
     */
    tcgCpus: wholeNumber(1, 64, '"tcgCpus" must be a whole number of guest CPUs from 1 to 64 (e.g. 1)').exactOptional(),
    /** Boot-to-SSH limit in seconds under TCG when --boot-timeout is not given (a KASAN kernel boots in 60–100 s). */
    tcgBootTimeout: wholeNumber(1, 3600, '"tcgBootTimeout" must be a whole number of seconds from 1 to 3600 (e.g. 300)').exactOptional(),
    /** Run every suite under the BPF tracer, as with --trace. */
    trace: z.boolean(says('"trace" must be true or false')).exactOptional(),
    /** With tracing: the run fails when fewer than this percent of the module's handlers were reached. */
    coverageFloor: z
      .number(says('"coverageFloor" must be a percentage from 0 to 100 (e.g. 80)'))
      .min(0, says('"coverageFloor" must be a percentage from 0 to 100 (e.g. 80)'))
      .max(100, says('"coverageFloor" must be a percentage from 0 to 100 (e.g. 80)'))
      .exactOptional(),
  },
  'an object like {"kernel": "debian:6.1"}',
);

export type Target = { name: string } & z.infer<typeof targetSchema>;

const TARGETS_FIX = '"targets" must be an object of named targets, e.g. {"host": {"kernel": "host"}}';

const configSchema = strictObject(
  {
    $comment: z.unknown().exactOptional(),
    targets: z
      .record(
        // A target's name is a results directory: '.', '..' or a leading '-' would escape or confuse it.
        z.string().regex(/^\w[\w.-]*$/, says("a target name is letters, digits, '.', '-' and '_', starting with a letter, digit or '_'")),
        targetSchema,
        says((v) => `${TARGETS_FIX}${got(v)}`),
      )
      .refine((targets) => Object.keys(targets).length > 0, says(TARGETS_FIX)),
    /** The target `sockvm run` uses without --target (default: the first). */
    default: z.string(says((v) => `"default" must name one of the targets, not ${shown(v)}`)).exactOptional(),
  },
  'an object with "targets"',
)
  .superRefine(({ targets, default: chosen }, ctx) => {
    const known = Object.keys(targets);
    if (chosen !== undefined && !known.includes(chosen))
      ctx.addIssue({ code: 'custom', path: ['default'], message: `"default" must name one of the targets (${known.join(', ')})` });
  })
  .transform(({ targets, default: chosen }) => {
    const list: Target[] = Object.entries(targets).map(([name, target]) => ({ name, ...target }));
    // "targets" is not empty (refined above): '' is never the answer.
    return { targets: list, defaultTarget: chosen ?? list[0]?.name ?? '' };
  });

export type SockvmConfig = z.infer<typeof configSchema>;

export function parseConfig(text: string, file: string): SockvmConfig {
  return parseJsonWith(configSchema, text, file);
}

export async function loadConfig(file: string): Promise<SockvmConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new UsageError(`${file}: cannot read the configuration file (pass --config <file>, or run from the repository root)`, { cause: err });
  }
  return parseConfig(text, file);
}

/** The targets a run covers: --all-targets, the --target names given, or the default. */
export function chooseTargets(config: SockvmConfig, names: string[], all: boolean): Target[] {
  if (all) return config.targets;
  if (!names.length) return config.targets.filter((t) => t.name === config.defaultTarget);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice !== undefined) throw new UsageError(`--target ${twice} is named twice: each target runs once per run (use --repeat to run its suites again)`);
  return names.map((n) => {
    const t = config.targets.find((x) => x.name === n);
    if (!t) throw new UsageError(`--target ${n}: no such target in the configuration (known: ${config.targets.map((x) => x.name).join(', ')})`);
    return t;
  });
}
