// `logs` over several hosts' logs: files and data dirs, rotated and gzip'd, merged by time, with
// two hosts whose workers have the same pid. Real files written here, the real built CLI.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { analyseGroups } from '../dist/logs/analyse.js';
import { checkInput, groupInputs } from '../dist/logs/files.js';
import { lineTime, mergeGroups } from '../dist/logs/merge.js';
import { execa } from 'execa';
import { cleanEnv, makeDataDir, ROOT, runCli, startServer } from './helpers/cli.js';
import { api, waitForStatus } from './helpers/http.js';

const T0 = Date.parse('2026-11-28T17:00:00Z');
const PID = 4242; // the same pid on web1 and web2: each host's first worker after boot
const lines = (stdout) => stdout.split('\n').filter(Boolean);

function pino(host, at, event, fields = {}) {
  return JSON.stringify({ level: event === 'job.lease_expired' ? 40 : 30, time: T0 + at, pid: PID, hostname: host, worker: 1, event, msg: `${event} ${fields.jobId ?? ''}`.trim(), ...fields });
}
const started = (host, at, jobId, presentationId, version, lease) => pino(host, at, 'feedback.started', { presentationId, jobId, version, attempt: 1, ...(lease ? { lease } : {}) });
const marked = (host, at, jobId, presentationId, version, lease, responseHash = `h-${jobId}-${host}`) =>
  pino(host, at, 'feedback.marked', { presentationId, jobId, version, attempt: 1, ...(lease ? { lease } : {}), feedbackId: `f-${jobId}-${host}`, responseHash, provider: 'local', durationMs: 100 });
const other = (host, at, n) => pino(host, at, 'http.request', { n });

// Python's asctime, as the old stack wrote it (read as local time: the tests run with TZ=UTC)
function python(at, pid, msg) {
  const d = new Date(T0 + at).toISOString();
  return `${d.slice(0, 10)} ${d.slice(11, 19)},${d.slice(20, 23)} ${pid} ${msg}`;
}

/** Three hosts' logs: web1 (a rotated .gz, then its live file), web2 (a data dir), old (the Python app's text log). */
function writeHosts(dir) {
  const web1 = join(dir, 'web1');
  const web2 = join(dir, 'web2');
  const old = join(dir, 'old');
  mkdirSync(web1);
  mkdirSync(join(web2, 'logs'), { recursive: true });
  mkdirSync(old);
  // web1 runs j1 (lease l1), freezes past its lease; web2 takes j1 over (l2) and finishes; web1
  // wakes and finishes too: one feedback, two processes with the same pid on two hosts.
  // j6 has no lease in its lines (older logs): both hosts run it at once, again pid 4242 each.
  // j4 and j5 are two jobs for one unversioned talk giving the same answer from both hosts.
  // j7: web1 freezes with it, web2 takes it over and marks it, web1 resumes and logs that it lost the lease
  const web1Old = [other('web1', 0, 1), started('web1', 1_000, 'j1', 'p1', 1, 'l1'), started('web1', 2_000, 'j7', 'p7', 1, 'l7'), started('web1', 5_000, 'j6', 'p6', undefined, undefined), other('web1', 12_000, 2), pino('web1', 20_000, 'worker.hung')];
  const web1Live = [marked('web1', 31_000, 'j6', 'p6', undefined, undefined), marked('web1', 45_000, 'j1', 'p1', 1, 'l1'), pino('web1', 46_000, 'job.lease_lost', { jobId: 'j7', presentationId: 'p7', version: 1, lease: 'l7', attempt: 1 }), marked('web1', 50_000, 'j4', 'p4', undefined, undefined, 'same-answer'), other('web1', 60_000, 3)];
  const web2Lines = [
    other('web2', 500, 1),
    started('web2', 6_000, 'j6', 'p6', undefined, undefined),
    started('web2', 7_000, 'j3', 'p3', 1, 'l3'),
    marked('web2', 8_000, 'j3', 'p3', 1, 'l3'),
    pino('web2', 35_000, 'job.lease_expired', { jobId: 'j7', presentationId: 'p7', version: 1, previousLease: 'l7', previousPid: PID, lease: 'l8', attempt: 2 }),
    pino('web2', 35_000, 'feedback.started', { jobId: 'j7', presentationId: 'p7', version: 1, attempt: 2, lease: 'l8' }),
    marked('web2', 36_000, 'j7', 'p7', 1, 'l8'),
    pino('web2', 40_000, 'job.lease_expired', { jobId: 'j1', presentationId: 'p1', version: 1, previousLease: 'l1', previousPid: PID, lease: 'l2', attempt: 2 }),
    pino('web2', 40_000, 'feedback.started', { jobId: 'j1', presentationId: 'p1', version: 1, attempt: 2, lease: 'l2' }),
    marked('web2', 41_000, 'j1', 'p1', 1, 'l2'),
    marked('web2', 52_000, 'j5', 'p4', undefined, undefined, 'same-answer'),
    'this line is cut off mid-wri',
    other('web2', 70_000, 2),
  ];
  const oldLines = [
    python(2_000, PID, 'Feedback für Präsentation 77 markiert'),
    python(3_000, 4243, 'Feedback für Präsentation 77 markiert'),
    python(9_000, PID, 'Feedback für Präsentation 78 markiert'),
  ];
  writeFileSync(join(web1, 'presenter.log.1.gz'), gzipSync(`${web1Old.join('\n')}\n`));
  writeFileSync(join(web1, 'presenter.log'), `${web1Live.join('\n')}\n`);
  writeFileSync(join(web2, 'logs/presenter.log'), `${web2Lines.join('\n')}\n`);
  writeFileSync(join(old, 'app.log'), `${oldLines.join('\n')}\n`);
  return { web1, web2, old, total: web1Old.length + web1Live.length + web2Lines.length + oldLines.length };
}

test('--duplicates over three hosts: keyed across hosts, each process named by host and pid', async (t) => {
  const dir = makeDataDir(t);
  const h = writeHosts(dir);
  const args = ['logs', '--duplicates', join(h.web1, 'presenter.log.1.gz'), join(h.web1, 'presenter.log'), h.web2, join(h.old, 'app.log')];
  const r = await runCli([...args, '--json'], { env: { TZ: 'UTC' } });
  assert.equal(r.exitCode, 1, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.deepEqual(report.hosts, ['old/app.log', 'web1', 'web2']);
  assert.deepEqual(report.files.map((f) => f.path.slice(dir.length + 1)), ['web1/presenter.log.1.gz', 'web1/presenter.log', 'web2/logs/presenter.log', 'old/app.log']);
  const byPresentation = Object.fromEntries(report.duplicates.map((d) => [d.presentationId, d]));
  assert.deepEqual(Object.keys(byPresentation).sort(), ['77', 'p1', 'p4', 'p6']);
  // p1 v1: web1's late completion after web2 took the job over
  assert.deepEqual(byPresentation.p1.processes, [{ host: 'web1', pid: PID }, { host: 'web2', pid: PID }]);
  assert.deepEqual(byPresentation.p1.pids, [PID]);
  assert.deepEqual(byPresentation.p1.hosts, ['web1', 'web2']);
  assert.deepEqual(byPresentation.p1.kinds, ['marked-twice']);
  assert.equal(byPresentation.p1.count, 2);
  // p6: the same pid on two hosts running one job at once is two attempts, not one
  assert.deepEqual(byPresentation.p6.kinds, ['concurrent'], 'needs the lines merged by time and keyed by host');
  assert.deepEqual(byPresentation.p6.processes, [{ host: 'web1', pid: PID }, { host: 'web2', pid: PID }]);
  // p4: one answer from two hosts' processes with the same pid
  assert.deepEqual(byPresentation.p4.kinds, ['same-response']);
  assert.deepEqual(byPresentation.p4.jobIds, ['j4', 'j5']);
  // the old stack's text: its host is its file
  assert.deepEqual(byPresentation['77'].processes, [{ host: 'old/app.log', pid: PID }, { host: 'old/app.log', pid: 4243 }]);
  assert.equal(report.garbled, 1);
  assert.equal(report.lines, h.total);
  // the lost attempts, named by their own started lines: web1's pid 4242, not web2's
  assert.deepEqual(report.retries.listed.map((x) => [x.jobId, x.outcome, x.reasons, x.lost]), [
    ['j7', 'marked', ['lease expired (pid 4242)'], [{ host: 'web1', pid: PID }]],
    ['j1', 'marked', ['lease expired (pid 4242)'], [{ host: 'web1', pid: PID }]],
  ]);

  const text = await runCli(args, { env: { TZ: 'UTC' } });
  assert.equal(text.exitCode, 1);
  const out = lines(text.stdout);
  assert.match(out[0], /^PRESENTATION +JOB +COUNT +PID@HOST +FIRST +LAST +KIND$/);
  const p1 = out.find((l) => l.startsWith('p1 '));
  assert.match(p1, /^p1 +j1 +2 +4242@web1, 4242@web2 +2026-11-28 17:00:41Z +2026-11-28 17:00:45Z +marked-twice$/);
  assert.match(out.find((l) => l.startsWith('77 ')), / 4242@old\/app\.log, 4243@old\/app\.log /);
  assert.match(out.find((l) => l.startsWith('p7 ')), /^p7 +j7 +2 +marked +lease expired \(pid 4242\) +4242@web1$/);
  assert.match(out.at(-1), /^4 duplicates \(4 extra feedbacks\) among \d+ marked jobs · 2 retries \(not duplicates\) · 1 unreadable line skipped · 27 lines in 4 files from 3 hosts \(0\.0 MB\)$/);
});

test('data dirs and files in any order give the same report; one host alone is unchanged (PIDS, no host)', async (t) => {
  const dir = makeDataDir(t);
  const h = writeHosts(dir);
  const a = await runCli(['logs', '--duplicates', '--json', h.web1, h.web2, join(h.old, 'app.log')], { env: { TZ: 'UTC' } });
  const b = await runCli(['logs', '--duplicates', '--json', join(h.old, 'app.log'), h.web2, join(h.web1, 'presenter.log'), join(h.web1, 'presenter.log.1.gz')], { env: { TZ: 'UTC' } });
  const strip = (r) => {
    const o = JSON.parse(r.stdout);
    delete o.files;
    return o;
  };
  assert.deepEqual(strip(a), strip(b));
  assert.equal(JSON.parse(a.stdout).duplicates.length, 4);

  const one = await runCli(['logs', '--duplicates', h.web1], { env: { TZ: 'UTC' } });
  assert.equal(one.exitCode, 0, 'web1 alone marked each talk once');
  assert.match(one.stdout, /· 11 lines in 2 files \(0\.0 MB\)$/);
});

test('the view merges hosts by time and names the host of every line', async (t) => {
  const dir = makeDataDir(t);
  const h = writeHosts(dir);
  const r = await runCli(['logs', '--json', h.web1, h.web2, join(h.old, 'app.log')], { env: { TZ: 'UTC' } });
  assert.equal(r.exitCode, 0, r.stderr);
  const records = lines(r.stdout).map((l) => JSON.parse(l));
  // a data dir in the view is its live file, as with --data-dir: web1's rotated .gz is not read
  assert.equal(records.length, 5 + 12 + 3, 'all lines but the cut-off one, which --json leaves out');
  const times = records.map((o) => o.time);
  assert.deepEqual(times, [...times].sort((x, y) => x - y), 'in time order across hosts');
  assert.deepEqual([...new Set(records.map((o) => o.hostname))].sort(), ['old/app.log', 'web1', 'web2']);
  assert.equal(records.find((o) => o.format === 'text').hostname, 'old/app.log');

  const pretty = await runCli(['logs', h.web1, h.web2], { env: { TZ: 'UTC' } });
  const shown = lines(pretty.stdout);
  assert.match(shown[0], /^\[2026-11-28 17:00:00\.500 \+0000\] INFO \(4242 on web2\): /, 'the pretty view names the host');
  assert.ok(shown.includes('this line is cut off mid-wri'), 'a line without a time keeps its place');
  assert.ok(shown.indexOf('this line is cut off mid-wri') > shown.findIndex((l) => l.includes('j5')));
});

test('the merge is a k-way merge of streams: interleaved lines come out in order, a timeless line stays after its predecessor', async (t) => {
  const dir = makeDataDir(t);
  const files = [];
  // five hosts, 20,000 lines each, times interleaved (host i writes at i, i+5, i+10 …); one host gzip'd and rotated
  for (let host = 0; host < 5; host++) {
    const all = Array.from({ length: 20_000 }, (_, n) => JSON.stringify({ level: 30, time: T0 + host + 5 * n, pid: 100, hostname: `h${host}`, msg: `${host}:${n}` }));
    if (host === 0) {
      writeFileSync(join(dir, 'h0.log.1.gz'), gzipSync(`${all.slice(0, 12_345).join('\n')}\n`));
      writeFileSync(join(dir, 'h0.log'), `${all.slice(12_345).join('\n')}\n`);
      files.push(join(dir, 'h0.log.1.gz'), join(dir, 'h0.log'));
    } else {
      if (host === 3) all.splice(7_000, 0, 'no time here');
      writeFileSync(join(dir, `h${host}.log`), all.join('\n'));
      files.push(join(dir, `h${host}.log`));
    }
  }
  const groups = groupInputs(files.map(checkInput));
  assert.equal(groups.length, 5);
  let last = -Infinity;
  let count = 0;
  let previous;
  let outOfOrder = 0;
  await mergeGroups(groups, (line, group) => {
    count++;
    if (line === 'no time here') {
      assert.equal(group.label, 'h3.log');
      assert.ok(previous.includes('"msg":"3:6999"'), previous);
      return;
    }
    const time = lineTime(line);
    if (time < last) outOfOrder++;
    last = time;
    previous = line;
  });
  assert.equal(count, 100_001);
  assert.equal(outOfOrder, 0);
  assert.equal(lineTime('2026-11-28 17:15:55,123 12345 Feedback für Präsentation 17 markiert'), new Date('2026-11-28T17:15:55.123').getTime());
  assert.equal(lineTime('{"level":30,"time":"2026-11-28T17:00:00.000Z"}'), T0);
  assert.equal(lineTime('not a log line'), undefined);
});

test('analyseGroups reads one group per host, and reports each file once', async (t) => {
  const dir = makeDataDir(t);
  const h = writeHosts(dir);
  const groups = groupInputs([join(h.web1, 'presenter.log.1.gz'), join(h.web1, 'presenter.log'), join(h.web2, 'logs/presenter.log')].map(checkInput));
  assert.deepEqual(groups.map((g) => [g.label, g.files.length]), [['web1/presenter.log', 2], ['web2/logs/presenter.log', 1]]);
  const r = await analyseGroups(groups, { windowMs: 60_000 });
  assert.deepEqual(r.files.map((f) => f.lines), [6, 5, 13]);
  assert.deepEqual(r.hosts, ['web1', 'web2']);
});

test('real `serve` logs of two hosts (two supervisors, two data dirs): merged in order, clean, every talk marked once', async (t) => {
  const servers = [await startServer(t, { args: ['--profile', 'safe'] }), await startServer(t, { args: ['--profile', 'safe'] })];
  const ids = [];
  for (let i = 0; i < 8; i++) {
    const server = servers[i % 2];
    const r = await api(server, '/api/presentations', { method: 'POST', json: { title: `talk ${i}`, content: `# Talk ${i}\n\nSlide text for talk ${i}.\n\n# Second slide\n\nMore.` } });
    assert.equal(r.status, 201, JSON.stringify(r.data));
    ids.push([server, r.data.id]);
  }
  for (const [server, id] of ids) assert.equal((await waitForStatus(server, id)).status, 'done');
  const dirs = servers.map((s) => s.dataDir);
  const r = await runCli(['logs', '--duplicates', '--json', ...dirs]);
  assert.equal(r.exitCode, 0, r.stdout + r.stderr);
  const report = JSON.parse(r.stdout);
  assert.equal(report.marked, 8);
  assert.deepEqual(report.duplicates, []);
  assert.deepEqual(report.hosts, [hostname()], 'pino names the host');
  assert.deepEqual(report.files.map((f) => f.path), dirs.map((d) => join(d, 'logs/presenter.log')));

  const view = await runCli(['logs', '--json', '--event', 'feedback.marked', ...dirs]);
  const marks = lines(view.stdout).map((l) => JSON.parse(l));
  assert.equal(marks.length, 8);
  assert.deepEqual(marks.map((m) => m.time), marks.map((m) => m.time).sort((a, b) => a - b));
  assert.equal(new Set(marks.map((m) => m.pid)).size >= 2, true, 'both hosts marked talks');
});

test('memory stays flat over large logs of three hosts: one chunk per host, never the whole input', async (t) => {
  const dir = makeDataDir(t);
  // three hosts' request lines, times interleaved; `size` MB each
  const write = (name, size) => {
    const paths = [];
    for (let host = 0; host < 3; host++) {
      const line = (n) => JSON.stringify({ level: 30, time: T0 + host + 3 * n, pid: 100 + host, hostname: `h${host}`, worker: 1, event: 'http.request', msg: `request ${n}`, url: '/api/presentations/abcdefghijklmnop', statusCode: 200 });
      const count = Math.floor((size * 1024 * 1024) / line(0).length);
      const path = join(dir, `${name}-h${host}.log`);
      writeFileSync(path, `${Array.from({ length: count }, (_, n) => line(n)).join('\n')}\n`);
      paths.push(path);
    }
    return paths;
  };
  const peak = async (files, mode) => {
    const args = ['logs', ...(mode === 'duplicates' ? ['--duplicates'] : ['--json', '--event', 'feedback']), ...files];
    const script = `process.on('exit', () => process.stderr.write('maxRSS=' + process.resourceUsage().maxRSS + '\\n')); const { main } = await import(${JSON.stringify(join(ROOT, 'dist/cli/main.js'))}); await main(['node', 'presenter-serve', ...${JSON.stringify(args)}]);`;
    // The heap is bounded so that V8 collects rather than grows: a reader that kept the input
    // would run out of it (120 MB of lines as strings), and the garbage of one that does not is
    // not left lying around in a young generation that Node 24 sizes up under a fast reader (its
    // peak RSS varied by 100 MB run to run without these flags)
    const r = await execa(process.execPath, ['--max-semi-space-size=8', '--max-old-space-size=64', '--input-type=module', '-e', script], { cwd: ROOT, env: cleanEnv(), extendEnv: false, reject: false });
    assert.equal(r.exitCode, 0, r.stderr);
    return Number(/maxRSS=(\d+)/.exec(r.stderr)[1]);
  };
  const small = write('small', 1);
  const large = write('large', 40);
  for (const mode of ['duplicates', 'view']) {
    const base = await peak(small, mode);
    const big = await peak(large, mode);
    // 120 MB of input: loading it would cost far more than 120 MB; a chunk per host and the
    // garbage the GC has not collected yet stay well under it
    assert.ok(big - base < 64 * 1024, `${mode}: peak RSS ${Math.round(base / 1024)} MB on 3 MB, ${Math.round(big / 1024)} MB on 120 MB`);
  }
});

test('a closed stdout (`logs A B | head -1`) ends a merge quietly with exit 0', async (t) => {
  const dir = makeDataDir(t);
  const files = [0, 1].map((host) => {
    const path = join(dir, `h${host}.log`);
    writeFileSync(path, `${Array.from({ length: 50_000 }, (_, n) => JSON.stringify({ level: 30, time: T0 + host + 2 * n, pid: 100, hostname: `h${host}`, msg: `line ${n}` })).join('\n')}\n`);
    return path;
  });
  for (const json of [[], ['--json']]) {
    const r = await execa('bash', ['-c', `"$0" "$1" logs "\${@:2}" | head -1; exit "\${PIPESTATUS[0]}"`, process.execPath, join(ROOT, 'bin/presenter-serve.js'), ...json, ...files], { env: cleanEnv(), extendEnv: false, reject: false, timeout: 20_000 });
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(r.stderr, '');
    assert.equal(lines(r.stdout).length, 1);
    assert.match(r.stdout, /line 0/);
  }
});

test('hosts whose clocks are apart: a start that sorts after the expiry of its own lease is no concurrency', async (t) => {
  const dir = makeDataDir(t);
  // web2's clock is 40 s behind web1's: it takes j9 over 35 s after web1 started it, stamped 5 s
  // *before* that start, and marks it 25 s later
  const web1 = [started('web1', 200_000, 'j9', 'p9', 1, 'l9'), pino('web1', 290_000, 'job.lease_lost', { jobId: 'j9', presentationId: 'p9', version: 1, lease: 'l9' })];
  const web2 = [
    pino('web2', 195_000, 'job.lease_expired', { jobId: 'j9', presentationId: 'p9', version: 1, previousLease: 'l9', previousPid: PID, lease: 'l10', attempt: 2 }),
    pino('web2', 195_000, 'feedback.started', { jobId: 'j9', presentationId: 'p9', version: 1, attempt: 2, lease: 'l10' }),
    marked('web2', 220_000, 'j9', 'p9', 1, 'l10'),
  ];
  writeFileSync(join(dir, 'web1.log'), `${web1.join('\n')}\n`);
  writeFileSync(join(dir, 'web2.log'), `${web2.join('\n')}\n`);
  const r = await analyseGroups(groupInputs([join(dir, 'web1.log'), join(dir, 'web2.log')].map(checkInput)), { windowMs: 60_000 });
  assert.deepEqual(r.duplicates, []);
  assert.deepEqual(r.retries.listed.map((x) => [x.jobId, x.outcome, x.lost]), [['j9', 'marked', [{ host: 'web1', pid: PID }]]]);
});

test('a host frozen between its claim and the line of its start: the start comes after the job was done by another, and still names the lost attempt\'s host', async (t) => {
  const dir = makeDataDir(t);
  // web1's claim of j5 (lease l5) was answered while web1 was stopped: it logs the start only on
  // resume, at 260 s, after web2 took the expired lease (230 s) and marked the job done (240 s)
  const web1 = [
    started('web1', 260_000, 'j5', 'p5', 1, 'l5'),
    pino('web1', 261_000, 'job.lease_lost', { jobId: 'j5', presentationId: 'p5', version: 1, lease: 'l5' }),
  ];
  const web2 = [
    pino('web2', 230_000, 'job.lease_expired', { jobId: 'j5', presentationId: 'p5', version: 1, previousLease: 'l5', previousPid: PID, lease: 'l6', attempt: 2 }),
    pino('web2', 230_000, 'feedback.started', { jobId: 'j5', presentationId: 'p5', version: 1, attempt: 2, lease: 'l6' }),
    marked('web2', 240_000, 'j5', 'p5', 1, 'l6'),
  ];
  writeFileSync(join(dir, 'web1.log'), `${web1.join('\n')}\n`);
  writeFileSync(join(dir, 'web2.log'), `${web2.join('\n')}\n`);
  const r = await analyseGroups(groupInputs([join(dir, 'web1.log'), join(dir, 'web2.log')].map(checkInput)), { windowMs: 60_000 });
  assert.deepEqual(r.duplicates, []);
  assert.deepEqual(r.retries.listed.map((x) => [x.jobId, x.outcome, x.lost]), [['j5', 'marked', [{ host: 'web1', pid: PID }]]]);
});
