import type { SqliteDriverPreference } from '../store/sqlite-driver.js';

export type ProviderName = 'local' | 'openai';
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
export const LOG_LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

/** Everything `serve` runs with, after defaults < profile < environment < flags. */
export interface Settings {
  /** Profile name (`safe`, `advanced`, `windows`) or the path of a custom profile file. */
  profile: string;
  /** Why this profile was chosen, printed at start-up. */
  profileReason: string;
  /** @default 1 */
  workers: number;
  /** Feedback jobs one worker runs at once. @default 4 */
  threads: number;
  /** false: the primary serves by itself (the windows profile). @default true */
  fork: boolean;
  /** @default '0.0.0.0' */
  host: string;
  /** @default 5000 */
  port: number;
  /** @default './data' */
  dataDir: string;
  /** @default 30000 */
  gracefulTimeoutMs: number;
  /**
   * A ready worker whose event loop has not answered the supervisor's heartbeat for this long is
   * killed and replaced (gunicorn's --timeout); 0 turns it off. @default 30000
   */
  heartbeatTimeoutMs: number;
  /** A worker whose RSS passes this many bytes is replaced the reload way (PM2's max_memory_restart); 0 = off. @default 0 */
  maxMemoryBytes: number;
  /** A worker that has served this many requests (+ up to `maxRequestsJitter`) is replaced the reload way (gunicorn's); 0 = off. @default 0 */
  maxRequests: number;
  /** @default 0 */
  maxRequestsJitter: number;
  /** @default 'info' */
  logLevel: LogLevel;
  adminToken: string | undefined;
  /** Creates per minute per client (regenerations counted apart, same number); 0 = off. @default 60 */
  rateLimit: number;
  /** Queued jobs at which new ones get 503 QUEUE_FULL; 0 = no cap. @default 10000 */
  maxQueue: number;
  /** Proxies (addresses, CIDR ranges, loopback/linklocal/uniquelocal) whose X-Forwarded-For is believed. @default [] */
  trustProxy: string[];
  /**
   * PostgreSQL URL (PRESENTER_DATABASE_URL / --database-url): the store shared by several hosts;
   * undefined: SQLite in the data dir. Shown only through redactDatabaseUrl. @default undefined
   */
  databaseUrl: string | undefined;
  /**
   * SQLite driver (PRESENTER_SQLITE_DRIVER): `auto` picks better-sqlite3 when it loads, else
   * node:sqlite. `serve` resolves it once and hands workers the driver it chose. @default 'auto'
   */
  sqliteDriver: SqliteDriverPreference;
  /** Why that driver, for the start-up line and `status`; set by `serve`. @default '' */
  sqliteDriverReason: string;
  /** Largest accepted request body. @default 1048576 */
  bodyLimit: number;
  /** Attempts per feedback job before it is final. @default 5 */
  jobAttempts: number;
  /** Lease length of a claimed job; renewed while the provider runs. @default 30000 */
  leaseMs: number;
  /**
   * Per-request lines (--access-log / PRESENTER_ACCESS_LOG): an absolute file name, '-' for
   * stdout; undefined: none (off). Rotated like the main log. @default undefined
   */
  accessLog: string | undefined;
  /** Log file rotation. @default 50 MB, 10 files */
  logMaxBytes: number;
  logMaxFiles: number;
  ai: {
    provider: ProviderName;
    baseUrl: string | undefined;
    apiKey: string | undefined;
    model: string | undefined;
    /** @default 60000 */
    timeoutMs: number;
  };
}

export function defaultSettings(): Settings {
  return {
    profile: 'safe',
    profileReason: 'built-in default',
    workers: 1,
    threads: 4,
    fork: true,
    host: '0.0.0.0',
    port: 5000,
    dataDir: './data',
    gracefulTimeoutMs: 30_000,
    heartbeatTimeoutMs: 30_000,
    maxMemoryBytes: 0,
    maxRequests: 0,
    maxRequestsJitter: 0,
    logLevel: 'info',
    adminToken: undefined,
    // a presenter submits a few talks an hour; a script flooding the service hits this at once
    rateLimit: 60,
    // far more than presenters ever queue; a flood reaches it in seconds and stops there
    maxQueue: 10_000,
    trustProxy: [],
    databaseUrl: undefined,
    sqliteDriver: 'auto',
    sqliteDriverReason: '',
    bodyLimit: 1024 * 1024,
    jobAttempts: 5,
    leaseMs: 30_000,
    accessLog: undefined,
    logMaxBytes: 50 * 1024 * 1024,
    logMaxFiles: 10,
    ai: { provider: 'local', baseUrl: undefined, apiKey: undefined, model: undefined, timeoutMs: 60_000 },
  };
}
