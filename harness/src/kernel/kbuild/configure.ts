// Configuring a source tree: tinyconfig (allnoconfig before 3.17) + fragments via
// merge_config.sh, olddefconfig, the check that no requested option was dropped, and the
// release string make will build.
import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { InfraError, UsageError } from '../../util/errors.js';
import { exists } from '../../util/fs.js';
import { droppedOptions, explainDropped, parseConfig, readKconfigSymbols, type requestedOptions } from '../kconfig.js';
import type { MakeRunner } from './make.js';

/** What the config step decided: the merged config and its checks. */
export interface Configured {
  config: string;
  release: string;
}

/** tinyconfig (allnoconfig before 3.17) + fragments, olddefconfig, then the check that nothing was dropped. */
export async function configure(
  tree: string,
  make: MakeRunner,
  fragments: { name: string; path: string; text: string }[],
  extraText: string,
  recipeKey: string,
  requested: ReturnType<typeof requestedOptions>,
  buildLog: string,
  signal: AbortSignal,
): Promise<Configured> {
  const top = await readFile(join(tree, 'Makefile'), 'utf8');
  const hasTiny = /tinyconfig/.test(top) || (await exists(join(tree, 'kernel', 'configs', 'tiny.config')));
  await make([hasTiny ? 'tinyconfig' : 'allnoconfig'], { what: `make ${hasTiny ? 'tinyconfig' : 'allnoconfig'}` });
  // Every build gets its own release string, so modules built against two configs never mix.
  const local = join(tree, '.sockvm-local.config');
  await writeFile(local, `${extraText}CONFIG_LOCALVERSION="-sockvm-${recipeKey.slice(0, 8)}"\n# CONFIG_LOCALVERSION_AUTO is not set\n`);
  const merge = join(tree, 'scripts', 'kconfig', 'merge_config.sh');
  const frags = [...fragments.map((f) => f.path), local];
  if (await exists(merge)) {
    const r = await execa('sh', [merge, '-m', '-O', tree, join(tree, '.config'), ...frags], { cwd: tree, reject: false, all: true, cancelSignal: signal });
    signal.throwIfAborted();
    await appendFile(buildLog, `$ merge_config.sh -m .config ${frags.join(' ')}\n${r.all ?? ''}\n`);
    if (r.failed) throw new InfraError(`merge_config.sh failed in ${tree}; full log: ${buildLog}`, r.all);
  } else {
    // Trees before 3.x have no merge_config.sh: append the fragments (later lines win in Kconfig).
    let cfg = await readFile(join(tree, '.config'), 'utf8');
    for (const f of frags) cfg += `\n${await readFile(f, 'utf8')}`;
    await writeFile(join(tree, '.config'), cfg);
  }
  const olddef = /olddefconfig/.test(await readFile(join(tree, 'scripts', 'kconfig', 'Makefile'), 'utf8').catch(() => ''));
  await make([olddef ? 'olddefconfig' : 'oldnoconfig'], { what: 'make olddefconfig' });
  const config = await readFile(join(tree, '.config'), 'utf8');
  const final = parseConfig(config);
  const wanted = [...requested, { option: 'CONFIG_LOCALVERSION', value: `"-sockvm-${recipeKey.slice(0, 8)}"`, from: 'sockvm' }];
  const dropped = droppedOptions(wanted, final);
  if (dropped.length) {
    const symbols = await readKconfigSymbols(tree, 'x86', new Set(dropped.map((d) => d.option.replace(/^CONFIG_/, ''))));
    const lines = explainDropped(dropped, symbols, final);
    throw new UsageError(`${dropped.length} requested kernel option${dropped.length > 1 ? 's' : ''} did not survive olddefconfig (missing dependency, wrong arch or version):\n  ${lines.join('\n  ')}\nadd the dependencies to the fragment (kernel/config/*.config) or the target's "extra"`);
  }
  // kernelrelease reads CONFIG_LOCALVERSION from include/config/auto.conf: sync it first.
  await make(['syncconfig'], { what: 'make syncconfig' });
  const release = (await make(['-s', 'kernelrelease'], { what: 'make kernelrelease', capture: true })).trim().split('\n').pop() ?? '';
  if (!release) throw new InfraError(`make kernelrelease printed nothing in ${tree}`);
  return { config, release };
}
