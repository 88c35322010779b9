// `logs` against what a log file or a reader can do to it: a reader that goes away (`| head -1`),
// a line of 20 MB, control sequences in lines.
import assert from 'node:assert/strict';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { execa } from 'execa';
import { assertNoNodeWarnings, BIN, cleanEnv, makeDataDir, ROOT, runCli, sleep } from './helpers/cli.js';

const entry = (n, extra = {}) => JSON.stringify({ level: 30, time: 1764350155000 + n, pid: 4101, hostname: 'h', worker: 1, event: 'http.request', msg: `line ${n}`, ...extra });
const lines = (stdout) => stdout.split('\n').filter(Boolean);

// The child's stdout is read until its first newline, then closed, as `| head -1` does.
async function readFirstLineThenClose(args, { afterClose } = {}) {
  const child = execa(process.execPath, [BIN, ...args], { cwd: ROOT, env: cleanEnv(), extendEnv: false, reject: false, stdin: 'ignore', buffer: { stdout: false } });
  let first = '';
  await new Promise((resolve) => {
    child.stdout.on('data', (chunk) => {
      if (first.includes('\n')) return;
      first += chunk.toString();
      if (first.includes('\n')) {
        child.stdout.destroy();
        resolve();
      }
    });
  });
  await afterClose?.();
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const result = await child;
  clearTimeout(timer);
  return { ...result, first: first.slice(0, first.indexOf('\n')) };
}

test('a closed stdout (`logs | head -1`) ends logs quietly with exit 0, in every mode', async (t) => {
  const dir = makeDataDir(t);
  const file = join(dir, 'presenter.log');
  writeFileSync(file, `${Array.from({ length: 20_000 }, (_, i) => entry(i)).join('\n')}\n`);
  for (const args of [['logs', file], ['logs', '--json', file], ['logs', '--json', '--event', 'http', file]]) {
    const r = await readFirstLineThenClose(args);
    assert.equal(r.exitCode, 0, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr, '', args.join(' '));
    assert.match(r.first, /line 0/);
  }
  // --follow: the next line written after the reader left ends it
  const small = join(dir, 'follow.log');
  writeFileSync(small, `${entry(1)}\n`);
  const r = await readFirstLineThenClose(['logs', '--follow', '--json', small], {
    afterClose: async () => {
      for (let i = 2; i < 6; i++) {
        await sleep(300);
        appendFileSync(small, `${entry(i)}\n`);
      }
    },
  });
  assert.equal(r.exitCode, 0, r.stderr);
  assert.equal(r.stderr, '');
});

test('a 20 MB line between good lines is skipped and counted; the lines after it are read (plain, gzip, --follow, --duplicates)', async (t) => {
  const dir = makeDataDir(t);
  const file = join(dir, 'presenter.log');
  const marked = (n) => entry(n, { event: 'feedback.marked', presentationId: 'p', jobId: `j${n}`, version: n, responseHash: 'h', msg: `marked ${n}` });
  const good = [entry(1), marked(2)];
  const after = [marked(3), entry(4)];
  const huge = entry(99, { msg: 'x'.repeat(20 * 1024 * 1024) });
  writeFileSync(file, `${[...good, huge, ...after].join('\n')}\n`);
  writeFileSync(`${file}.gz`, gzipSync(`${[...good, huge, ...after].join('\n')}\n`));
  const note = 'logs: 1 line over 1 MiB skipped (raise --max-line-bytes to read them)';
  for (const input of [file, `${file}.gz`]) {
    const r = await runCli(['logs', '--json', input]);
    assert.equal(r.exitCode, 0);
    assert.deepEqual(lines(r.stdout).map((l) => JSON.parse(l).msg), ['line 1', 'marked 2', 'marked 3', 'line 4'], input);
    assert.equal(r.stderr, note);
  }
  const report = await runCli(['logs', '--duplicates', file]);
  assert.equal(report.exitCode, 0, report.stdout);
  assert.match(report.stdout, /^No duplicates among 2 marked jobs · .* · 0 unreadable lines skipped · 1 line over 1 MiB skipped · 4 lines in 1 file/);
  const json = JSON.parse((await runCli(['logs', '--duplicates', '--json', `${file}.gz`])).stdout);
  assert.equal(json.oversized, 1);
  assert.equal(json.maxLineBytes, 1024 * 1024);
  assert.equal(json.marked, 2);

  // the cap is a flag: the same line is read under a higher one, a smaller cap skips more
  const higher = await runCli(['logs', '--json', '--max-line-bytes', '32MiB', file]);
  assert.equal(lines(higher.stdout).length, 5);
  assert.equal(higher.stderr, '');
  const lower = await runCli(['logs', '--json', '--max-line-bytes', '1KiB', file]);
  assert.equal(lines(lower.stdout).length, 4);
  const bad = await runCli(['logs', '--max-line-bytes', '10', file]);
  assert.equal(bad.exitCode, 2);
  assert.equal(bad.stderr, 'error: Expected --max-line-bytes to be a size from 1KiB to 1024MiB such as 4MiB or 65536, got `10`.');

  // --follow: the same, and the count when it ends
  const child = execa(process.execPath, [BIN, 'logs', '--follow', '--json', file], { cwd: ROOT, env: cleanEnv(), extendEnv: false, reject: false, stdin: 'ignore' });
  t.after(() => child.kill('SIGKILL'));
  let out = '';
  child.stdout.on('data', (s) => (out += s));
  const deadline = Date.now() + 15_000;
  while (lines(out).length < 4 && Date.now() < deadline) await sleep(50);
  appendFileSync(file, `${'y'.repeat(3 * 1024 * 1024)}\n${entry(5)}\n`);
  while (lines(out).length < 5 && Date.now() < deadline) await sleep(50);
  child.kill('SIGINT');
  const result = await child;
  assert.equal(result.exitCode, 0);
  assert.deepEqual(lines(out).map((l) => JSON.parse(l).msg), ['line 1', 'marked 2', 'marked 3', 'line 4', 'line 5']);
  assert.equal(result.stderr, 'logs: 2 lines over 1 MiB skipped (raise --max-line-bytes to read them)');
  assertNoNodeWarnings(result.stderr);
});

test('memory stays flat over a 20 MB line: the line is never held', async (t) => {
  const dir = makeDataDir(t);
  const small = join(dir, 'small.log');
  const big = join(dir, 'big.log');
  writeFileSync(small, `${entry(1)}\n${entry(2)}\n`);
  writeFileSync(big, `${entry(1)}\n${'z'.repeat(20 * 1024 * 1024)}\n${entry(2)}\n`);
  // the CLI in a child that reports its peak resident memory when it exits
  const peak = async (file) => {
    const script = `process.on('exit', () => process.stderr.write('maxRSS=' + process.resourceUsage().maxRSS + '\\n')); const { main } = await import(${JSON.stringify(join(ROOT, 'dist/cli/main.js'))}); await main(['node', 'presenter-serve', 'logs', '--json', ${JSON.stringify(file)}]);`;
    const r = await execa(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, env: cleanEnv(), extendEnv: false, reject: false });
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(lines(r.stdout).length, 2);
    return Number(/maxRSS=(\d+)/.exec(r.stderr)[1]);
  };
  const base = await peak(small);
  const withLine = await peak(big);
  // Holding the line costs its 20 MB of chunks, 20 MB more to join them and its 20 MB string: about
  // 70 MB over the base measured before the cap. Skipped, it leaves only read chunks the GC has not
  // collected yet: about 30 MB measured, and no more for a longer line (V8 collects by then).
  assert.ok(withLine - base < 48 * 1024, `peak RSS ${Math.round(base / 1024)} MB on two lines, ${Math.round(withLine / 1024)} MB with a 20 MB line between them`);
});

/* eslint-disable no-control-regex -- these tests look for control characters */
const ATTACK = '\x1b[2J\x1b]0;pwned\x07';
const noRawControls = (s, where) => assert.ok(!/[\x00-\x08\x0b-\x1f\x7f-\x9f]/.test(s), `raw control character in ${where}: ${JSON.stringify(s)}`);

test('control sequences in log lines are printed escaped, never raw (pretty, colour, --json, --follow, --duplicates)', async (t) => {
  const dir = makeDataDir(t);
  const file = join(dir, 'presenter.log');
  const text = [
    `plain text ${ATTACK} end`,
    JSON.stringify({ level: 30, time: 1, pid: 1, hostname: 'h', worker: 1, event: 'http.request', msg: `json ${ATTACK}`, path: `/x\u009b31m` }),
    `2026-11-28 17:15:55,123 12345 Feedback für Präsentation 17 markiert ${ATTACK}`,
    JSON.stringify({ level: 50, time: 2, pid: 1, event: 'job.claim_failed', err: { type: 'Error', message: `m ${ATTACK}`, stack: `Error: ${ATTACK}\n    at x` }, msg: 'Claiming jobs failed' }),
  ];
  writeFileSync(file, `${text.join('\n')}\n`);

  const plain = await runCli(['logs', file]);
  assert.equal(plain.exitCode, 0);
  noRawControls(plain.stdout.replaceAll('\n', ''), 'the pretty view');
  assert.equal(lines(plain.stdout)[0], 'plain text \\u001b[2J\\u001b]0;pwned\\u0007 end');
  assert.match(lines(plain.stdout)[1], /json \\u001b\[2J\\u001b\]0;pwned\\u0007/);
  assert.match(plain.stdout, /markiert \\u001b\[2J/);

  const coloured = await runCli(['logs', file], { env: { FORCE_COLOR: '1' } });
  assert.ok(coloured.stdout.includes('\x1b['), 'colour is on');
  // the only escape sequences left are the pretty printer's colours
  noRawControls(coloured.stdout.replace(/\x1b\[[0-9;]*m/g, '').replaceAll('\n', ''), 'the coloured view');
  assert.ok(!coloured.stdout.includes('\x1b[2J') && !coloured.stdout.includes('\x1b]0;'));

  const json = await runCli(['logs', '--json', file]);
  noRawControls(json.stdout.replaceAll('\n', ''), 'the --json view');
  const objects = lines(json.stdout).map((l) => JSON.parse(l));
  assert.equal(objects[0].msg, `json ${ATTACK}`, '--json keeps the value: the escape is JSON\'s');
  assert.equal(objects[0].path, '/x\u009b31m');

  // --follow prints through the same printer
  const child = execa(process.execPath, [BIN, 'logs', '--follow', file], { cwd: ROOT, env: cleanEnv(), extendEnv: false, reject: false, stdin: 'ignore' });
  t.after(() => child.kill('SIGKILL'));
  let out = '';
  child.stdout.on('data', (s) => (out += s));
  const deadline = Date.now() + 10_000;
  while (!out.includes('Claiming') && Date.now() < deadline) await sleep(50);
  appendFileSync(file, `later ${ATTACK}\n`);
  while (!out.includes('later') && Date.now() < deadline) await sleep(50);
  child.kill('SIGINT');
  await child;
  assert.match(out, /later \\u001b\[2J/);
  noRawControls(out.replaceAll('\n', ''), 'the --follow view');

  // --duplicates: ids and reasons from the log are shown escaped too
  const dups = join(dir, 'dups.log');
  const mark = (pid) => JSON.stringify({ level: 30, time: 1000 + pid, pid, event: 'feedback.marked', presentationId: `p${ATTACK}`, jobId: `j\u009b2J`, responseHash: 'h', msg: 'm' });
  writeFileSync(dups, `${mark(1)}\n${mark(2)}\n`);
  const table = await runCli(['logs', '--duplicates', dups]);
  assert.equal(table.exitCode, 1);
  noRawControls(table.stdout.replaceAll('\n', ''), 'the duplicates table');
  assert.match(table.stdout, /p\\u001b\[2J/);
  const report = await runCli(['logs', '--duplicates', '--json', dups]);
  noRawControls(report.stdout.replaceAll('\n', ''), 'the --json report');
  assert.deepEqual(JSON.parse(report.stdout).duplicates[0].jobIds, ['j\u009b2J']);
});
