// The compiler a kernel was built with, as its kbuild tree records it. Pure parsing, for tests.

export interface KernelCompiler {
  /** The compiler command Debian's headers call, without the cross prefix: `gcc-14`. */
  cc: string;
  /** gcc or clang */
  family: 'gcc' | 'clang';
  major: number;
  /** Full version when known: `14.2.0`. */
  version?: string;
  /** CONFIG_CC_VERSION_TEXT or the LINUX_COMPILER line, verbatim. */
  text?: string;
  /** Where it was read: '.kernelvariables', '.config' or 'compile.h'. */
  source: string;
}

/** `CC = $(if ...) $(CROSS_COMPILE)gcc-14` in Debian's .kernelvariables → gcc-14. */
export function ccFromKernelVariables(text: string): { cc: string; family: 'gcc' | 'clang'; major: number } | undefined {
  for (const line of text.split('\n')) {
    if (!/^\s*(override\s+)?CC\s*:?=/.test(line)) continue;
    const m = /\b(gcc|clang)-(\d+)\b/.exec(line);
    if (m) return { cc: `${m[1]}-${m[2]}`, family: m[1] as 'gcc' | 'clang', major: Number(m[2]) };
    if (/\bgcc\b/.test(line)) return undefined;
  }
  return undefined;
}

/**
 * A compiler version string as in CONFIG_CC_VERSION_TEXT, compile.h's LINUX_COMPILER or
 * `gcc --version`'s first line: `x86_64-linux-gnu-gcc-14 (Debian 14.2.0-19) 14.2.0`,
 * `gcc-10 (Debian 10.2.1-6) 10.2.1 20210110, GNU ld (GNU Binutils for Debian) 2.35.2`,
 * `Debian clang version 19.1.7 (3)`.
 */
export function parseCompilerText(text: string): { family: 'gcc' | 'clang'; major: number; version: string; cc: string } | undefined {
  const clang = /clang version (\d+)\.(\d+)(?:\.(\d+))?/.exec(text);
  if (clang) {
    const version = [clang[1], clang[2], clang[3] ?? '0'].join('.');
    return { family: 'clang', major: Number(clang[1]), version, cc: `clang-${clang[1]}` };
  }
  // gcc prints "<name> (<pkgversion>) X.Y.Z"; the version follows the closing parenthesis.
  const gcc = /^\s*(\S*gcc\S*)\s+\([^)]*\)\s+(\d+)\.(\d+)(?:\.(\d+))?/.exec(text) ?? /\bgcc\b.*?\s(\d+)\.(\d+)\.(\d+)/.exec(text);
  if (!gcc) return undefined;
  const nums = gcc.length === 5 ? [gcc[2], gcc[3], gcc[4] ?? '0'] : [gcc[1], gcc[2], gcc[3]];
  const major = Number(nums[0]);
  return { family: 'gcc', major, version: nums.join('.'), cc: `gcc-${major}` };
}

/** CONFIG_CC_VERSION_TEXT="..." from a .config. */
export function ccVersionTextFromConfig(config: string): string | undefined {
  const m = /^CONFIG_CC_VERSION_TEXT="(.*)"\s*$/m.exec(config);
  return m?.[1];
}

/** #define LINUX_COMPILER "..." from include/generated/compile.h. */
export function compilerFromCompileH(text: string): string | undefined {
  const m = /^#define\s+LINUX_COMPILER\s+"(.*)"\s*$/m.exec(text);
  return m?.[1];
}

/** Combines what the tree records: the command from .kernelvariables, the version from .config or compile.h. */
export function kernelCompiler(files: { kernelVariables?: string; config?: string; compileH?: string }): KernelCompiler | undefined {
  const fromVars = files.kernelVariables ? ccFromKernelVariables(files.kernelVariables) : undefined;
  const text = (files.config && ccVersionTextFromConfig(files.config)) || (files.compileH && compilerFromCompileH(files.compileH)) || undefined;
  const parsed = text ? parseCompilerText(text) : undefined;
  const textSource = files.config && ccVersionTextFromConfig(files.config) ? '.config' : 'compile.h';
  if (fromVars) {
    const c: KernelCompiler = { ...fromVars, source: '.kernelvariables' };
    if (parsed && parsed.major === fromVars.major) c.version = parsed.version;
    if (text) c.text = text;
    return c;
  }
  if (parsed) {
    const c: KernelCompiler = { cc: parsed.cc, family: parsed.family, major: parsed.major, version: parsed.version, source: textSource };
    if (text) c.text = text;
    return c;
  }
  return undefined;
}

/** `gcc --version` output → its version (`12.2.0`), or undefined when not gcc. */
export function parseGccVersionOutput(out: string): { major: number; version: string } | undefined {
  const first = out.split('\n')[0] ?? '';
  const p = parseCompilerText(first);
  return p && p.family === 'gcc' ? { major: p.major, version: p.version } : undefined;
}
