// The CI files: action.yml and the workflow pass action-validator (and a broken copy does not);
// the GitLab template parses and fits a schema of the keys it uses (a small one of ours, not
// GitLab's full schema) and its matrix is what 'sockvm matrix --format gitlab' prints; every
// sockvm command and option the three files call exists in the CLI's option tables; the matrix
// and kernel key commands; scripts/setup's package names on Debian and on Ubuntu.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import t from 'tap';
import YAML from 'yaml';
import { COMPARE_OPTIONS } from '../src/commands/compare.js';
import { KERNEL_BUILD_OPTIONS, KERNEL_KEY_OPTIONS } from '../src/commands/kernel.js';
import { gitlabMatrix, MATRIX_OPTIONS } from '../src/commands/matrix.js';
import { MERGE_OPTIONS } from '../src/commands/merge.js';
import { RUN_OPTIONS } from '../src/config/run-options.js';
import { parseConfig } from '../src/config/targets.js';
import { ciKernelKey } from '../src/kernel/ci-key.js';
import { repoRoot } from '../src/util/paths.js';
import { cliArgv } from './helpers.js';

const ACTION = join(repoRoot, 'action.yml');
const WORKFLOW = join(repoRoot, '.github', 'workflows', 'sockvm.yml');
const GITLAB = join(repoRoot, 'ci', 'gitlab', 'sockvm.gitlab-ci.yml');
const validator = join(repoRoot, 'node_modules', '.bin', 'action-validator');

const validate = (file: string) => spawnSync(validator, [file], { encoding: 'utf8' });

await t.test('action.yml and the workflow pass action-validator; a broken copy does not', async (t) => {
  for (const file of [ACTION, WORKFLOW]) {
    const r = validate(file);
    t.equal(r.status, 0, `${file}: ${r.stdout}${r.stderr}`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'sockvm-ci-'));
  const broken = join(dir, 'action.yml');
  writeFileSync(broken, readFileSync(ACTION, 'utf8').replace(/^runs:/m, 'rnus:'));
  const r = validate(broken);
  t.not(r.status, 0);
  t.match(`${r.stdout}${r.stderr}`, /Additional property 'rnus' is not allowed/);
});

const strings = { type: 'array', items: { type: 'string' } };
/** The GitLab CI keys the template uses, and their shapes: ours, not GitLab's full schema. */
const GITLAB_SCHEMA = {
  type: 'object',
  required: ['stages'],
  properties: {
    stages: strings,
    variables: { type: 'object', additionalProperties: { type: 'string' } },
  },
  additionalProperties: {
    type: 'object',
    required: ['stage', 'script'],
    additionalProperties: false,
    properties: {
      stage: { type: 'string' },
      image: { type: 'string' },
      timeout: { type: 'string' },
      when: { enum: ['on_success', 'on_failure', 'always', 'manual', 'never'] },
      before_script: strings,
      script: strings,
      parallel: {
        type: 'object',
        additionalProperties: false,
        required: ['matrix'],
        properties: {
          matrix: {
            type: 'array',
            items: { type: 'object', additionalProperties: { anyOf: [{ type: 'string' }, strings] } },
          },
        },
      },
      cache: {
        type: 'object',
        additionalProperties: false,
        properties: {
          key: {
            anyOf: [
              { type: 'string' },
              {
                type: 'object',
                additionalProperties: false,
                properties: { files: { ...strings, maxItems: 2 }, prefix: { type: 'string' } },
              },
            ],
          },
          paths: strings,
        },
      },
      needs: {
        type: 'array',
        items: { type: 'object', required: ['job'], additionalProperties: false, properties: { job: { type: 'string' }, artifacts: { type: 'boolean' } } },
      },
      artifacts: {
        type: 'object',
        additionalProperties: false,
        properties: {
          when: { enum: ['on_success', 'on_failure', 'always'] },
          paths: strings,
          expire_in: { type: 'string' },
          reports: { type: 'object', additionalProperties: false, properties: { junit: { type: 'string' } } },
        },
      },
    },
  },
};

await t.test('the GitLab template fits the schema of the keys it uses, and its matrix is sockvm matrix', async (t) => {
  const check = new Ajv2020({ allErrors: true }).compile(GITLAB_SCHEMA);
  const doc = YAML.parse(readFileSync(GITLAB, 'utf8')) as Record<string, Record<string, unknown>>;
  t.ok(check(doc), JSON.stringify(check.errors));
  const stages = doc.stages as unknown as string[];
  for (const [name, job] of Object.entries(doc))
    if (name !== 'stages' && name !== 'variables') t.ok(stages.includes(job.stage as string), `${name}: its stage is declared`);
  const typo = YAML.parse(readFileSync(GITLAB, 'utf8').replace('  script:', '  scirpt:')) as unknown;
  t.notOk(check(typo), 'a misspelt key is caught');
  t.same(doc.sockvm?.parallel, (YAML.parse(gitlabMatrix(['host'], 2)) as { parallel: unknown }).parallel);
});

/** Every `npm run -s sockvm -- <command> <options>` line in a YAML file's strings, continuation lines joined. */
function sockvmCalls(file: string): string[][] {
  const texts: string[] = [];
  const walk = (v: unknown): void => {
    if (typeof v === 'string') texts.push(v);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(YAML.parse(readFileSync(file, 'utf8')));
  const calls: string[][] = [];
  for (const text of texts) {
    for (const line of text.replace(/\\\n\s*/g, ' ').split('\n')) {
      for (const m of line.matchAll(/npm run -s sockvm -- (.*)/g)) {
        // The words up to the shell's own syntax (a pipe, ||, a redirection, a closing $( ).
        const words = (m[1] ?? '').split(/\s+/);
        const end = words.findIndex((w) => /^(\|\|?|&&|;|>>?|2>|\)|\)".*)$/.test(w) || w.startsWith(')'));
        calls.push(end === -1 ? words : words.slice(0, end));
      }
    }
  }
  return calls;
}

type Table = Readonly<Record<string, { readonly type: string; readonly short?: string }>>;
const COMMANDS: Record<string, Table> = {
  run: RUN_OPTIONS,
  'bisect-run': RUN_OPTIONS,
  compare: COMPARE_OPTIONS,
  merge: MERGE_OPTIONS,
  matrix: MATRIX_OPTIONS,
  'kernel key': KERNEL_KEY_OPTIONS,
  'kernel build': KERNEL_BUILD_OPTIONS,
};

await t.test('every sockvm command and option the CI files call exists', async (t) => {
  const seen: string[] = [];
  for (const [file, expected] of [
    [ACTION, ['kernel key', 'run']],
    [WORKFLOW, ['matrix', 'merge']],
    [GITLAB, ['run', 'merge']],
  ] as const) {
    const calls = sockvmCalls(file);
    const commands = calls.map((words) => (words[0] === 'kernel' ? `${words[0]} ${words[1]}` : (words[0] ?? '')));
    t.same([...new Set(commands)].sort(), [...expected].sort(), `${file} calls ${expected.join(', ')}`);
    calls.forEach((words, i) => {
      const command = commands[i] ?? '';
      const table = COMMANDS[command];
      if (!table) return void t.fail(`${file}: sockvm ${command}: no such command`);
      for (const w of words.slice(command.split(' ').length)) {
        if (!w.startsWith('-') || w === '--') continue;
        const name = w.startsWith('--') ? (w.slice(2).split('=')[0] ?? '') : undefined;
        const known = name !== undefined ? name in table : Object.values(table).some((o) => `-${o.short}` === w);
        t.ok(known, `${file}: sockvm ${command} ${w}`);
        seen.push(`${command} ${w}`);
      }
    });
  }
  t.ok(seen.includes('run --shard') && seen.includes('merge -o') && seen.includes('matrix --format'), 'the options that matter were checked');
  // The check can fail: an option the CLI does not have.
  t.notOk('shards' in RUN_OPTIONS);
});

const sockvm = (args: string[]) => spawnSync(...cliArgv([...args]), { encoding: 'utf8', cwd: repoRoot });

await t.test('sockvm matrix: github, gitlab and json; usage errors', async (t) => {
  const gh = sockvm(['matrix', '--format', 'github', '--target', 'host', '--target', 'debian-6.1', '--shards', '2']);
  t.equal(gh.status, 0, gh.stderr);
  t.equal(gh.stdout.trim().split('\n').length, 1, 'one line for $GITHUB_OUTPUT');
  t.same(JSON.parse(gh.stdout), {
    include: [
      { target: 'host', shard: '1/2', slug: 'host-1of2' },
      { target: 'host', shard: '2/2', slug: 'host-2of2' },
      { target: 'debian-6.1', shard: '1/2', slug: 'debian-6.1-1of2' },
      { target: 'debian-6.1', shard: '2/2', slug: 'debian-6.1-2of2' },
    ],
  });
  t.same(JSON.parse(sockvm(['matrix']).stdout), [{ target: 'host', shard: '1/1', slug: 'host-1of1' }], 'the default target, one slice');
  t.match(
    sockvm(['matrix', '--format', 'gitlab', '--shards', '3']).stdout,
    /parallel:\n {2}matrix:\n {4}- TARGET: "host"\n {6}SHARD: \["1\/3", "2\/3", "3\/3"\]/,
  );
  for (const [args, message] of [
    [['matrix', '--format', 'jenkins'], /--format jenkins: expected github, gitlab or json/],
    [['matrix', '--shards', '0'], /--shards 0: expected a whole number of slices per target from 1 to 256/],
    [['matrix', '--target', 'nope'], /--target nope: no such target/],
  ] as const) {
    const r = sockvm([...args]);
    t.equal(r.status, 2);
    t.match(r.stderr, message);
  }
});

await t.test("sockvm kernel key: stable, per target, and it follows a source kernel's fragments", async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'sockvm-key-'));
  mkdirSync(join(root, 'kernel', 'config'), { recursive: true });
  cpSync(join(repoRoot, 'kernel', 'patches'), join(root, 'kernel', 'patches'), { recursive: true });
  writeFileSync(join(root, 'kernel', 'config', 'guest.config'), 'CONFIG_E1000=y\n');
  const config = parseConfig(
    JSON.stringify({ targets: { src: { kernel: { source: 'debian:6.1', series: '6.1', config: ['guest'] } }, deb: { kernel: 'debian:bookworm' } } }),
    'test.json',
  );
  const [src, deb] = config.targets;
  if (!src || !deb) throw new Error('targets');
  const first = await ciKernelKey(src, root);
  t.match(first, /^sockvm-kernel-src-[0-9a-f]{24}$/);
  t.equal(await ciKernelKey(src, root), first, 'stable');
  const debKey = await ciKernelKey(deb, root);
  writeFileSync(join(root, 'kernel', 'config', 'guest.config'), 'CONFIG_E1000=y\nCONFIG_VIRTIO=y\n');
  t.not(await ciKernelKey(src, root), first, 'a fragment changed: a new key');
  t.equal(await ciKernelKey(deb, root), debKey, 'a Debian kernel does not use the fragments');
  const r = sockvm(['kernel', 'key', '--target', 'host']);
  t.match(r.stdout, /^sockvm-kernel-host-[0-9a-f]{24}\n$/);
  const missing = sockvm(['kernel', 'key']);
  t.equal(missing.status, 2);
  t.match(missing.stderr, /--target <name> is missing/);
});

await t.test("scripts/setup names Debian's packages on Debian and Ubuntu's on Ubuntu", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sockvm-os-'));
  const packages = (osRelease: string): string[] => {
    const file = join(dir, 'os-release');
    writeFileSync(file, osRelease);
    const out = execFileSync('bash', [join(repoRoot, 'scripts', 'setup'), '--missing-packages'], {
      encoding: 'utf8',
      env: { ...process.env, SOCKVM_OS_RELEASE: file, SOCKVM_ASSUME_MISSING: '1' },
    });
    return out.trim().split('\n');
  };
  const debian = packages('ID=debian\nVERSION_ID="13"\n');
  const ubuntu = packages('ID=ubuntu\nID_LIKE=debian\nVERSION_ID="24.04"\n');
  for (const p of ['linux-image-amd64', 'linux-headers-amd64', 'bpftool', 'qemu-system-x86', 'busybox-static', 'dropbear-bin'])
    t.ok(debian.includes(p), `debian: ${p}`);
  for (const p of [
    'linux-image-generic',
    'linux-headers-generic',
    'linux-tools-common',
    'linux-tools-generic',
    'qemu-system-x86',
    'busybox-static',
    'dropbear-bin',
  ])
    t.ok(ubuntu.includes(p), `ubuntu: ${p}`);
  for (const p of ['linux-image-amd64', 'linux-headers-amd64', 'bpftool']) t.notOk(ubuntu.includes(p), `ubuntu: no ${p}`);
  t.equal(ubuntu.length, debian.length + 1, 'the same list but for the names (bpftool is two packages there)');
});
