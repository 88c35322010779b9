// `npm run bench`: HTTP load against serve (safe, advanced) next to a plain node:http baseline,
// job throughput, chaos (workers SIGKILLed), logs --duplicates throughput, start times (the
// CLI's commands, a worker from fork to ready) and the event loop (/healthz while big talks are analysed).
// Flags: --quick, --only http,reference,jobs,postgres,chaos,logs,cli,eventloop,instructions (the last only when named), --profiles safe,advanced, --connections 50,200,1000,
// --duration <s>, --jobs <n>, --job-rate <n/s>, --talks <n>, --log-size 1GB, --cpu-prof,
// --load autocannon|wrk|auto (default autocannon; auto = wrk when installed), --out <file>,
// --sqlite-driver auto|better-sqlite3|node:sqlite (PRESENTER_SQLITE_DRIVER for every server and
// the baseline; node:sqlite needs Node 22.13+: run the bench with that Node).
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { execFileSync } from 'node:child_process';
import { ROOT, stopAll, leftovers } from './lib/proc.js';
import { mb, table } from './lib/table.js';
import { httpSection } from './sections/http.js';
import { drainSection, jobsSection } from './sections/jobs.js';
import { chaosSection } from './sections/chaos.js';
import { logsSection } from './sections/logs.js';
import { cliSection } from './sections/cli.js';
import { referenceSection } from './sections/reference.js';
import { postgresSection } from './sections/postgres.js';
import { eventLoopSection } from './sections/eventloop.js';
import { instructionsSection } from './sections/instructions.js';

const SECTIONS = ['http', 'reference', 'jobs', 'postgres', 'chaos', 'logs', 'cli', 'eventloop', 'instructions'];
// run only when named: it needs valgrind, and serve under it takes minutes
const OPT_IN = ['instructions'];
const USAGE = `usage: npm run bench -- [--quick] [--only ${SECTIONS.join(',')}] [--profiles safe,advanced]
  [--connections 50,200,1000] [--duration <s>] [--jobs <n>] [--job-rate <n/s>] [--talks <n>] [--log-size 1GB]
  [--cpu-prof] [--load autocannon|wrk|auto] [--out <file>] [--sqlite-driver auto|better-sqlite3|node:sqlite]
  (${OPT_IN.join(', ')} runs only when named in --only)
`;
let parsed;
try {
  parsed = parseArgs({
    options: {
      help: { type: 'boolean', default: false },
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      profiles: { type: 'string' },
      connections: { type: 'string' },
      duration: { type: 'string' },
      jobs: { type: 'string' },
      'job-rate': { type: 'string' },
      load: { type: 'string' },
      talks: { type: 'string' },
      'log-size': { type: 'string' },
      'cpu-prof': { type: 'boolean', default: false },
      out: { type: 'string' },
      'sqlite-driver': { type: 'string' },
    },
  });
} catch (error) {
  // parseArgs' message names the option ("Unknown option '--x'"); no stack trace for a typo
  process.stderr.write(`error: ${error.message}\n${USAGE}`);
  process.exit(2);
}
if (parsed.values.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const flags = parsed.values;
if (flags['sqlite-driver'] !== undefined) process.env.PRESENTER_SQLITE_DRIVER = flags['sqlite-driver'];
let sqliteDriver;
try {
  sqliteDriver = (await import('../dist/store/sqlite-driver.js')).selectSqliteDriver();
} catch (error) {
  process.stderr.write(`error: ${error.message}\n${error.fix ? `  fix: ${error.fix}\n` : ''}`);
  process.exit(2);
}
const list = (s) => s.split(',').map((x) => x.trim()).filter(Boolean);
const only = flags.only ? list(flags.only) : SECTIONS.filter((s) => !OPT_IN.includes(s));
for (const s of only) if (!SECTIONS.includes(s)) {
  process.stderr.write(`error: unknown section \`${s}\` in --only; use ${SECTIONS.join(', ')}\n`);
  process.exit(2);
}
const quick = flags.quick;
const config = {
  profiles: flags.profiles ? list(flags.profiles) : ['safe', 'advanced'],
  connections: flags.connections ? list(flags.connections).map(Number) : quick ? [50, 1000] : [50, 200, 1000],
  durationSec: Number(flags.duration ?? (quick ? 2 : 10)),
  jobs: Number(flags.jobs ?? (quick ? 2000 : 20_000)),
  jobRate: Number(flags['job-rate'] ?? 1000),
  talks: Number(flags.talks ?? (quick ? 300 : 5000)),
  chaosSec: quick ? 8 : 120,
  logSize: flags['log-size'] ?? (quick ? '50MB' : '1GB'),
  cpuProf: flags['cpu-prof'],
  sqliteDriver,
};

const log = (line) => process.stdout.write(`  ${line}\n`);
const gitCommit = () => {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
  } catch {
    return null;
  }
};
const machine = () => ({ cpus: cpus().length, cpuModel: cpus()[0]?.model, memGB: Math.round(totalmem() / 1e9), node: process.version, platform: process.platform, loadavg: loadavg().map((l) => Math.round(l * 100) / 100) });

const results = { startedAt: new Date().toISOString(), quick, commit: gitCommit(), config, machineAtStart: machine(), sections: {} };
const t0 = Date.now();
let interrupted = false;
process.on('SIGINT', () => {
  interrupted = true;
  process.stdout.write('\ninterrupted: stopping the servers\n');
  void stopAll().then(() => process.exit(130));
});

let failed = false;
try {
  process.stdout.write(`presenter-serve bench${quick ? ' (--quick)' : ''}: ${only.join(', ')}; sqlite driver ${sqliteDriver.name} (${sqliteDriver.reason}), Node ${process.version}; load average ${results.machineAtStart.loadavg.join(' ')} on ${results.machineAtStart.cpus} CPUs\n`);
  for (const section of only) {
    if (interrupted) break;
    const started = Date.now();
    process.stdout.write(`\n[${section}]\n`);
    try {
      if (section === 'http') {
        results.sections.http = await httpSection({ quick, ...config, loader: flags.load ?? 'autocannon', log });
        if (results.sections.http.cpuProfiles) results.cpuProfiles = results.sections.http.cpuProfiles;
      }
      if (section === 'jobs') {
        results.sections.jobs = await jobsSection({ jobs: Math.min(config.jobs, config.jobRate * (quick ? 2 : 10)), rate: config.jobRate, cpuProf: config.cpuProf, log, timeoutSec: quick ? 30 : 300 });
        results.sections.drain = await drainSection({ jobs: config.jobs, log, timeoutSec: quick ? 30 : 300 });
      }
      if (section === 'postgres') results.sections.postgres = await postgresSection({ quick, jobs: config.jobs, connections: config.connections, durationSec: config.durationSec, log, timeoutSec: quick ? 60 : 300 });
      if (section === 'chaos') results.sections.chaos = await chaosSection({ talks: config.talks, chaosSec: config.chaosSec, log, timeoutSec: quick ? 30 : 300 });
      if (section === 'logs') results.sections.logs = await logsSection({ size: config.logSize, log });
      if (section === 'cli') results.sections.cli = await cliSection({ quick, log });
      if (section === 'eventloop') results.sections.eventloop = await eventLoopSection({ talks: 4, rounds: quick ? 1 : 3, log, timeoutSec: quick ? 60 : 120 });
      if (section === 'reference') results.sections.reference = await referenceSection({ quick, durationSec: config.durationSec, log });
      if (section === 'instructions') results.sections.instructions = await instructionsSection({ log });
    } catch (error) {
      failed = true;
      results.sections[section] = { error: error.stack ?? String(error) };
      log(`FAILED: ${error.stack ?? error}`);
    }
    log(`(${((Date.now() - started) / 1000).toFixed(1)} s, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')})`);
  }
} finally {
  await stopAll();
}
results.machineAtEnd = machine();
results.wallSec = Math.round((Date.now() - t0) / 100) / 10;
const left = leftovers();
results.leftoverProcesses = left;

// ---- report ----
const out = [];
const h = results.sections.http;
if (Array.isArray(h)) {
  out.push(`HTTP: 9:1 GET/POST mix, GET-only and POST-only (${h[0]?.loader ?? 'autocannon'}, 127.0.0.1); noop provider unless named; vs baseline = the same load on plain node:http + better-sqlite3`);
  out.push(table(['profile', 'load', 'conns', 'req/s', 'p50 ms', 'p99 ms', 'max ms', 'errors', 'timeouts', 'non-2xx', 'vs baseline', 'vs same response', 'CPU ms/1k req', 'create CPU ms', 'RSS/worker'], h.map((r) => [r.profile, r.mode === 'get' ? 'GET-only' : r.mode === 'post' ? 'POST-only' : '9:1 mix', r.connections, r.rps, r.p50Ms, r.p99Ms, r.maxMs, r.errors, r.timeouts, r.non2xx, r.profile === 'baseline' ? '1.00' : r.ratioToBaseline?.toFixed(2), r.ratioToSameResponse?.toFixed(2) ?? '-', r.cpuMsPer1kRequests, r.createCpuMs ?? '-', r.rssPerWorkerBytes.map(mb).join(' + ')])));
}
const j = results.sections.jobs;
if (j && !j.error) {
  out.push(`\nJobs submitted over HTTP at ${j.rate ?? 'full'}/s (noop provider, ${j.workers} workers × ${j.slotsPerWorker} slots): enqueue→start`);
  out.push(table(['jobs', 'done', 'seconds', 'jobs/s', 'submit s', 'enqueue→start p50', 'p99', 'max', 'source'], [[j.jobs, j.done, j.seconds.toFixed(2), j.jobsPerSec, j.submitSeconds.toFixed(2), `${j.enqueueToStart.p50Ms} ms`, `${j.enqueueToStart.p99Ms} ms`, `${j.enqueueToStart.maxMs} ms`, 'log feedback.started − jobs.created_at']]));
}
const ref = results.sections.reference;
if (Array.isArray(ref)) {
  out.push('\nThe old stack, same mix at 50 connections (its feedback duplicates counted by `logs --duplicates`)');
  out.push(table(['stack', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'feedbacks marked', 'marked twice'], ref.map((r) => [r.profile, r.rps, r.p50Ms, r.p99Ms, r.errors + r.timeouts, r.marked, r.extraFeedbacks])));
}
const d = results.sections.drain;
if (d && !d.error) {
  out.push(`\nJobs from a pre-filled queue (noop provider, ${d.workers} workers × ${d.slotsPerWorker} slots)`);
  out.push(table(['jobs', 'done', 'seconds', 'jobs/s', 'feedback rows', 'attempts', 'log complete after the last job'], [[d.jobs, d.done, d.seconds.toFixed(2), d.jobsPerSec, d.feedbackRows, d.attempts, `${d.logCaughtUpMs} ms`]]));
}
const pgr = results.sections.postgres;
if (pgr && !pgr.error && !pgr.skipped) {
  out.push('\nPostgreSQL store (noop provider; each host a whole serve, 2 workers × 4 slots, all on this machine)');
  out.push(table(['hosts', 'jobs', 'done', 'seconds', 'jobs/s', 'feedback rows', 'duplicated', 'attempts'], pgr.drain.map((r) => [r.hosts, r.jobs, r.done, r.seconds.toFixed(2), r.jobsPerSec, r.feedbackRows, r.duplicateRows, r.attempts])));
  out.push(table(['hosts', 'talks/s to host 1', 'enqueue→start p50', 'p99', 'same host p50', 'other host p50 (NOTIFY)'], pgr.enqueue.map((r) => [r.hosts, r.rate, `${r.all.p50Ms} ms`, `${r.all.p99Ms} ms`, `${r.sameHost.p50Ms} ms`, r.otherHost.samples ? `${r.otherHost.p50Ms} ms` : '-'])));
  if (pgr.http) out.push(table(['HTTP 9:1 mix', 'conns', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'non-2xx'], pgr.http.map((r) => [r.target, r.connections, r.rps, r.p50Ms, r.p99Ms, r.errors + r.timeouts, r.non2xx])));
}
const c = results.sections.chaos;
if (c && !c.error) {
  out.push(`\nChaos (2 workers × 2 slots, noop ${c.env.PRESENTER_AI_DELAY_MS} ms, lease ${c.env.PRESENTER_LEASE_MS} ms, SIGKILL a worker every 2 s)`);
  out.push(table(['talks accepted', 'lost', 'done', '0 feedback', '>1 feedback', 'jobs', 'attempts', 'extra', 'kills', 'bound (in flight at kills)', 'serve restarts (crash loop)', 'seconds'], [[c.acceptedByApi, c.talksLost, c.byStatus.done ?? 0, c.zeroFeedback, c.moreThanOneFeedback, c.jobs, c.attempts, c.extraAttempts, c.kills, c.killUpperBound.inFlightAtKills, c.serveRestartsAfterCrashLoop, c.wallSec.toFixed(1)]]));
}
const l = results.sections.logs;
if (l) out.push(l.skipped ? `\nlogs --duplicates: skipped: ${l.skipped}` : l.error && !l.bytes ? `\nlogs --duplicates: FAILED` : `\nlogs --duplicates: ${(l.bytes / 1e6).toFixed(0)} MB in ${l.seconds.toFixed(2)} s = ${l.mbPerSec} MB/s (exit ${l.exitCode})`);
const cl = results.sections.cli;
if (cl && !cl.error) {
  out.push(`\nStart times, spawn to exit (${cl.runs} runs each; the worker: \`worker.started\` to \`worker.ready\` in the log, over reloads)`);
  out.push(table(['command', 'median ms', 'p90 ms', '× node -e 0', 'CPU ms (median)'], [...cl.commands.map((r) => [r.command, r.medianMs, r.p90Ms, r.ratioToNode.toFixed(1), r.cpuMedianMs]), ['worker fork → ready', cl.workerForkToReady.medianMs, cl.workerForkToReady.p90Ms, '-', '-']]));
}
const ev = results.sections.eventloop;
if (ev && !ev.error) {
  out.push(`\nEvent loop: /healthz while ${ev.talks} talks of ${(ev.talkBytes / 1024).toFixed(0)} KiB are analysed at once (local provider, 1 worker × ${ev.threads} threads)`);
  out.push(table(['talks', 'rounds', 'seconds per round', 'idle p99', 'p50', 'p99', 'max', 'probes', 'analyses only: p99', 'max', 'probes', 'failed'], [[ev.talks, ev.rounds, ev.roundSeconds.join(' '), `${ev.idle.p99Ms} ms`, `${ev.busy.p50Ms} ms`, `${ev.busy.p99Ms} ms`, `${ev.busy.maxMs} ms`, ev.busy.samples, `${ev.analysing.p99Ms} ms`, `${ev.analysing.maxMs} ms`, ev.analysing.samples, ev.failures]]));
}
const ins = results.sections.instructions;
if (ins && !ins.error) {
  out.push(`\nInstructions per GET (callgrind, user space, the server's main thread, node --single-threaded; noop provider): not a time; run it on a quiet machine (serve's count grows when the run is slowed, README)`);
  out.push(table(['server', 'GETs per round', 'instructions per GET (rounds)', 'ceiling / safe (medians)'], ins.rows.map((r) => [r.label, r.gets, r.instructionsPerGet.map((n) => n.toLocaleString('en')).join(', '), r.label === 'safe' ? ins.ceilingOverSafe.toFixed(2) : '-'])));
}
out.push(`\nmachine: ${results.machineAtStart.cpus} × ${results.machineAtStart.cpuModel}, ${results.machineAtStart.memGB} GB, Node ${process.version}, sqlite driver ${sqliteDriver.name}; load average ${results.machineAtStart.loadavg.join(' ')} at start, ${results.machineAtEnd.loadavg.join(' ')} at end; ${results.wallSec} s`);
if (left.length) out.push(`WARNING: processes left behind: ${left.join(', ')}`);
process.stdout.write(`\n${out.join('\n')}\n`);

const file = flags.out ?? join(ROOT, 'bench/results/latest.json');
mkdirSync(dirname(file), { recursive: true });
writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
process.stdout.write(`results: ${file}\n`);
process.exitCode = failed || left.length ? 1 : 0;
