// Output writes fail as infrastructure errors naming the file (EISDIR stands in for ENOSPC,
// which enospc.test meets on a real full tmpfs), and line-by-line appends never leave an
// unhandled rejection behind.
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { AppendLog, appendOut, writeOut } from '../src/util/out-file.js';
import { InfraError } from '../src/util/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'sockvm-out-'));
const aDir = join(dir, 'a-dir');
mkdirSync(aDir);

await t.test('writeOut and appendOut name the file and the code', async (t) => {
  await t.rejects(writeOut(aDir, 'x'), new InfraError(`cannot write ${aDir}: EISDIR (it is a directory)`));
  await t.rejects(appendOut(join(dir, 'gone', 'f'), 'x'), { message: `cannot write ${join(dir, 'gone', 'f')}: ENOENT (its directory is gone)` });
  await writeOut(join(dir, 'ok'), 'fine');
  t.equal(readFileSync(join(dir, 'ok'), 'utf8'), 'fine');
});

await t.test('AppendLog keeps order, and a failure waits for flush() without an unhandled rejection', async (t) => {
  const good = new AppendLog(join(dir, 'lines'));
  for (let i = 0; i < 100; i++) good.append(`${i}\n`);
  await good.flush();
  t.equal(readFileSync(join(dir, 'lines'), 'utf8'), Array.from({ length: 100 }, (_, i) => `${i}\n`).join(''));
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown): number => unhandled.push(e);
  process.on('unhandledRejection', onUnhandled);
  const bad = new AppendLog(aDir);
  bad.append('one\n');
  bad.append('two\n');
  // Past the failed appends, before anyone flushes.
  await new Promise((r) => setTimeout(r, 100));
  process.off('unhandledRejection', onUnhandled);
  t.same(unhandled, [], 'no unhandled rejection');
  await t.rejects(bad.flush(), { message: `cannot write ${aDir}: EISDIR (it is a directory)` });
});
