// `sockvm cache prune` on a temporary cache (XDG_CACHE_HOME): leftovers of dead builds go and a
// running build's stay; a source kernel goes when no recent recipe points at it; module and
// vmlinux entries go after --keep-days; --dry-run removes nothing; --all keeps ccache and apt.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cacheCommand } from '../src/commands/cache.js';

/** A pid that no process has now: a child that already exited. */
const deadPid = spawnSync('true').pid;
const DAY = 86400e3;

function makeCache(): string {
  const xdg = mkdtempSync(join(tmpdir(), 'sockvm-prune-'));
  const cache = join(xdg, 'sockvm');
  const dir = (rel: string, ageDays = 0): void => {
    const path = join(cache, rel);
    mkdirSync(path, { recursive: true });
    writeFileSync(join(path, 'data'), 'x');
    const when = new Date(Date.now() - ageDays * DAY);
    utimesSync(path, when, when);
  };
  const recipe = (name: string, key: string, ageDays: number): void => {
    const path = join(cache, 'kernel', 'recipes', name);
    mkdirSync(join(cache, 'kernel', 'recipes'), { recursive: true });
    writeFileSync(path, `${key}\n`);
    const when = new Date(Date.now() - ageDays * DAY);
    utimesSync(path, when, when);
  };
  dir('kernel/used');
  recipe('fresh', 'used', 1);
  dir('kernel/stale');
  recipe('old', 'stale', 30);
  dir('kernel/orphan');
  dir(`kernel/dead.tmp-${deadPid}`);
  dir(`kernel/running.tmp-${process.pid}`);
  dir('module/old', 30);
  dir('module/new', 1);
  dir('vmlinux/old', 30);
  dir(`vmlinux/k.old-${deadPid}`);
  dir('debian/bookworm/6.1.0-57', 30);
  dir('ccache', 30);
  dir('apt', 30);
  process.env.XDG_CACHE_HOME = xdg;
  return cache;
}

async function prune(args: string[]): Promise<string[]> {
  const lines: string[] = [];
  t.equal(await cacheCommand(['prune', ...args], (l) => lines.push(l)), 0);
  return lines;
}

const present = (cache: string, rels: string[]): string[] => rels.filter((r) => existsSync(join(cache, r)));
const ALL = [
  'kernel/used',
  'kernel/recipes/fresh',
  'kernel/stale',
  'kernel/recipes/old',
  'kernel/orphan',
  `kernel/dead.tmp-${deadPid}`,
  `kernel/running.tmp-${process.pid}`,
  'module/old',
  'module/new',
  'vmlinux/old',
  `vmlinux/k.old-${deadPid}`,
  'debian/bookworm/6.1.0-57',
  'ccache',
  'apt',
];

await t.test('prune: what is stale, orphaned or left by a dead build goes; the rest stays', async (t) => {
  const cache = makeCache();
  const dry = await prune(['--dry-run']);
  t.same(present(cache, ALL), ALL, '--dry-run removes nothing');
  t.ok(
    dry.some((l) => /^would remove kernel orphan/.test(l)),
    'and says what it would remove',
  );
  t.match(dry.at(-1), /^would free /);
  await prune([]);
  t.same(present(cache, ALL), [
    'kernel/used',
    'kernel/recipes/fresh',
    `kernel/running.tmp-${process.pid}`,
    'module/new',
    'debian/bookworm/6.1.0-57',
    'ccache',
    'apt',
  ]);
});

await t.test('prune --keep-days 0 drops every recipe, and with them their kernels', async (t) => {
  const cache = makeCache();
  await prune(['--keep-days', '0']);
  t.same(present(cache, ['kernel/used', 'kernel/recipes/fresh', 'module/new']), []);
});

await t.test('prune --all empties every kind but ccache and the apt downloads; a running build stays', async (t) => {
  const cache = makeCache();
  await prune(['--all']);
  t.same(present(cache, ALL), [`kernel/running.tmp-${process.pid}`, 'ccache', 'apt']);
});

await t.test('prune refuses what it does not know, naming it', async (t) => {
  makeCache();
  await t.rejects(
    cacheCommand(['prune', '--keep'], () => undefined),
    /sockvm cache prune: Unknown option '--keep'/,
  );
});
