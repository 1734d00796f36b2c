// The perf suite's "# metric {json}" lines: parsed into results.json's metrics, a bad line named
// (it fails the suite), and the summary's line per measurement with TCP beside NEW_TCP.
import t from 'tap';
import { metricLines, parseMetricLine } from '../src/results/metrics.js';

await t.test('a metric line parses; other lines are not metrics', async (t) => {
  const line = '# metric {"name":"loopback stream throughput","value":412.5,"unit":"MiB/s","better":"higher","ratioToTcp":0.981}';
  t.same(parseMetricLine(line, 'perf.tap'), {
    metric: { name: 'loopback stream throughput', value: 412.5, unit: 'MiB/s', better: 'higher', ratioToTcp: 0.981 },
  });
  t.same(parseMetricLine('# metric {"name":"x (TCP)","value":1,"unit":"us","better":"lower","reference":true}', 'perf.tap'), {
    metric: { name: 'x (TCP)', value: 1, unit: 'us', better: 'lower', reference: true },
  });
  t.equal(parseMetricLine('# seed 12', 'perf.tap'), undefined);
  t.equal(parseMetricLine('ok 1 - metric {"name":"x"}', 'perf.tap'), undefined);
});

await t.test('a malformed metric line is a problem naming the file and the line', async (t) => {
  t.match(parseMetricLine('# metric {"name":"x",', 'perf.tap'), { problem: /^perf\.tap: a metric line that is not JSON: # metric/ });
  t.match(parseMetricLine('# metric {"name":"x","value":"fast","unit":"MiB/s","better":"higher"}', 'perf.tap'), {
    problem: /^perf\.tap: metrics\[0\] is not \{name, value, unit/,
  });
  t.match(parseMetricLine('# metric {"name":"x","value":1,"unit":"us","better":"sideways"}', 'perf.tap'), { problem: /better: "higher"\|"lower"/ });
});

await t.test('summary lines pair NEW_TCP with its TCP twin and the ratio', async (t) => {
  t.same(
    metricLines([
      { name: 'wire 1 B latency p50', value: 512.3456, unit: 'us', better: 'lower', ratioToTcp: 1.0412 },
      { name: 'wire 1 B latency p50 (TCP)', value: 492.01, unit: 'us', better: 'lower', reference: true },
      { name: 'records', value: 1234567, unit: 'rec/s', better: 'higher' },
    ]),
    ['wire 1 B latency p50: 512.3 us, TCP 492 us, ratio 1.041', 'records: 1235000 rec/s'],
  );
});
