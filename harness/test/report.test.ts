// report.html in a real browser: the golden fixture runs (a failing test, a kernel warning, a
// crash; a matrix with a target that never booted) written as a run writes them, opened from
// disk in headless Chromium (Debian's chromium, driven by playwright-core) with every request
// but the file itself refused. It renders, its counts are results.json's, the failure is named,
// hostile text stays text; the screenshot stays in the results directory (report.png).
// Also: the page alone (no browser) holds no script and no external reference, and the
// $GITHUB_STEP_SUMMARY file gets one Markdown summary per run.
import t from 'tap';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { toHtml } from '../src/report/html.js';
import { appendStepSummary, toStepSummary } from '../src/report/step-summary.js';
import type { ResultsFile } from '../src/results/model.js';
import { runResultsFile } from '../src/results/results-file.js';
import { countTests, judgeRun } from '../src/results/verdict.js';
import { runFiles } from '../src/results/writer.js';
import { repoRoot } from '../src/util/paths.js';
import { fixtureLogs, matrixResults, singleResults, suite, target } from './results-fixtures.js';

const CHROMIUM = '/usr/bin/chromium';
/** Where the rendered fixture runs stay after the test, report.png beside each report.html. */
const KEPT = join(repoRoot, 'results', 'report-test');

/** A run whose names, diagnostics and logs try to become markup. */
function hostileResults(): ResultsFile {
  const evil = '<script>alert(1)</script><img src=x onerror=alert(2)>';
  const run = target(`t"><b>x</b>`, [
    suite(`${evil}`, `TAP version 14\n1..1\nnot ok 1 - ${evil} & <style>*{display:none}</style>\n# </pre><iframe src="http://example.com/"></iframe>\n`, {
      exitCode: 1,
    }),
  ]);
  return runResultsFile([run], { runId: 'r"><svg onload=alert(3)>', command: `run ${evil}`, matrix: false, verdict: judgeRun([run]) });
}

await t.test('the page alone: every character of guest text escaped, no script, nothing fetched', async (t) => {
  const html = toHtml(hostileResults(), [{ dmesg: '<script>x</script>\n', console: '<link rel=stylesheet href=http://example.com/x.css>' }]);
  t.notMatch(html, /<script|<img|<iframe|<svg|<link|<b>x|<style>\*/i, 'no markup from the input');
  // The page's own markup (its tags, its style): the input's text inside it is entities, not tags.
  const tags = (html.match(/<[^>]*>/g) ?? []).join('\n');
  t.notMatch(tags, /\b(?:src|href|action|on\w+)\s*=|https?:\/\//i, 'no tag refers to anything outside the file or runs anything');
  t.notMatch(/<style>[^]*<\/style>/.exec(html)?.[0] ?? '', /url\(|@import/, 'the style loads nothing');
  t.match(html, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
  t.match(html, /<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">/);
});

await t.test('$GITHUB_STEP_SUMMARY: one Markdown summary appended per run; none when unset', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'sockvm-step-summary-'));
  const file = join(dir, 'summary.md');
  writeFileSync(file, '# an earlier step\n');
  await appendStepSummary(singleResults(), { GITHUB_STEP_SUMMARY: file });
  await appendStepSummary(matrixResults(), { GITHUB_STEP_SUMMARY: file });
  const text = readFileSync(file, 'utf8');
  t.ok(text.startsWith('# an earlier step\n## sockvm: 💥 ERROR (exit 2)'), "appended after the earlier step's");
  t.equal(text.match(/^## sockvm/gm)?.length, 2);
  t.match(text, /- host\/stream: not ok 2 - close wakes the reader: got 0, want 1/);
  await appendStepSummary(singleResults(), {});
  t.equal(readFileSync(file, 'utf8'), text, 'unset: nothing written');
  const md = toStepSummary(hostileResults());
  t.notMatch(md, /<script|<img|\| x/, 'guest text cannot become HTML or a table cell');
  await t.rejects(appendStepSummary(singleResults(), { GITHUB_STEP_SUMMARY: dir }), { message: new RegExp(`cannot write ${dir}: EISDIR`) });
  rmSync(dir, { recursive: true, force: true });
});

await t.test('report.html in headless Chromium: renders, counts as results.json, the failure named, screenshot kept', async (t) => {
  if (!existsSync(CHROMIUM)) {
    t.fail(`${CHROMIUM} is missing: scripts/setup installs Debian's chromium (apt-get install chromium)`);
    return;
  }
  const started = Date.now();
  // --no-sandbox: the tests run as root, where Chromium's sandbox refuses to start.
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-extensions'] });
  t.teardown(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  t.comment(`Chromium up in ${Date.now() - started} ms`);
  const fetched: string[] = [];
  const dialogs: string[] = [];
  const pageUrls = new Set<string>();
  await page.route('**/*', (route) => {
    if (pageUrls.has(route.request().url())) return route.continue();
    fetched.push(route.request().url());
    return route.abort();
  });
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  const cases: [string, ResultsFile, string][] = [
    ['single', singleResults(), 'host/stream: not ok 2 - close wakes the reader'],
    ['matrix', matrixResults(), 'debian-5.10/wire'],
    ['hostile', hostileResults(), 'not ok 1 - <script>alert(1)</script>'],
  ];
  for (const [name, results, failure] of cases) {
    const dir = join(KEPT, name);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    for (const [file, text] of Object.entries(runFiles(results, { logs: fixtureLogs(results) }))) writeFileSync(join(dir, file), text);
    const json = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as ResultsFile;

    const url = pathToFileURL(join(dir, 'report.html')).href;
    pageUrls.add(url);
    await page.goto(url, { waitUntil: 'load', timeout: 10_000 });
    const want = countTests(json.targets.flatMap((r) => r.suites));
    const shown = async (id: string): Promise<number> => Number(await page.locator(`#${id}`).textContent({ timeout: 2000 }));
    t.same({ passed: await shown('passed'), failed: await shown('failed'), skipped: await shown('skipped') }, want, `${name}: the counts are results.json's`);
    t.match(
      await page.locator('#verdict').textContent(),
      new RegExp(`^${{ pass: 'PASS', fail: 'FAIL', error: 'ERROR' }[json.status]} · exit ${json.exitCode}$`),
      `${name}: the verdict`,
    );
    t.equal(await page.locator('#matrix tr').count(), json.targets.length + 1, `${name}: a row per target`);
    t.equal(
      await page.locator('.bar').count(),
      json.targets.filter((r) => Object.values(r.phases).some((ms) => ms > 0)).length,
      `${name}: a timing bar per target`,
    );
    const text = await page.locator('body').innerText();
    t.ok(text.includes(failure), `${name}: the failure is named (${failure})`);
    t.ok(text.includes('SeaBIOS') && text.includes('newtcp: loaded'), `${name}: console and dmesg tails shown`);
    t.same(fetched, [], `${name}: nothing fetched`);
    t.same(dialogs, [], `${name}: no script ran`);
    await page.screenshot({ path: join(dir, 'report.png'), fullPage: true });
    t.ok(existsSync(join(dir, 'report.png')), `${name}: ${join(dir, 'report.png')} kept`);
  }
  t.comment(`three reports rendered, checked and shot in ${Date.now() - started} ms`);
});
