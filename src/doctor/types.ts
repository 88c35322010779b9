import type { Settings } from '../config/defaults.js';
import type { PgFacts } from './probe-postgres.js';

export type CheckStatus = 'pass' | 'warn' | 'fail';

/** What one check found. `fix` is set for every warn and fail. */
export interface CheckResult {
  id: string;
  title: string;
  status: CheckStatus;
  detail: string;
  fix?: string;
}

/** What the better-sqlite3 probe child did: its exit, its output, or that it could not start. */
export interface ProbeOutcome {
  exitCode: number | undefined;
  signal: string | undefined;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** The child could not be started at all (e.g. ENOENT). */
  spawnError?: string;
}

export interface FsHelpers {
  /** mkdir -p; true when it had to create the directory. */
  ensureDir(path: string): Promise<boolean>;
  /** Creates, writes and removes a small file in dir; rejects with the fs error. */
  writeTest(dir: string): Promise<void>;
  /** Free bytes for an unprivileged user, and the file system's magic number. */
  statfs(path: string): Promise<{ freeBytes: number; type: number }>;
  /** Resolves symlinks; the input resolved when the path does not exist. */
  realpath(path: string): Promise<string>;
  readText(path: string): Promise<string | undefined>;
}

/** Attempts to listen on host:port and closes again; resolves undefined on success, the errno code otherwise. */
export type ListenProbe = (host: string, port: number) => Promise<string | undefined>;

/** Answer of GET {base}/models: an HTTP status and body, or the network error. */
export type HttpProbe = (url: string, headers: Record<string, string>, timeoutMs: number) => Promise<{ status: number; body: string } | { error: string; code?: string }>;

/** Everything a check may touch, injected so that each check can be tested in-process. */
export interface DoctorEnv {
  settings: Settings;
  /** process.versions.node, e.g. '20.20.2'. */
  nodeVersion: string;
  platform: NodeJS.Platform;
  arch: string;
  env: NodeJS.ProcessEnv;
  now: () => number;
  readSystemFile: (path: string) => string | undefined;
  cpuCount: () => number;
  freeMemoryBytes: () => number;
  fs: FsHelpers;
  /** Runs the better-sqlite3 probe child against the data dir. */
  probeSqlite: (dataDir: string) => Promise<ProbeOutcome>;
  listen: ListenProbe;
  /** The soft open-file limit, or undefined where there is none to read. */
  openFileLimit: () => Promise<{ soft: number; hard: number | undefined } | undefined>;
  http: HttpProbe;
  /** Connects to a PostgreSQL URL once and reads what the PostgreSQL checks need. */
  probePostgres: (url: string) => Promise<PgFacts>;
  /** Hosts that will share the PostgreSQL database (`doctor --hosts`). @default 1 */
  hosts?: number;
}

export interface Check {
  id: string;
  title: string;
  run: (env: DoctorEnv) => Promise<CheckResult>;
}
