import t from 'tap';
import { parseManifest } from '../src/suites/manifest.js';
import { roundName } from '../src/suites/spec.js';

await t.test('manifest defaults and values', async (t) => {
  t.same(parseManifest('{"bpf": ["tcfault.bpf.o"]}', 'x').bpf, ['tcfault.bpf.o']);
  t.equal(parseManifest('{"optIn": true}', 'x').optIn, true);
  t.throws(() => parseManifest('{"optIn": "yes"}', 'x/suite.json'), /"optIn" must be true or false/);
  t.throws(() => parseManifest('{"bpf": ["../x.o"]}', 'x/suite.json'), /"bpf" must be a list of BPF object file names/);
  const defaults = { guests: 1, needsRoot: true, tags: [], modules: [], tools: [], bpf: [], killsPeer: false, optIn: false, trace: false };
  t.same(parseManifest('{}', 'x/suite.json'), defaults);
  t.same(parseManifest('{"modules": ["sch_netem"], "tools": ["tc"]}', 'x').modules, ['sch_netem']);
  t.same(parseManifest('{"guests": 2, "timeout": 90, "tags": ["wire", "smoke"], "needsRoot": false}', 'x'), {
    ...defaults,
    guests: 2,
    timeoutSec: 90,
    needsRoot: false,
    tags: ['wire', 'smoke'],
  });
});

await t.test('manifest errors name the file, the key and the fix', async (t) => {
  t.throws(() => parseManifest('{"guests": 3}', 'suites/wire/suite.json'), /suites\/wire\/suite\.json: "guests" must be 1 or 2, not 3/);
  t.throws(() => parseManifest('{"timeout": "1m"}', 'f'), /"timeout" must be a whole number of seconds/);
  t.throws(
    () => parseManifest('{"tag": ["x"]}', 'f'),
    /unknown key "tag" \(known: guests, timeout, needsRoot, tags, modules, tools, bpf, description, killsPeer, optIn, trace, programs\)/,
  );
  t.throws(() => parseManifest('{"tags": "smoke"}', 'f'), /"tags" must be a list/);
  t.throws(() => parseManifest('[1]', 'f'), /expected a JSON object/);
  t.throws(() => parseManifest('{', 'f'), /not valid JSON/);
  t.throws(() => parseManifest('{"killsPeer": true}', 'f'), /"killsPeer" needs "guests": 2/);
  t.equal(parseManifest('{"guests": 2, "killsPeer": true}', 'f').killsPeer, true);
});

await t.test('every problem of a manifest at once, each at its key', async (t) => {
  t.throws(() => parseManifest('{"guests": 0, "tags": ["ok", "not ok"], "tools": "tc", "extra": 1}', 's/suite.json'), {
    message: [
      's/suite.json: "guests" must be 1 or 2, not 0',
      's/suite.json: tags[1]: "tags" must be a list of words like ["smoke", "wire"]; "not ok" is not one',
      's/suite.json: "tools" must be a list of names like ["tc"], not "tc"',
      's/suite.json: unknown key "extra" (known: guests, timeout, needsRoot, tags, modules, tools, bpf, description, killsPeer, optIn, trace, programs)',
    ].join('\n'),
  });
});

await t.test("a repeated suite's results are named by round", async (t) => {
  t.equal(roundName('create', 2, 3), 'create#2');
  t.equal(roundName('create', 1, 1), 'create');
});
