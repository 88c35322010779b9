// Instructions section (`--only instructions`, not in the default run; needs valgrind): the
// user-space instructions a GET costs in the safe profile's worker and in the ceiling answering
// serve's own response (baseline-server.js --same-response), counted by valgrind's callgrind.
// Timing ratios on a shared 2-core machine move 20-50 % from run to run for the same server
// (README, Performance); an instruction count moves far less, though serve's grows when the run
// is slowed by a busy machine (README, the sixth sitting): run it on a quiet one.
// Both run under `node --single-threaded` (no background compiler or GC threads, whose work would
// land at random in the count) and only the main thread is counted. Each server gets the same
// 200 talks and a warm-up, then `rounds` × `gets` GETs (the median is compared) over 20 keep-alive connections, the
// counters zeroed before and dumped after each round. What this leaves out: the kernel (the
// sockets; strace -c counted the same system calls per GET for both), the supervisor (idle), and
// caches (a count is not a time).
import { execFile, execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { Agent, get } from 'node:http';
import { join } from 'node:path';
import { removeDir, startBaseline, startServe, status, stop, tempDir } from '../lib/proc.js';
import { createTalks } from '../lib/talk.js';

const CONNECTIONS = 20;
// the JIT's tiering and the first major GCs land in the first few thousand requests
const WARM_UP = 10_000;

export function hasCallgrind() {
  try {
    execFileSync('valgrind', ['--version'], { stdio: 'ignore' });
    execFileSync('callgrind_control', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Exactly `n` GETs of the talks, round robin, over `connections` keep-alive connections; throws on any non-200. */
async function fixedGets(url, ids, n, connections = CONNECTIONS) {
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  let next = 0;
  const one = (path) =>
    new Promise((resolve, reject) => {
      get(`${url}${path}`, { agent }, (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`GET ${path}: ${res.statusCode}`))));
      }).on('error', reject);
    });
  try {
    await Promise.all(
      Array.from({ length: connections }, async () => {
        while (next < n) await one(`/api/presentations/${ids[next++ % ids.length]}`);
      }),
    );
  } finally {
    agent.destroy();
  }
}

const control = (args) =>
  new Promise((resolve, reject) => execFile('callgrind_control', args, { timeout: 60_000 }, (error, stdout, stderr) => (error ? reject(new Error(`callgrind_control ${args.join(' ')}: ${stderr || error.message}`)) : resolve(stdout))));

/** The main thread's instruction total of dump `k` of process `pid` (callgrind names it cg.<pid>.<k>-01 with --separate-threads). */
function mainThreadTotal(dir, pid, k) {
  const name = readdirSync(dir).find((f) => f === `cg.${pid}.${k}-01`);
  if (!name) throw new Error(`no callgrind dump ${k} of pid ${pid} in ${dir}`);
  const m = /^summary: (\d+)$/m.exec(readFileSync(join(dir, name), 'utf8'));
  if (!m) throw new Error(`no summary line in ${name}`);
  return Number(m[1]);
}

async function measure(label, start, pidOf, { gets, rounds, log }) {
  const dir = tempDir('presenter-callgrind-');
  // no instrumentation until the server is ready (the start is then a few times slower than
  // without valgrind, not fifty): serve's worker must be ready within the supervisor's 30 s
  const launcher = ['valgrind', '--tool=callgrind', '--instr-atstart=no', '--separate-threads=yes', '--trace-children=yes', '--dump-instr=no', `--callgrind-out-file=${join(dir, 'cg.%p')}`];
  const server = await start({ execArgv: ['--single-threaded'], launcher });
  try {
    const pid = await pidOf(server);
    await control(['-i', 'on', String(pid)]);
    const { ids } = await createTalks(server.url, 200, { concurrency: 4 });
    await fixedGets(server.url, ids, WARM_UP);
    const perGet = [];
    for (let k = 1; k <= rounds; k++) {
      await control(['-z', String(pid)]);
      await fixedGets(server.url, ids, gets);
      await control(['-d', String(pid)]);
      perGet.push(Math.round(mainThreadTotal(dir, pid, k) / gets));
    }
    log(`${label.padEnd(26)} ${perGet.map((n) => n.toLocaleString('en')).join(', ')} instructions per GET (main thread, ${rounds} × ${gets} GETs)`);
    return { label, gets, rounds, instructionsPerGet: perGet };
  } finally {
    await stop(server);
    removeDir(server.dataDir);
    removeDir(dir);
  }
}

export async function instructionsSection({ log }) {
  if (!hasCallgrind()) throw new Error('valgrind (with callgrind_control) is not installed: apt-get install -y valgrind');
  // fewer GETs per round let a one-off (a major GC, a tier-up) dominate serve's count: --quick changes nothing here
  const opts = { gets: 10_000, rounds: 3, log };
  const ceiling = await measure('baseline (same response)', (o) => startBaseline({ sameResponse: true, readyTimeoutMs: 180_000, ...o }), (s) => s.child.pid, opts);
  const safe = await measure('safe', (o) => startServe({ profile: 'safe', env: { PRESENTER_AI_PROVIDER: 'noop' }, readyTimeoutMs: 300_000, ...o }), async (s) => (await status(s.dataDir)).workers[0].pid, opts);
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  // as the HTTP section's ratios: above 1, serve does less than the ceiling
  const ratio = Math.round((median(ceiling.instructionsPerGet) / median(safe.instructionsPerGet)) * 100) / 100;
  log(`ceiling / safe: ${ratio}`);
  return { rows: [ceiling, safe], ceilingOverSafe: ratio };
}
