// The tracer's host side: handler tables from a module's ELF (a small object compiled here, the
// same relocation shapes as newtcp.ko: a global function, static ones through the section
// symbol), member names from a BTF dump, the guest function list, and trace JSON → coverage.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { parseBtfRaw } from '../src/trace/btf.js';
import { computeCoverage, coverageLines } from '../src/trace/coverage.js';
import { functionList } from '../src/trace/func-list.js';
import { moduleFunctions } from '../src/trace/ko-tables.js';
import { parseTraceFile } from '../src/trace/trace-file.js';

const FIXTURE_C = `
struct ops { int family; void *owner; int (*release)(int); int (*bind)(int); };
struct other { int (*fn)(int); };
static int __attribute__((noinline)) my_release(int x) { return x + 1; }
static int __attribute__((noinline)) my_bind(int x) { return x * 3; }
int my_helper(int x) { return my_release(x) + my_bind(x); }
int __attribute__((section(".init.text"))) my_init(int x) { return x; }
const struct ops my_ops = { 2, 0, my_release, my_bind };
struct other my_other = { my_helper };
struct other my_init_ptr = { my_init };
`;

// What `bpftool btf dump file vmlinux format raw` prints for the structs we read.
const BTF_RAW = `[1] INT 'int' size=4 bits_offset=0 nr_bits=32 encoding=SIGNED
[2] STRUCT 'proto_ops' size=32 vlen=4
	'family' type_id=1 bits_offset=0
	'owner' type_id=3 bits_offset=64
	'release' type_id=4 bits_offset=128
	'bind' type_id=4 bits_offset=192
[3] PTR '(anon)' type_id=0
[4] PTR '(anon)' type_id=7
[5] STRUCT 'proto' size=2048 vlen=1
	'close' type_id=4 bits_offset=0
[6] STRUCT 'unrelated' size=8 vlen=1
	'fn' type_id=4 bits_offset=0
[7] FUNC_PROTO '(anon)' ret_type_id=1 vlen=1
	'(anon)' type_id=1
[8] STRUCT 'kernel_param_ops' size=32 vlen=4
	'flags' type_id=1 bits_offset=0
	'set' type_id=4 bits_offset=64
	'get' type_id=4 bits_offset=128
	'free' type_id=4 bits_offset=192
[9] STRUCT 'seq_operations' size=32 vlen=4
	'start' type_id=4 bits_offset=0
	'stop' type_id=4 bits_offset=64
	'next' type_id=4 bits_offset=128
	'show' type_id=4 bits_offset=192
`;

function fixtureObject(): Buffer {
  const dir = mkdtempSync(join(tmpdir(), 'sockvm-trace-test-'));
  writeFileSync(join(dir, 'm.c'), FIXTURE_C);
  execFileSync('gcc', ['-O2', '-c', '-fno-pic', '-o', join(dir, 'm.o'), join(dir, 'm.c')]);
  return readFileSync(join(dir, 'm.o'));
}

await t.test('BTF raw dump: struct sizes and members by byte offset', async (t) => {
  const s = parseBtfRaw(BTF_RAW, ['proto_ops', 'proto', 'net_proto_family']);
  t.same([...s.keys()].sort(), ['proto', 'proto_ops']);
  t.equal(s.get('proto_ops')?.size, 32);
  t.equal(s.get('proto_ops')?.members.get(16), 'release');
  t.equal(s.get('proto_ops')?.members.get(24), 'bind');
  t.same([...(s.get('proto_ops')?.functionPointers ?? [])].sort(), [16, 24]);
});

await t.test('structs of one size are told apart by where their function pointers are', async (t) => {
  const layouts = parseBtfRaw(BTF_RAW, ['proto_ops', 'kernel_param_ops', 'seq_operations']);
  const mod = moduleFunctions(fixtureObject(), 'm.o', layouts);
  // my_ops (32 bytes, slots at 16 and 24) fits all three: no type is guessed.
  t.equal(mod.tables.find((x) => x.object === 'my_ops')?.type, undefined);
  // Without seq_operations, a slot at 16 and 24 is still proto_ops or kernel_param_ops: none.
  const two = moduleFunctions(fixtureObject(), 'm.o', parseBtfRaw(BTF_RAW, ['proto_ops', 'kernel_param_ops']));
  t.equal(two.tables.find((x) => x.object === 'my_ops')?.type, undefined);
});

await t.test('module ELF: tables by relocation, typed and named by the BTF layout', async (t) => {
  const mod = moduleFunctions(fixtureObject(), 'm.o', parseBtfRaw(BTF_RAW, ['proto_ops']));
  t.same(mod.functions, ['my_bind', 'my_helper', 'my_release']);
  t.same(mod.initExit, ['my_init']);
  const ops = mod.tables.find((x) => x.object === 'my_ops');
  t.equal(ops?.type, 'proto_ops');
  t.same(ops?.slots, [
    { offset: 16, member: 'release', function: 'my_release' },
    { offset: 24, member: 'bind', function: 'my_bind' },
  ]);
  // A table of another type: kept, by offset; a table of init code only: not a handler table.
  t.same(
    mod.tables.find((x) => x.object === 'my_other'),
    { object: 'my_other', slots: [{ offset: 0, function: 'my_helper' }] },
  );
  t.notOk(mod.tables.some((x) => x.object === 'my_init_ptr'));
  // Without BTF the same tables come out by offset.
  const bare = moduleFunctions(fixtureObject(), 'm.o', new Map());
  t.same(
    bare.tables.find((x) => x.object === 'my_ops')?.slots.map((s) => s.offset),
    [16, 24],
  );
  t.equal(bare.tables.find((x) => x.object === 'my_ops')?.type, undefined);
  // The guest's list names each function's role.
  t.match(functionList(mod), /^module my_release proto_ops\.release$/m);
  t.match(functionList(mod), /^module my_helper$/m);
  t.match(functionList(bare), /^module my_release$/m);
  t.match(functionList(mod), /^tcp tcp_v4_connect$/m);
  t.match(functionList(mod), /^e1000 e1000_xmit_frame$/m);
});

await t.test('not an ELF file: an error naming it', async (t) => {
  t.throws(
    () => moduleFunctions(Buffer.from('hello, world, this is not an ELF object at all........................'), 'x.ko', new Map()),
    /x\.ko: not an ELF file/,
  );
});

const TRACE = {
  tool: 'sockvm-trace',
  version: 1,
  release: '6.1.0',
  returnsBy: 'bpf_get_func_ip',
  drops: { ringbuf: 0, depthOverflow: 0 },
  functions: [
    { name: 'my_release', kind: 'module', attached: true },
    { name: 'my_bind', kind: 'module', attached: true },
    { name: 'my_helper', kind: 'module', attached: false, error: 'not in /proc/kallsyms (inlined, or not in this kernel)' },
    { name: 'tcp_v4_connect', kind: 'tcp', attached: true },
  ],
  uprobes: [{ binary: '/suites/x', attached: true }],
  untracked: { calls: { my_bind: 2 } },
  tests: [
    {
      name: 'closes',
      calls: { my_release: 3, tcp_v4_connect: 1 },
      latencyLog2Ns: { my_release: { '12': 3 } },
      chains: [{ count: 3, calls: ['__sock_release', 'my_release'] }],
      chainsDropped: 0,
    },
  ],
};

await t.test('trace JSON → coverage per table, unreached named, drops summed', async (t) => {
  const mod = moduleFunctions(fixtureObject(), 'm.o', parseBtfRaw(BTF_RAW, ['proto_ops']));
  const trace = parseTraceFile(JSON.stringify(TRACE));
  const cov = computeCoverage(mod, [
    { suite: 's1', trace },
    { suite: 's2', trace: { ...trace, untracked: { calls: {} }, drops: { ringbuf: 5 } } },
  ]);
  const ops = cov.tables.find((x) => x.object === 'my_ops');
  t.same([ops?.reached, ops?.total, ops?.percent], [2, 2, 100]);
  t.same(ops?.slots.find((s) => s.slot === 'release')?.tests, ['s1/closes', 's2/closes']);
  t.same(ops?.slots.find((s) => s.slot === 'bind')?.tests, ['s1/(outside tests)']);
  t.equal(ops?.slots.find((s) => s.slot === 'release')?.calls, 6);
  t.same(cov.unreachedHandlers, ['my_other.+0x0 (my_helper)']);
  t.same(cov.handlers, { reached: 2, total: 3, percent: 66.7 });
  t.same(cov.functions.unreached, ['my_helper']);
  t.same(cov.unattached, [{ function: 'my_helper', error: 'not in /proc/kallsyms (inlined, or not in this kernel)' }]);
  t.equal(cov.drops.ringbuf, 5);
  const lines = coverageLines(cov);
  t.ok(lines.includes('proto_ops my_ops 2/2 (100%)'));
  t.ok(lines.includes('table my_other 0/1 (0%)'));
  t.ok(lines.some((l) => l === 'no test reached: my_other.+0x0 (my_helper)'));
  t.ok(lines.some((l) => l.startsWith('trace drops: ringbuf 5')));
});

await t.test('trace JSON from the guest is checked field by field', async (t) => {
  t.throws(() => parseTraceFile('{"tool": "other"}'), /not a sockvm-trace output/);
  t.throws(() => parseTraceFile(JSON.stringify({ ...TRACE, tests: [{ ...TRACE.tests[0], calls: { x: -1 } }] })), /tests\[0\]\.calls\.x is not a count/);
  t.throws(() => parseTraceFile('not json'), SyntaxError);
});

await t.test('a module whose tables were not found has 0% handler coverage, not 100%', async (t) => {
  const cov = computeCoverage({ tables: [], functions: ['f'], initExit: [] }, []);
  t.same(cov.handlers, { reached: 0, total: 0, percent: 0 });
});
