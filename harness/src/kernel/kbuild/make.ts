// Running make on a kernel tree: the compiler and make variables (ccache in front when present),
// the host tools a build needs, and the runner that logs, reports progress and dies with us.
import { createWriteStream } from 'node:fs';
import { appendFile } from 'node:fs/promises';
import { execa } from 'execa';
import type { SourceKernelSpec } from '../../config/targets.js';
import { chrootArgv } from '../../toolchain/run.js';
import type { Toolchain } from '../../toolchain/toolchain.js';
import { abortReason, dieWithUs, groupGone, killGroupOnAbort } from '../../util/cancel.js';
import { InfraError, UsageError } from '../../util/errors.js';
import { exists } from '../../util/fs.js';
import { tail } from '../../util/run-logged.js';

export interface BuildProgress {
  /** Objects compiled so far (CC/AS lines). */
  compiled: number;
  /** The last file make named. */
  last: string;
  elapsedMs: number;
}

/** Counts compile lines in kbuild output (`  CC      net/core/sock.o`, `  CC [M]  ...`, `  AS ...`). Pure. */
export function compileLine(line: string): string | undefined {
  const m = /^\s+(?:CC|AS)(?: \[M\])?\s+(\S+)/.exec(line);
  return m?.[1];
}

/** The compiler's `--version` first line (part of the cache key). */
export async function compilerText(cc: string, tc: Toolchain, signal: AbortSignal): Promise<string> {
  const [cmd, ...args] = cc.split(/\s+/).filter((w) => w !== 'ccache');
  if (cmd === undefined) throw new UsageError(`the kernel's compiler '${cc}' names no command; set kernel.make.CC in the target (e.g. "gcc-12")`);
  const argv = tc.kind === 'host' ? { cmd: cmd, args: [...args, '--version'] } : { cmd: 'chroot', args: [tc.root, cmd, ...args, '--version'] };
  const r = await execa(argv.cmd, argv.args, { reject: false, cancelSignal: signal });
  signal.throwIfAborted();
  if (r.exitCode !== 0) throw new UsageError(`the kernel's compiler '${cc}' does not run${tc.kind === 'chroot' ? ` in the ${tc.release} chroot` : ''}: ${r.stderr || r.shortMessage}; set kernel.make.CC in the target`);
  return (r.stdout.split('\n')[0] ?? '').trim();
}

async function hostHas(cmd: string, signal: AbortSignal): Promise<boolean> {
  const r = await execa('sh', ['-c', `command -v ${cmd}`], { reject: false, cancelSignal: signal });
  signal.throwIfAborted();
  return r.exitCode === 0;
}

/** Host programs a kernel build needs; a missing one is a UsageError with the apt-get line. */
export async function checkHostTools(needBtf: boolean, signal: AbortSignal): Promise<void> {
  const need: [string, string][] = [
    ['make', 'make'],
    ['flex', 'flex'],
    ['bison', 'bison'],
    ['bc', 'bc'],
    ['perl', 'perl'],
    ['patch', 'patch'],
    ['depmod', 'kmod'],
  ];
  if (needBtf) need.push(['pahole', 'dwarves']);
  const missing: string[] = [];
  for (const [cmd, pkg] of need) if (!(await hostHas(cmd, signal))) missing.push(pkg);
  if (!(await exists('/usr/include/libelf.h')) && !(await exists('/usr/include/gelf.h'))) missing.push('libelf-dev');
  if (!(await exists('/usr/include/openssl/ssl.h'))) missing.push('libssl-dev');
  if (missing.length) throw new UsageError(`building a kernel needs ${missing.join(', ')} on this machine: apt-get install ${missing.join(' ')}`);
}

/** The make variables: the target's CC/HOSTCC/CROSS_COMPILE/ARCH, ccache in front of gcc when present. */
export async function makeVariables(spec: SourceKernelSpec, tc: Toolchain, signal: AbortSignal): Promise<{ vars: Record<string, string>; ccache: boolean }> {
  const vars: Record<string, string> = { ...(spec.make ?? {}) };
  const ccache = tc.kind === 'host' && !process.env.SOCKVM_NO_CCACHE && (await hostHas('ccache', signal));
  if (ccache) {
    const prefix = vars.CROSS_COMPILE ?? '';
    if (!vars.CC) vars.CC = `ccache ${prefix}gcc`;
    else if (!vars.CC.startsWith('ccache ')) vars.CC = `ccache ${vars.CC}`;
    if (!vars.HOSTCC) vars.HOSTCC = 'ccache gcc';
  }
  return { vars, ccache };
}

export interface MakeRunner {
  (args: string[], o?: { what?: string; progress?: boolean; capture?: boolean }): Promise<string>;
}

export function makeRunner(tree: string, log: string, vars: Record<string, string>, env: Record<string, string>, tc: Toolchain, nice: number, binds: string[], signal: AbortSignal, onProgress?: (p: BuildProgress) => void): MakeRunner {
  return async (args, o = {}) => {
    const varArgs = Object.entries(vars).map(([k, v]) => `${k}=${v}`);
    const full = ['-C', tree, ...varArgs, ...args];
    const base = nice > 0 ? { cmd: 'nice', args: ['-n', String(nice), 'make', ...full] } : { cmd: 'make', args: full };
    const argv = tc.kind === 'host' ? base : chrootArgv(tc.root, base.cmd, base.args, { cwd: tree, binds, env });
    await appendFile(log, `$ ${base.cmd} ${base.args.map((a) => (/\s/.test(a) ? JSON.stringify(a) : a)).join(' ')}\n`);
    if (signal.aborted) throw new InfraError(`${o.what ?? 'make'}: not started (${abortReason(signal)})`, undefined, { cause: signal.reason });
    const run = dieWithUs(argv.cmd, argv.args);
    const child = execa(run.cmd, run.args, { cwd: tree, env: { ...env, LC_ALL: 'C' }, all: true, reject: false, stdin: 'ignore', buffer: false, lines: false, detached: true });
    killGroupOnAbort(child, signal);
    // One stream, so the log's chunks land in order (unawaited appends could interleave).
    const logStream = createWriteStream(log, { flags: 'a' });
    logStream.on('error', () => {});
    const start = Date.now();
    let compiled = 0;
    let last = '';
    let captured = '';
    let pending = '';
    let lastEmit = 0;
    child.all?.setEncoding('utf8');
    child.all?.on('data', (chunk: string) => {
      logStream.write(chunk);
      if (o.capture) captured += chunk;
      if (!o.progress || !onProgress) return;
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        const f = compileLine(line);
        if (f) {
          compiled++;
          last = f;
        }
      }
      const now = Date.now();
      if (now - lastEmit > 500) {
        lastEmit = now;
        onProgress({ compiled, last, elapsedMs: now - start });
      }
    });
    const r = await child;
    // The log complete before a failure reads its tail.
    await new Promise((res) => logStream.end(res));
    if (signal.aborted) await groupGone(child.pid);
    if (signal.aborted) throw new InfraError(`${o.what ?? `make ${args.join(' ')}`} stopped (${abortReason(signal)}); full log: ${log}`, undefined, { cause: signal.reason });
    if (o.progress && onProgress) onProgress({ compiled, last, elapsedMs: Date.now() - start });
    if (r.exitCode !== 0) {
      const why = r.exitCode !== undefined ? `exit code ${r.exitCode}` : (r.signal ?? 'killed');
      throw new InfraError(`${o.what ?? `make ${args.join(' ')}`} failed in ${tree} (${why}); full log: ${log}`, await tail(log, 40));
    }
    return captured;
  };
}
