import { readFile, realpath, rm, statfs, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { availableParallelism, freemem } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { request } from 'undici';
import type { Settings } from '../config/defaults.js';
import { ensureDir } from '../fs/ensure-dir.js';
import type { Context } from '../context.js';
import { parseProcLimits } from './check-open-files.js';
import { createProbeRunner } from './probe.js';
import { probePostgres } from './probe-postgres.js';
import type { DoctorEnv, FsHelpers, HttpProbe, ListenProbe } from './types.js';

export const realFs: FsHelpers = {
  ensureDir,
  writeTest: async (dir) => {
    const file = join(dir, `.doctor-write-${process.pid}`);
    await writeFile(file, 'presenter-serve doctor\n', { flag: 'wx' });
    await rm(file, { force: true });
  },
  statfs: async (path) => {
    const s = await statfs(path);
    return { freeBytes: s.bavail * s.bsize, type: s.type };
  },
  realpath: async (path) => realpath(path).catch(() => resolve(path)),
  readText: async (path) => readFile(path, 'utf8').catch(() => undefined),
};

export const listenOnce: ListenProbe = (host, port) =>
  new Promise((done) => {
    const server = createServer();
    server.unref();
    server.once('error', (error: NodeJS.ErrnoException) => done(error.code ?? error.message));
    server.listen({ host, port, exclusive: true }, () => server.close(() => done(undefined)));
  });

export const httpGet: HttpProbe = async (url, headers, timeoutMs) => {
  try {
    const res = await request(url, { method: 'GET', headers, signal: AbortSignal.timeout(timeoutMs), headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
    const body = await res.body.text();
    return { status: res.statusCode, body };
  } catch (error) {
    const e = error as { code?: unknown; name?: string; message?: string; cause?: { code?: unknown } };
    const code = typeof e.code === 'string' ? e.code : typeof e.cause?.code === 'string' ? e.cause.code : e.name;
    return { error: e.message ?? String(error), ...(code ? { code } : {}) };
  }
};

/** The machine doctor runs on; tests build their own DoctorEnv instead. */
export function defaultDoctorEnv(ctx: Context, settings: Settings, options: { hosts?: number } = {}): DoctorEnv {
  return {
    settings,
    hosts: options.hosts ?? 1,
    nodeVersion: process.versions.node,
    platform: ctx.platform,
    arch: process.arch,
    env: ctx.env,
    now: ctx.now,
    readSystemFile: ctx.readSystemFile,
    cpuCount: () => availableParallelism(),
    freeMemoryBytes: () => freemem(),
    fs: realFs,
    probeSqlite: createProbeRunner(),
    listen: listenOnce,
    openFileLimit: async () => {
      if (ctx.platform === 'win32') return undefined;
      const limits = ctx.platform === 'linux' ? ctx.readSystemFile('/proc/self/limits') : undefined;
      if (limits) return parseProcLimits(limits);
      // Elsewhere on POSIX the shell reports what a child of ours inherits.
      const result = await execa('sh', ['-c', 'ulimit -Sn; ulimit -Hn'], { reject: false, timeout: 1000 });
      const [soft, hard] = String(result.stdout).trim().split('\n');
      const num = (s: string | undefined): number | undefined => (s === 'unlimited' ? Number.POSITIVE_INFINITY : s ? Number.parseInt(s, 10) : undefined);
      const n = num(soft);
      return n === undefined || Number.isNaN(n) ? undefined : { soft: n, hard: num(hard) };
    },
    http: httpGet,
    probePostgres: (url) => probePostgres(url, { now: ctx.now }),
  };
}
