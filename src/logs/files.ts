import { closeSync, existsSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve, sep } from 'node:path';
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

/**
 * One host's log: its files oldest first (presenter.log.N … presenter.log), read one after the
 * other. Several groups (several hosts) are merged by time.
 */
export interface LogGroup {
  /** Names the host of lines that do not (the old stack's text): its path, short. */
  label: string;
  files: LogInput[];
}

function groupKey(path: string): string {
  const m = ROTATED.exec(path);
  return m ? m[1]! : path;
}

/** Files (in orderFiles' order) into one group per rotation set, each labelled by its shortest distinct path. */
export function groupInputs(inputs: LogInput[]): LogGroup[] {
  const groups = new Map<string, LogInput[]>();
  for (const input of inputs) {
    const key = groupKey(input.path);
    const list = groups.get(key) ?? [];
    list.push(input);
    groups.set(key, list);
  }
  const keys = [...groups.keys()];
  const labels = shortLabels(keys);
  return keys.map((key, i) => ({ label: labels[i]!, files: groups.get(key)! }));
}

// /srv/logs/web1/presenter.log and /srv/logs/web2/presenter.log → web1/presenter.log, web2/presenter.log.
function shortLabels(paths: string[]): string[] {
  if (paths.length === 1) return [basename(paths[0]!)];
  const parts = paths.map((p) => p.split(sep));
  let common = 0;
  while (parts.every((p) => p.length - 1 > common && p[common] === parts[0]![common])) common++;
  return parts.map((p) => p.slice(common).join('/'));
}

/**
 * A FILE argument, or a DIR: a data dir (DIR/logs/presenter.log) or a logs dir (DIR/presenter.log),
 * read as --data-dir reads it (with its rotated files when `withRotated`).
 */
export function expandArgument(path: string, withRotated: boolean): string[] {
  const full = resolve(path);
  let isDir = false;
  try {
    isDir = statSync(full).isDirectory();
  } catch {
    return [full];
  }
  if (!isDir) return [full];
  for (const dir of [full, join(full, 'logs')]) {
    const set = rotatedSet(dir, withRotated);
    if (set.some((f) => existsSync(f))) return set.filter((f) => existsSync(f));
  }
  throw new ConfigError('LOG_UNREADABLE', `Cannot read the logs in ${full}: it holds no ${LOG_FILE}, nor does ${join(full, 'logs')}.`, {
    fix: `Pass a data dir, its logs dir, or the log files themselves (any name, e.g. host1/app.log).`,
  });
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
