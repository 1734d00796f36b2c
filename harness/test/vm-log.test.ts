// A console log that cannot be written ends the run at once: Vm reports the first failed write
// through onLogError, naming the path, while the "guest" (a shell standing in for QEMU) still
// runs. Without the callback the failure waited in `logError` until the guests were shut down.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { InfraError } from '../src/util/errors.js';
import { Vm } from '../src/vm/vm.js';

const base = mkdtempSync(join(tmpdir(), 'sockvm-vm-log-'));
t.teardown(() => rmSync(base, { recursive: true, force: true }));

await t.test('a console log that is a directory: onLogError at once with "cannot write <path>: EISDIR", the guest still running', async (t) => {
  // The log's path is taken by a directory: opening it fails with EISDIR (root or not).
  const consoleLog = base;
  const start = Date.now();
  let vm: Vm | undefined;
  const reported = await new Promise<InfraError>((resolve) => {
    vm = new Vm('/bin/sh', ['-c', 'echo guest says hello; sleep 30'], consoleLog, false, { onLogError: resolve });
  });
  const running = vm?.running;
  await vm?.stop(200);
  t.ok(Date.now() - start < 5000, `reported after ${Date.now() - start} ms, not at shutdown`);
  t.equal(running, true, 'reported while the guest runs');
  t.match(reported.message, `cannot write ${consoleLog}: EISDIR`, 'names the path and the error');
  t.equal(vm?.logError, reported, 'the same error is kept for the summary');
});
