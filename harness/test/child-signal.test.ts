// Every child process the harness starts gets the run's AbortSignal, so an interrupt (or a fault
// that ends the run) stops it instead of leaving it to finish behind the user's back. Checked in
// the source: each execa() call passes `cancelSignal`, each spawn() `signal`, or the child's
// process group is handed to killGroupOnAbort(); an exception says why on the line above, as
// `// uncancelled: <reason>`. Child-process APIs other than execa() and spawn() are refused.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import t from 'tap';
import { repoRoot } from '../src/util/paths.js';

const SRC = join(repoRoot, 'harness', 'src');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** The text of the call whose '(' is at `open`, up to its matching ')' (strings are simple here). */
function callText(text: string, open: number): string {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (text[i] === '(') depth++;
    else if (text[i] === ')' && --depth === 0) return text.slice(open, i + 1);
  }
  return text.slice(open);
}

export interface UncancelledCall {
  where: string;
  call: string;
}

/** The execa()/spawn() calls of `files` that the run's signal does not reach. */
export function uncancelledCalls(files: string[]): UncancelledCall[] {
  const found: UncancelledCall[] = [];
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/\b(execa|spawn)\(/g)) {
      const at = m.index;
      const lineStart = text.lastIndexOf('\n', at) + 1;
      if (/^\s*(\/\/|\*)/.test(text.slice(lineStart, at))) continue;
      const call = callText(text, at + m[0].length - 1);
      const option = m[1] === 'execa' ? /\bcancelSignal\b/ : /\bsignal\b/;
      // The statement after the call: `const child = execa(…); killGroupOnAbort(child, signal);`.
      const rest = text.slice(at + m[0].length - 1 + call.length);
      const after = rest.split('\n').slice(0, 2).join('\n');
      const before = text
        .slice(Math.max(0, lineStart - 400), lineStart)
        .split('\n')
        .slice(-3)
        .join('\n');
      if (option.test(call) || /killGroupOnAbort\(/.test(after) || /\/\/ uncancelled: \S.{10,}/.test(before)) continue;
      const line = text.slice(0, at).split('\n').length;
      found.push({ where: `${relative(repoRoot, file)}:${line}`, call: `${m[1]}${call.split('\n')[0]}` });
    }
  }
  return found;
}

/** Imports of child-process APIs the check above does not know (exec, execFile, fork, execaSync, …). */
export function otherChildApis(files: string[]): string[] {
  const found: string[] = [];
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/import\s*\{([^}]*)\}\s*from\s*'(node:child_process|execa)'/g)) {
      const allowed = m[2] === 'execa' ? ['execa'] : ['spawn', 'type ChildProcess'];
      const names = (m[1] ?? '')
        .split(',')
        .map((n) => n.trim())
        .filter(Boolean);
      for (const n of names) if (!allowed.includes(n)) found.push(`${relative(repoRoot, file)}: ${n} from ${m[2]}`);
    }
  }
  return found;
}

await t.test('every execa()/spawn() in harness/src gets the run signal, hands its group to killGroupOnAbort, or says why not', async (t) => {
  const files = sources(SRC);
  t.ok(files.length > 50, `${files.length} source files read`);
  const missing = uncancelledCalls(files);
  t.same(
    missing.map((m) => `${m.where}: ${m.call}`),
    [],
    'calls without the signal: pass cancelSignal (execa) or signal (spawn), or say why on the line above with "// uncancelled: <reason>"',
  );
  t.same(otherChildApis(files), [], 'no other child-process API (exec, execFile, fork, *Sync) slips past the check');
});

await t.test('the check sees a call without the signal, and accepts the three ways to give it', async (t) => {
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'sockvm-child-signal-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'sample.ts');
  writeFileSync(
    file,
    [
      "import { execa } from 'execa';",
      "import { spawn, execFile } from 'node:child_process';",
      "await execa('depmod', ['-b', base], { reject: false });",
      "await execa('gcc', ['--version'], { reject: false, cancelSignal: signal });",
      "const child = execa('make', [], { detached: true });",
      'killGroupOnAbort(child, signal);',
      "spawn('tar', ['-c'], { stdio: 'pipe' });",
      "spawn('tar', ['-c'], { stdio: 'pipe', signal });",
      '// uncancelled: the clean-up after an abort must still run',
      "await execa('umount', ['-l', p]);",
      "// execa('in a comment', [])",
    ].join('\n'),
  );
  t.same(
    uncancelledCalls([file]).map((m) => m.where.replace(/.*:/, 'line ')),
    ['line 3', 'line 7'],
    'depmod without cancelSignal and tar without signal are found, nothing else',
  );
  t.same(
    otherChildApis([file]).map((s) => s.replace(/.*: /, '')),
    ['execFile from node:child_process'],
  );
});
