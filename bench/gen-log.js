#!/usr/bin/env node
// Writes a realistic presenter-serve log (pino JSON lines from a 2-worker service) for tests and
// benchmarks: requests, feedback jobs, retries after failures, lease expiries after crashes, and
// optionally injected duplicates (a second feedback.marked for a job, from the other worker).
//
//   node bench/gen-log.js --size 500MB --out /tmp/big.log [--duplicates N]
//   node bench/gen-log.js --jobs 40 --out FILE [--seed 1] [--retry-rate 0.05] [--lease-rate 0.02]
//        [--garbled N] [--manifest FILE.json] [--start 2026-11-28T17:00:00Z]
//
// Same seed, same log: the injected lines are extra lines, so `--duplicates N` gives the clean
// log plus exactly N duplicates (their job ids are in the manifest).
import { closeSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    size: { type: 'string' },
    jobs: { type: 'string' },
    out: { type: 'string' },
    duplicates: { type: 'string', default: '0' },
    seed: { type: 'string', default: '1' },
    'retry-rate': { type: 'string', default: '0.02' },
    'lease-rate': { type: 'string', default: '0.005' },
    garbled: { type: 'string', default: '0' },
    manifest: { type: 'string' },
    start: { type: 'string', default: '2026-11-28T08:00:00.000Z' },
  },
});

function parseSize(s) {
  const m = /^(\d+(?:\.\d+)?)\s*(B|KB|MB|GB)?$/i.exec(s);
  if (!m) throw new Error(`--size: expected e.g. 500MB, got ${s}`);
  return Math.round(Number(m[1]) * { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 }[(m[2] ?? 'B').toUpperCase()]);
}

if (!values.out || (!values.size && !values.jobs)) {
  process.stderr.write('usage: node bench/gen-log.js (--size 500MB | --jobs N) --out FILE [--duplicates N] [--seed S] [--manifest FILE]\n');
  process.exit(2);
}
const maxBytes = values.size ? parseSize(values.size) : Infinity;
const maxJobs = values.jobs ? Number(values.jobs) : Infinity;
const duplicates = Number(values.duplicates);
const retryRate = Number(values['retry-rate']);
const leaseRate = Number(values['lease-rate']);
const garbled = Number(values.garbled);

// mulberry32: small, fast, seedable
let seed = Number(values.seed) >>> 0;
function rand() {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const hex = (n) => {
  let s = '';
  while (s.length < n) s += Math.floor(rand() * 0x100000000).toString(16).padStart(8, '0');
  return s.slice(0, n);
};
const uuid = () => {
  const h = hex(32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
};
// a hash of a string without consuming the generator (the injected lines must not shift it)
function fnvHex(s, n) {
  let out = '';
  for (let k = 0; out.length < n; k++) {
    let h = 0x811c9dc5 ^ k;
    for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
    out += (h >>> 0).toString(16).padStart(8, '0');
  }
  return out.slice(0, n);
}

const WORKERS = [
  { worker: 1, pid: 4101 },
  { worker: 2, pid: 4102 },
];
const HOST = 'presenter-1';
const fd = openSync(values.out, 'w');
let buffer = [];
let bufferBytes = 0;
let written = 0;
let t = Date.parse(values.start);
const manifest = { duplicates: [], retries: [], leaseExpiries: [], finalFailures: [], garbled: 0, jobs: 0, lines: 0 };

function emit(line) {
  buffer.push(line);
  bufferBytes += line.length + 1;
  manifest.lines++;
  if (bufferBytes > 4 * 1024 * 1024) flush();
}
function flush() {
  if (buffer.length === 0) return;
  const chunk = `${buffer.join('\n')}\n`;
  writeSync(fd, chunk);
  written += Buffer.byteLength(chunk);
  buffer = [];
  bufferBytes = 0;
}
function line(w, level, fields, msg) {
  return JSON.stringify({ level, time: t, pid: w.pid, hostname: HOST, worker: w.worker, ...fields, msg });
}
const request = (w, method, path, status) => emit(line(w, 30, { event: 'http.request', method, path, status, ms: Math.round(rand() * 40 * 10) / 10 }, `${method} ${path} ${status}`));

// lifecycle at the start
emit(JSON.stringify({ level: 30, time: t, pid: 4100, hostname: HOST, worker: 0, event: 'supervisor.started', workers: 2, threads: 2, profile: 'advanced', msg: 'presenter-serve started with 2 workers' }));
for (const w of WORKERS) emit(line(w, 30, { event: 'worker.ready' }, `worker ${w.worker} ready`));

const totalJobsForSpread = Number.isFinite(maxJobs) ? maxJobs : Math.max(1, Math.floor(maxBytes / 2400));
const dupEvery = duplicates > 0 ? Math.max(1, Math.floor(totalJobsForSpread / (duplicates + 1))) : Infinity;
const garbledEvery = garbled > 0 ? Math.max(1, Math.floor(totalJobsForSpread / (garbled + 1))) : Infinity;

let job = 0;
while (job < maxJobs && written + bufferBytes < maxBytes) {
  job++;
  manifest.jobs = job;
  const presentationId = uuid();
  const jobId = uuid();
  const w = WORKERS[Math.floor(rand() * 2)];
  const other = WORKERS[w.worker === 1 ? 1 : 0];
  const base = { presentationId, jobId };
  t += Math.floor(rand() * 200);
  request(WORKERS[Math.floor(rand() * 2)], 'POST', '/api/presentations', 201);
  let attempt = 1;
  let lease = hex(16);
  let runner = w;
  t += 5;
  emit(line(runner, 30, { event: 'feedback.started', ...base, attempt, lease }, `Feedback for presentation ${presentationId} started`));
  for (let i = Math.floor(rand() * 3); i > 0; i--) {
    t += Math.floor(rand() * 300);
    request(WORKERS[Math.floor(rand() * 2)], 'GET', `/api/presentations/${presentationId}`, 200);
  }
  const fate = rand();
  if (fate < retryRate) {
    const final = rand() < 0.2;
    t += Math.floor(rand() * 500);
    emit(line(runner, final ? 50 : 40, { event: 'feedback.failed', ...base, attempt, lease, error: 'provider timed out after 60000 ms', retryInMs: final ? null : 1000, final }, `Feedback generation for presentation ${presentationId} failed`));
    if (final) {
      manifest.finalFailures.push(jobId);
      continue;
    }
    manifest.retries.push(jobId);
    t += 1000 + Math.floor(rand() * 300);
    attempt = 2;
    lease = hex(16);
    runner = WORKERS[Math.floor(rand() * 2)];
    emit(line(runner, 30, { event: 'feedback.started', ...base, attempt, lease }, `Feedback for presentation ${presentationId} started`));
  } else if (fate < retryRate + leaseRate) {
    // the runner crashed mid-job; the other worker takes the job over when the lease expires
    emit(line(WORKERS[0], 40, { event: 'worker.exited', exitedWorker: runner.worker, code: null, signal: 'SIGKILL' }, `worker ${runner.worker} exited`));
    t += 30_000;
    const previous = { lease, pid: runner.pid };
    runner = other;
    lease = hex(16);
    attempt = 2;
    manifest.leaseExpiries.push(jobId);
    emit(line(runner, 40, { event: 'job.lease_expired', ...base, attempt, lease, previousLease: previous.lease, previousPid: previous.pid }, `Lease of job ${jobId} expired`));
    emit(line(runner, 30, { event: 'feedback.started', ...base, attempt, lease }, `Feedback for presentation ${presentationId} started`));
  }
  t += 20 + Math.floor(rand() * 800);
  const responseHash = fnvHex(presentationId, 64);
  const marked = (wk, ls, feedbackId) =>
    line(wk, 30, { event: 'feedback.marked', ...base, attempt, lease: ls, feedbackId, responseHash, provider: 'local', durationMs: 20 + (t % 700) }, `Feedback for presentation ${presentationId} marked`);
  emit(marked(runner, lease, uuid()));
  if (job % dupEvery === 0 && manifest.duplicates.length < duplicates) {
    // injected: the other worker marks the same job again (the old stack's bug)
    const saved = t;
    t += 7;
    const zombie = runner.worker === 1 ? WORKERS[1] : WORKERS[0];
    emit(marked(zombie, fnvHex(jobId, 16), fnvHex(lease, 32)));
    t = saved;
    manifest.duplicates.push({ jobId, presentationId, pids: [runner.pid, zombie.pid].sort() });
  }
  if (job % garbledEvery === 0 && manifest.garbled < garbled) {
    const whole = line(runner, 30, { event: 'http.request', method: 'GET', path: '/healthz', status: 200 }, 'GET /healthz 200');
    emit(manifest.garbled % 2 === 0 ? whole.slice(0, 40) : `\u0000\u0000${whole.slice(12)}`.replace(/"/g, ''));
    manifest.garbled++;
  }
}
flush();
closeSync(fd);
if (values.manifest) writeFileSync(values.manifest, `${JSON.stringify(manifest, null, 2)}\n`);
process.stderr.write(`wrote ${values.out}: ${(written / 1e6).toFixed(1)} MB, ${manifest.lines} lines, ${manifest.jobs} jobs, ${manifest.duplicates.length} injected duplicates, ${manifest.retries.length} retries, ${manifest.leaseExpiries.length} lease expiries\n`);
