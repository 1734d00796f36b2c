// `sockvm toolchain ls|update|prune`: the per-release build chroots in the cache.
import { parseCommandArgs } from '../util/args.js';
import { UsageError } from '../util/errors.js';
import { listToolchains, pruneToolchains, updateToolchain } from '../toolchain/chroot.js';

export const TOOLCHAIN_USAGE = `Usage: sockvm toolchain <ls | update <release>... | prune [--keep <release>]...>

Build chroots (debootstrap --variant=minbase of a Debian release, with that release's gcc) that
build the module for kernels the host's compiler does not match. Created on first use by
'sockvm run', cached in ~/.cache/sockvm/toolchain/.
  ls                     list them with their gcc and disk use
  update <release>...    re-create them with current packages (bullseye, bookworm, trixie, sid or 5.10, 6.1, 6.12, 7.2)
  prune [--keep <r>]...  remove all but the kept ones, and leftovers of interrupted creations`;

const mb = (bytes: number | undefined): string => (bytes === undefined ? '?' : `${Math.round(bytes / 1e6)} MB`);

export async function toolchainCommand(args: string[], out: (line: string) => void, signal: AbortSignal): Promise<number> {
  const [verb, ...rest] = args;
  switch (verb) {
    case 'ls': {
      parseCommandArgs('sockvm toolchain ls', rest, {});
      const all = await listToolchains({ signal });
      if (!all.length) out('no toolchain chroots yet (sockvm run creates them when a target needs one)');
      for (const t of all) out(`${t.release.padEnd(9)} gcc ${t.gccVersion ?? '?'}  ${mb(t.bytes).padStart(7)}  created ${t.created}  ${t.root}`);
      return 0;
    }
    case 'update': {
      const { positionals } = parseCommandArgs('sockvm toolchain update', rest, {}, true);
      if (!positionals.length) throw new UsageError('sockvm toolchain update: name the releases to re-create (e.g. trixie)');
      for (const release of positionals) {
        const { info } = await updateToolchain(release, { onStep: out, signal });
        out(`${info.release}: re-created with gcc ${info.gccVersion ?? '?'}`);
      }
      return 0;
    }
    case 'prune': {
      const { values } = parseCommandArgs('sockvm toolchain prune', rest, { keep: { type: 'string', multiple: true } });
      const { removed, bytes } = await pruneToolchains({ keep: values.keep ?? [], signal });
      out(removed.length ? `removed ${removed.length} (${mb(bytes)}): ${removed.join(', ')}` : 'nothing to remove');
      return 0;
    }
    default:
      out(TOOLCHAIN_USAGE);
      return verb === undefined || verb === '--help' || verb === '-h' ? 0 : 2;
  }
}
