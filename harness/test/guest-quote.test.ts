// The guest command line: every user word reaches the guest's shell as data. Checked against a
// real POSIX shell (dash here, busybox sh in the guest): what the program receives is exactly
// the argv given.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { guestCommandLine, shellWord, shellWords } from '../src/guest/quote.js';

const hostile = ["it's", '$(touch /tmp/pwned)', '`id`', 'a b', '', '\\', '"', "'", "''", 'line\nbreak', ';rm -rf /', '*', '-n', '$HOME', '!', '\t'];

await t.test('a word is always single-quoted; a quote inside is closed, escaped and reopened', async (t) => {
  t.equal(shellWord('plain'), "'plain'");
  t.equal(shellWord(''), "''");
  t.equal(shellWord("it's"), "'it'\\''s'");
  t.equal(shellWords(['a', 'b c']), "'a' 'b c'");
});

await t.test('a POSIX shell hands every hostile word through unchanged', async (t) => {
  // printf's format is quoted too: each argument comes back NUL-terminated, byte for byte.
  const out = execFileSync('/bin/sh', ['-c', `printf '%s\\0' ${shellWords(hostile)}`], { encoding: 'utf8' });
  t.same(out.split('\0').slice(0, -1), hostile);
});

await t.test('an argv runs in /root; a shell line goes to sh -c as one word', async (t) => {
  t.equal(guestCommandLine({ argv: ['uname', '-r'] }), "cd /root && 'uname' '-r'");
  t.equal(guestCommandLine({ shellLine: 'echo $((6*7)); exit 3' }), "cd /root && 'sh' '-c' 'echo $((6*7)); exit 3'");
  const line = guestCommandLine({ argv: ['printf', '%s|', ...hostile] }).replace('cd /root && ', '');
  const out = execFileSync('/bin/sh', ['-c', line], { encoding: 'utf8' });
  t.equal(out, hostile.map((w) => `${w}|`).join(''));
});
