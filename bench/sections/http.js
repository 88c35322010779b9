// HTTP section: baseline, then each profile, each at every connection count, in one run.
import { runMix as runAutocannon } from '../lib/load.js';
import { hasWrk, runMixWrk } from '../lib/wrk.js';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { byPackage, topFrames } from '../lib/cpuprofile.js';
import { cpuSecondsOf, rssOf, startBaseline, startServe, status, stop, removeDir, tempDir } from '../lib/proc.js';
import { createTalks } from '../lib/talk.js';
import { openReadOnly } from '../lib/db.js';

// Jobs run with the noop provider: the section measures the HTTP path and the job bookkeeping
// (claim, complete), not the analyser.
const SERVE_ENV = { PRESENTER_AI_PROVIDER: 'noop' };
const SAME_RESPONSE = 'baseline (same response)';
const LOCAL = 'safe (local analyser)';

// CPU used by the server's processes (supervisor and workers) per request: unlike req/s, this
// hardly moves when other programs share the machine.
async function serverPids(server) {
  if (server.kind === 'baseline') return [server.child.pid];
  const s = await status(server.dataDir);
  return [server.child.pid, ...s.workers.map((w) => w.pid).filter(Boolean)];
}
const cpuOf = (pids) => pids.reduce((sum, pid) => sum + (cpuSecondsOf(pid) ?? 0), 0);

async function rssPerWorker(server) {
  if (server.kind === 'baseline') return [rssOf(server.child.pid)];
  const s = await status(server.dataDir);
  return s.workers.map((w) => w.rssBytes);
}

// With --cpu-prof, each serve runs under `node --cpu-prof` (workers inherit it) and the workers'
// top frames over the whole run are printed and kept in the results.
function summarizeProfiles(dir, supervisorPid, log) {
  const out = [];
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.cpuprofile'))) {
    const pid = Number(f.split('.')[3]);
    if (pid === supervisorPid) continue;
    const t = topFrames(join(dir, f), 20);
    const groups = byPackage(join(dir, f));
    out.push({ pid, totalMs: t.totalMs, byPackage: groups, top: t.top });
    log(`cpu profile of worker ${pid} (${t.totalMs} ms sampled): ${groups.map((g) => `${g.group} ${g.pct}%`).join(', ')}`);
    for (const fr of t.top.slice(0, 15)) log(`  ${String(fr.pct).padStart(5)}%  ${fr.frame}`);
  }
  return out;
}

// What runs, in this order on one machine: the ceiling (plain node:http + better-sqlite3) in the
// 9:1 mix, GET-only and POST-only, the ceiling answering serve's response (its headers and body
// bytes: see baseline-server.js) GET-only, the safe profile in the mix, GET-only and POST-only
// (a create's CPU), the other profiles in
// the mix, and the safe profile with the default local analyser in the mix (its jobs then cost
// real CPU) and GET-only (its feedback is longer than the noop one, and not Latin-1: what a
// polling page reads by default).
function plan(profiles) {
  const runs = [{ label: 'baseline', target: 'baseline', modes: ['mix', 'get', 'post'] }];
  if (profiles.includes('safe')) runs.push({ label: SAME_RESPONSE, target: 'baseline', sameResponse: true, modes: ['get'] });
  for (const p of profiles) runs.push({ label: p, target: p, modes: p === 'safe' ? ['mix', 'get', 'post'] : ['mix'], env: SERVE_ENV });
  if (profiles.includes('safe')) runs.push({ label: LOCAL, target: 'safe', modes: ['mix', 'get'], env: {} });
  return runs;
}

/** Waits (at most 3 minutes) until no job of the server is queued or running; logs the wait. */
async function queueDrained(server, log) {
  const db = openReadOnly(server.dataDir);
  try {
    const count = db.prepare(`SELECT COUNT(*) AS n FROM jobs WHERE status IN ('queued', 'running')`);
    const started = Date.now();
    const first = count.get().n;
    while (count.get().n > 0) {
      if (Date.now() - started > 180_000) throw new Error(`${count.get().n} jobs still queued or running after 3 minutes`);
      await new Promise((r) => setTimeout(r, 100));
    }
    if (first > 0) log(`http ${server.profile}: waited ${((Date.now() - started) / 1000).toFixed(1)} s for ${first} jobs to finish before the GET-only load`);
  } finally {
    db.close();
  }
}

export async function httpSection({ quick, profiles, connections, durationSec, log, cpuProf = false, loader = 'auto' }) {
  const useWrk = loader === 'wrk' || (loader === 'auto' && hasWrk());
  const runMix = useWrk ? runMixWrk : runAutocannon;
  log(`load generator: ${useWrk ? 'wrk (1 thread)' : 'autocannon'}`);
  const rows = [];
  const cpuProfiles = {};
  for (const run of plan(profiles)) {
    const { label, target } = run;
    const profDir = cpuProf && target !== 'baseline' ? tempDir('presenter-prof-') : undefined;
    const execArgv = profDir ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : [];
    const server = target === 'baseline' ? await startBaseline({ sameResponse: run.sameResponse }) : await startServe({ profile: target, env: run.env, execArgv });
    try {
      const { ids } = await createTalks(server.url, quick ? 50 : 200, { concurrency: 8 });
      await runMix(server.url, ids, { connections: 50, durationSec: quick ? 1 : 3 }); // warm-up, not reported
      for (const mode of run.modes) {
        // a GET-only load measures reads: the talks the mix created are analysed first (the local
        // analyser takes a few ms each, on the threads beside the worker's event loop)
        if (mode === 'get' && target !== 'baseline') await queueDrained(server, log);
        for (const c of connections) {
          const pids = await serverPids(server);
          const cpuBefore = cpuOf(pids);
          const r = await runMix(server.url, ids, { connections: c, durationSec, getOnly: mode === 'get', postOnly: mode === 'post' });
          r.cpuMsPer1kRequests = Math.round(((cpuOf(pids) - cpuBefore) * 1e6) / r.requests);
          const rss = await rssPerWorker(server);
          const row = { profile: label, mode, connections: c, loader: useWrk ? 'wrk' : 'autocannon', ...r, rssPerWorkerBytes: rss };
          rows.push(row);
          log(`http ${label} ${{ get: 'GET-only', post: 'POST-only' }[mode] ?? '9:1 mix'} c=${c}: ${r.rps} req/s p50 ${r.p50Ms} ms p99 ${r.p99Ms} ms max ${r.maxMs} ms errors ${r.errors} timeouts ${r.timeouts} non2xx ${r.non2xx}; server CPU ${r.cpuMsPer1kRequests} ms per 1000 requests`);
        }
      }
    } finally {
      await stop(server);
      removeDir(server.dataDir);
      if (profDir) {
        cpuProfiles[label] = summarizeProfiles(profDir, server.child.pid, log);
        removeDir(profDir);
      }
    }
  }
  for (const row of rows) {
    const base = rows.find((b) => b.profile === 'baseline' && b.mode === row.mode && b.connections === row.connections);
    row.ratioToBaseline = base ? Math.round((row.rps / base.rps) * 100) / 100 : null;
    // GET-only against the ceiling that sends the same response: what serve costs beyond the bytes
    const same = rows.find((b) => b.profile === SAME_RESPONSE && b.mode === row.mode && b.connections === row.connections);
    // (not the local analyser's: its answers carry another, longer feedback)
    if (same && row.profile !== SAME_RESPONSE && row.profile !== 'baseline' && row.profile !== LOCAL) row.ratioToSameResponse = Math.round((row.rps / same.rps) * 100) / 100;
    // a create's CPU, measured by the create-only load (serve's: the job's claim and completion
    // included). It was derived from the mix and the GET-only load until serve kept the polled
    // bodies between commits: a GET in the mix then costs more than one in the GET-only load.
    if (row.mode === 'post') row.createCpuMs = row.cpuMsPer1kRequests / 1000;
  }
  if (cpuProf) Object.defineProperty(rows, 'cpuProfiles', { value: cpuProfiles, enumerable: false });
  return rows;
}
