import { closeSync, existsSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ConfigError } from '../errors.js';
import { LOG_FILE } from '../logging/sink.js';

export interface LogInput {
  path: string;
  size: number;
  gzip: boolean;
}

const ROTATED = /^(.*)\.(\d+)(\.gz)?$/;

/** The data dir's log: presenter.log.N … presenter.log.1 (gzip'd or not), then presenter.log. */
export function rotatedSet(logDir: string, withRotated: boolean): string[] {
  const current = join(logDir, LOG_FILE);
  if (!withRotated) return [current];
  let names: string[];
  try {
    names = readdirSync(logDir);
  } catch {
    return [current];
  }
  const rotated = names
    .map((name) => ({ name, m: ROTATED.exec(name) }))
    .filter((x) => x.m !== null && x.m[1] === LOG_FILE)
    .map((x) => ({ path: join(logDir, x.name), n: Number(x.m![2]) }))
    .sort((a, b) => b.n - a.n)
    .map((x) => x.path);
  return existsSync(current) || rotated.length === 0 ? [...rotated, current] : rotated;
}

// A shell glob gives presenter.log presenter.log.1 presenter.log.10 presenter.log.2: put each
// rotation group oldest first (highest number first, the live file last), keep other files in order.
export function orderFiles(paths: string[]): string[] {
  const groups = new Map<string, { path: string; n: number }[]>();
  for (const path of paths) {
    const m = ROTATED.exec(path);
    const base = m ? m[1]! : path;
    const n = m ? Number(m[2]) : 0;
    const group = groups.get(base) ?? [];
    group.push({ path, n });
    groups.set(base, group);
  }
  return [...groups.values()].flatMap((g) => g.sort((a, b) => b.n - a.n).map((x) => x.path));
}

/** Opens each file once to prove it is readable, so a bad input stops with exit 2 before any output. */
export function checkInput(path: string): LogInput {
  const full = resolve(path);
  let fd: number;
  try {
    const st = statSync(full);
    if (st.isDirectory()) {
      const fix = existsSync(join(full, LOG_FILE))
        ? `Pass the file ${join(full, LOG_FILE)}, or use --data-dir ${dirname(full)}.`
        : existsSync(join(full, 'logs', LOG_FILE))
          ? `Use --data-dir ${full} (it reads ${join(full, 'logs', LOG_FILE)} and its rotated files).`
          : 'Pass a log file such as DIR/logs/presenter.log, or use --data-dir DIR.';
      throw new ConfigError('LOG_UNREADABLE', `Cannot read the log file ${full}: it is a directory.`, { fix });
    }
    fd = openSync(full, 'r');
    const head = Buffer.alloc(2);
    const n = readSync(fd, head, 0, 2, 0);
    closeSync(fd);
    return { path: full, size: st.size, gzip: n === 2 && head[0] === 0x1f && head[1] === 0x8b };
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw unreadable(full, error);
  }
}

export function unreadable(path: string, error: unknown): ConfigError {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') {
    return new ConfigError('LOG_UNREADABLE', `Cannot read the log file ${path}: it does not exist.`, {
      fix: 'Check the path, or pass --data-dir DIR (the service writes DIR/logs/presenter.log; the default DIR is ./data or PRESENTER_DATA_DIR).',
      cause: error,
    });
  }
  if (code === 'EACCES' || code === 'EPERM') {
    return new ConfigError('LOG_UNREADABLE', `Cannot read the log file ${path}: permission denied.`, {
      fix: `Run as a user who may read it (the service's user, or with sudo), or copy it somewhere readable.`,
      cause: error,
    });
  }
  if (code === 'EISDIR') {
    return new ConfigError('LOG_UNREADABLE', `Cannot read the log file ${path}: it is a directory.`, { fix: `Pass a log file inside it, or use --data-dir.`, cause: error });
  }
  return new ConfigError('LOG_UNREADABLE', `Cannot read the log file ${path}: ${(error as Error).message}.`, { fix: 'Pass a readable log file.', cause: error });
}
