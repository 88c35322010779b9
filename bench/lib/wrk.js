// The same 9:1 mix with wrk (C, one thread): it needs far less CPU than a Node load generator,
// which on a 2-core machine leaves the server more of the machine. Used when wrk is installed.
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { talkJson } from './talk.js';

export function hasWrk() {
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' });
    return true;
  } catch (error) {
    return error.status === 1; // wrk --version exits 1 after printing its version
  }
}

const luaString = (s) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;

function script(ids, getOnly, postOnly) {
  return `
local ids = { ${ids.map(luaString).join(', ')} }
local body = ${luaString(talkJson(0))}
local n = 0
request = function()
  n = n + 1
  if ${postOnly ? 'true' : getOnly ? 'false' : 'n % 10 == 0'} then
    return wrk.format("POST", "/api/presentations", { ["Content-Type"] = "application/json" }, body)
  end
  return wrk.format("GET", "/api/presentations/" .. ids[(n % #ids) + 1])
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT %d %d %d %d %d %d %d %d %d %d\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), latency.max,
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout, summary.errors.status))
end
`;
}

export function runMixWrk(url, ids, { connections, durationSec, getOnly = false, postOnly = false }) {
  const dir = mkdtempSync(join(tmpdir(), 'presenter-wrk-'));
  const file = join(dir, 'mix.lua');
  writeFileSync(file, script(ids, getOnly, postOnly));
  return new Promise((ok, fail) => {
    execFile('wrk', ['-t1', `-c${connections}`, `-d${durationSec}s`, '--timeout', '10s', '-s', file, url], { timeout: (durationSec + 30) * 1000 }, (error, stdout) => {
      rmSync(dir, { recursive: true, force: true });
      const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
      if (error || !line) return fail(new Error(`wrk failed: ${error?.message ?? ''}\n${stdout}`));
      const [requests, durationUs, p50, p99, max, connect, read, write, timeout, status] = line.split(' ').slice(1).map(Number);
      const seconds = durationUs / 1e6;
      ok({
        requests,
        rps: Math.round(requests / seconds),
        p50Ms: Math.round(p50 / 100) / 10,
        p99Ms: Math.round(p99 / 100) / 10,
        maxMs: Math.round(max / 100) / 10,
        errors: connect + read + write + timeout,
        timeouts: timeout,
        non2xx: status,
        durationSec: Math.round(seconds * 10) / 10,
      });
    });
  });
}
