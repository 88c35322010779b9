// One way to open an SQLite database with either driver: better-sqlite3 (first choice, an optional
// native dependency that needs a prebuilt binary or a compiler) or Node's built-in node:sqlite
// (Node 22.13+, nothing to install). Callers see only the part of better-sqlite3's API the store
// uses; a better-sqlite3 database is returned as it is (no wrapper on the hot path), a node:sqlite
// one gets what it lacks: transaction(), pragma() and `open`. Statements are the drivers' own.
// Differences callers must respect: bind exactly the named parameters the SQL names (node:sqlite
// refuses extra keys and binds missing ones as NULL, better-sqlite3 ignores extra keys and refuses
// missing ones); rows from node:sqlite have a null prototype; errors differ (use sqliteErrorCode).
// One process opens a given file through one driver only: each driver brings its own copy of
// SQLite, and two copies in one process do not see each other's locks (POSIX locks are held per
// process), so a lock taken through one is invisible to the other. serve chooses once for all.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type BetterSqlite3 from 'better-sqlite3';
import { ConfigError } from '../errors.js';
import { knownBadFor } from '../doctor/matrix.js';
import { sqliteCodeName } from './sqlite-codes.js';

import { parseDriverPreference, SQLITE_DRIVER_ENV, type SqliteDriverName, type SqliteDriverPreference } from './sqlite-driver-name.js';

export { parseDriverPreference, SQLITE_DRIVER_ENV, SQLITE_DRIVERS, type SqliteDriverName, type SqliteDriverPreference } from './sqlite-driver-name.js';
/** better-sqlite3's default busy timeout, kept for node:sqlite (whose default is 0). */
const DEFAULT_TIMEOUT_MS = 5000;

export interface SqliteStatement {
  run(...params: unknown[]): { changes: number | bigint; lastInsertRowid: number | bigint };
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
}

type AnyFunction = (...args: never[]) => unknown;

/** better-sqlite3's transaction function: BEGIN (or a SAVEPOINT when nested) … COMMIT, ROLLBACK on a throw. */
export interface SqliteTransaction<F extends AnyFunction> {
  (...args: Parameters<F>): ReturnType<F>;
  deferred(...args: Parameters<F>): ReturnType<F>;
  immediate(...args: Parameters<F>): ReturnType<F>;
  exclusive(...args: Parameters<F>): ReturnType<F>;
}

export interface SqliteDatabase {
  readonly open: boolean;
  prepare(source: string): SqliteStatement;
  exec(source: string): unknown;
  /** `PRAGMA <source>`: its rows, or with `simple` the first column of the first row. */
  pragma(source: string, options?: { simple?: boolean }): unknown;
  transaction<F extends AnyFunction>(fn: F): SqliteTransaction<F>;
  close(): void;
}

export interface OpenOptions {
  /** The driver; default: this process's choice (selectSqliteDriver()). */
  driver?: SqliteDriverName;
  /** Busy timeout in ms. @default 5000 */
  timeout?: number;
  readonly?: boolean;
  fileMustExist?: boolean;
}

export interface SqliteDriverChoice {
  name: SqliteDriverName;
  /** Why, for the start-up line, `status` and `doctor`: "better-sqlite3 not installed", … */
  reason: string;
}

/** What this process found of each driver; doctor's probe prints it. */
export interface DriverFacts {
  betterSqlite3: { version?: string; path?: string; sqlite?: string; error?: { code?: string; message: string }; skipped?: string };
  nodeSqlite: { available: boolean; sqlite?: string };
}

interface NodeStatement extends SqliteStatement {
  setReadBigInts?(enabled: boolean): void;
}
interface NodeDatabaseSync {
  prepare(source: string): NodeStatement;
  exec(source: string): void;
  close(): void;
}
type NodeDatabaseSyncCtor = new (file: string, options?: { readOnly?: boolean; open?: boolean }) => NodeDatabaseSync;

const require = createRequire(import.meta.url);
/** The installed package's directory (dist/store/ → ..), named in the install advice. */
export const PACKAGE_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

let betterCtor: typeof BetterSqlite3 | undefined;
let nodeCtor: NodeDatabaseSyncCtor | null | undefined;
let betterFacts: DriverFacts['betterSqlite3'] | undefined;
const choices = new Map<string, SqliteDriverChoice>();

// Node 24 still marks node:sqlite experimental and says so once per process on stderr; the store
// relies on the parts that are stable (open, prepare, run/get/all, exec), so that line is noise
// in every worker's output. Only that warning is dropped, and only while the module loads.
function loadNodeSqlite(): NodeDatabaseSyncCtor | null {
  if (nodeCtor !== undefined) return nodeCtor;
  const emitWarning = process.emitWarning;
  process.emitWarning = function (this: unknown, warning: string | Error, ...rest: unknown[]) {
    const text = typeof warning === 'string' ? warning : warning.message;
    const type = typeof rest[0] === 'string' ? rest[0] : (rest[0] as { type?: string } | undefined)?.type;
    if (/SQLite/.test(text) && (type === 'ExperimentalWarning' || (warning as Error).name === 'ExperimentalWarning')) return;
    return (emitWarning as (...a: unknown[]) => void).call(process, warning, ...rest);
  } as typeof process.emitWarning;
  try {
    const mod = process.getBuiltinModule?.('node:sqlite') as { DatabaseSync?: NodeDatabaseSyncCtor } | undefined;
    nodeCtor = mod?.DatabaseSync ?? null;
  } catch {
    nodeCtor = null;
  } finally {
    process.emitWarning = emitWarning;
  }
  return nodeCtor;
}

function describe(error: unknown): { code?: string; message: string } {
  const code = (error as { code?: unknown })?.code;
  return { ...(typeof code === 'string' ? { code } : {}), message: error instanceof Error ? error.message : String(error) };
}

// Resolves, checks against the known crashes, and loads better-sqlite3's native part (loaded by
// the first `new Database`, not by require) once per process; records what went wrong.
function probeBetterSqlite3(): DriverFacts['betterSqlite3'] {
  const found: DriverFacts['betterSqlite3'] = {};
  try {
    found.version = (require('better-sqlite3/package.json') as { version: string }).version;
    found.path = require.resolve('better-sqlite3');
  } catch (error) {
    found.error = describe(error);
    return found;
  }
  const bad = knownBadFor('better-sqlite3', found.version, process.versions.node);
  if (bad) {
    found.skipped = `${bad.effect} (this is Node ${process.versions.node})`;
    return found;
  }
  try {
    const ctor = require('better-sqlite3') as typeof BetterSqlite3;
    const memory = new ctor(':memory:');
    found.sqlite = (memory.prepare('SELECT sqlite_version() AS v').get() as { v: string }).v;
    memory.close();
    betterCtor = ctor;
  } catch (error) {
    found.error = describe(error);
  }
  return found;
}

function loadBetterSqlite3(): typeof BetterSqlite3 | undefined {
  betterFacts ??= probeBetterSqlite3();
  return betterCtor;
}

/** What this process can load; better-sqlite3 is tried (once) only when `preference` allows it. */
export function driverFacts(preference: SqliteDriverPreference = 'auto'): DriverFacts {
  const nodeSqlite = loadNodeSqlite() ? { available: true, sqlite: process.versions.sqlite } : { available: false };
  if (preference !== 'node:sqlite') betterFacts ??= probeBetterSqlite3();
  return { betterSqlite3: betterFacts ?? {}, nodeSqlite };
}

/** Why better-sqlite3 is not used, in a few words: "not installed", "built for another Node (…)", … */
export function betterSqlite3Problem(found: DriverFacts['betterSqlite3']): string {
  if (found.skipped) return `better-sqlite3 ${found.version} skipped: ${found.skipped}`;
  const message = found.error?.message ?? '';
  if (found.version === undefined) return 'better-sqlite3 not installed';
  const abi = Array.from(message.matchAll(/NODE_MODULE_VERSION (\d+)/g), (m) => m[1]);
  if (abi.length >= 2) return `better-sqlite3 ${found.version} built for another Node (NODE_MODULE_VERSION ${abi[0]}, this Node needs ${abi[1]})`;
  if (message.includes('Could not locate the bindings file')) return `better-sqlite3 ${found.version} installed without its native build`;
  return `better-sqlite3 ${found.version} failed to load: ${message.split(/\r?\n/)[0]?.slice(0, 160) ?? ''}`;
}

const INSTALL_BETTER = (): string =>
  `install better-sqlite3 where presenter-serve is installed (cd ${PACKAGE_ROOT} && npm install --no-save better-sqlite3@12; it downloads a prebuilt binary, or builds with python3, make and a C++ compiler)`;
const REBUILD_BETTER = (): string => `run \`npm rebuild better-sqlite3\` in ${PACKAGE_ROOT} with this Node (${process.versions.node})`;
const NEWER_NODE = 'run presenter-serve with Node 22.13 or newer (24 recommended), whose built-in node:sqlite needs nothing installed';

/**
 * The driver this process uses for `preference`: better-sqlite3 when it loads, else node:sqlite.
 * Throws a ConfigError (exit 2) with what to install when neither can be used.
 */
export function selectSqliteDriver(preference: SqliteDriverPreference = parseDriverPreference(process.env[SQLITE_DRIVER_ENV])): SqliteDriverChoice {
  const cached = choices.get(preference);
  if (cached) return cached;
  const found = driverFacts(preference);
  const node = process.versions.node;
  let choice: SqliteDriverChoice;
  if (preference === 'node:sqlite') {
    if (!found.nodeSqlite.available) {
      throw new ConfigError('SQLITE_DRIVER_UNAVAILABLE', `${SQLITE_DRIVER_ENV}=node:sqlite, but Node ${node} has no node:sqlite (it needs Node 22.13 or newer).`, {
        fix: `Run presenter-serve with Node 22.13 or newer (24 recommended), or unset ${SQLITE_DRIVER_ENV} to use better-sqlite3.`,
      });
    }
    choice = { name: 'node:sqlite', reason: `${SQLITE_DRIVER_ENV}=node:sqlite` };
  } else if (loadBetterSqlite3()) {
    choice = { name: 'better-sqlite3', reason: preference === 'auto' ? `better-sqlite3 ${found.betterSqlite3.version} loaded` : `${SQLITE_DRIVER_ENV}=better-sqlite3` };
  } else if (preference === 'better-sqlite3') {
    throw new ConfigError('SQLITE_DRIVER_UNAVAILABLE', `${SQLITE_DRIVER_ENV}=better-sqlite3, but ${betterSqlite3Problem(found.betterSqlite3)}.`, {
      fix: `Either ${found.betterSqlite3.version === undefined ? INSTALL_BETTER() : REBUILD_BETTER()}, or unset ${SQLITE_DRIVER_ENV}${found.nodeSqlite.available ? ' to use node:sqlite' : ` and ${NEWER_NODE}`}.`,
    });
  } else if (found.nodeSqlite.available) {
    choice = { name: 'node:sqlite', reason: betterSqlite3Problem(found.betterSqlite3) };
  } else {
    throw new ConfigError('SQLITE_DRIVER_UNAVAILABLE', `No SQLite driver: ${betterSqlite3Problem(found.betterSqlite3)}, and Node ${node} has no built-in node:sqlite (Node 22.13 or newer has it).`, {
      fix: `Either ${found.betterSqlite3.version === undefined ? INSTALL_BETTER() : REBUILD_BETTER()}, or ${NEWER_NODE}.`,
    });
  }
  choices.set(preference, choice);
  return choice;
}

/** Opens (creating unless `readonly`/`fileMustExist`) a database with the given or chosen driver. */
export function openSqlite(file: string, options: OpenOptions = {}): SqliteDatabase {
  const driver = options.driver ?? selectSqliteDriver().name;
  const timeout = options.timeout ?? DEFAULT_TIMEOUT_MS;
  if (driver === 'better-sqlite3') {
    const ctor = loadBetterSqlite3();
    if (!ctor) throw new Error(`cannot open ${file} with better-sqlite3: ${betterSqlite3Problem(driverFacts('better-sqlite3').betterSqlite3)}`);
    return new ctor(file, { timeout, readonly: options.readonly ?? false, fileMustExist: options.fileMustExist ?? false }) as unknown as SqliteDatabase;
  }
  const ctor = loadNodeSqlite();
  if (!ctor) throw new Error(`cannot open ${file} with node:sqlite: Node ${process.versions.node} has no node:sqlite (it needs 22.13 or newer)`);
  return new NodeSqliteDatabase(ctor, file, timeout, options);
}

/** node:sqlite's errors carry the result code as a number: give them better-sqlite3's `code` too. */
function withCode<E>(error: E): E {
  const e = error as { code?: unknown; errcode?: unknown; sqliteCode?: string };
  if (e && e.code === 'ERR_SQLITE_ERROR' && typeof e.errcode === 'number') e.code = sqliteCodeName(e.errcode);
  return error;
}

function cantOpen(file: string): Error {
  return Object.assign(new Error(`unable to open database file ${file}: it does not exist`), { code: 'SQLITE_CANTOPEN' });
}

class NodeSqliteDatabase implements SqliteDatabase {
  private readonly db: NodeDatabaseSync;
  private isOpen = true;
  private depth = 0;
  private readonly control = new Map<string, NodeStatement>();

  constructor(ctor: NodeDatabaseSyncCtor, file: string, timeout: number, options: OpenOptions) {
    if (options.fileMustExist && file !== ':memory:' && !existsSync(file)) throw cantOpen(file);
    try {
      this.db = new ctor(file, { readOnly: options.readonly ?? false });
      this.db.exec(`PRAGMA busy_timeout = ${Math.max(0, Math.floor(timeout))}`);
    } catch (error) {
      throw withCode(error);
    }
  }

  get open(): boolean {
    return this.isOpen;
  }

  prepare(source: string): SqliteStatement {
    try {
      return this.db.prepare(source);
    } catch (error) {
      throw withCode(error);
    }
  }

  exec(source: string): void {
    try {
      this.db.exec(source);
    } catch (error) {
      throw withCode(error);
    }
  }

  pragma(source: string, options: { simple?: boolean } = {}): unknown {
    const rows = this.prepare(`PRAGMA ${source}`).all() as Record<string, unknown>[];
    if (!options.simple) return rows;
    const first = rows[0];
    return first === undefined ? undefined : Object.values(first)[0];
  }

  transaction<F extends AnyFunction>(fn: F): SqliteTransaction<F> {
    const run = (mode: string, args: Parameters<F>): ReturnType<F> => this.runTransaction(mode, fn, args);
    const tx = ((...args: Parameters<F>) => run('DEFERRED', args)) as SqliteTransaction<F>;
    tx.deferred = (...args) => run('DEFERRED', args);
    tx.immediate = (...args) => run('IMMEDIATE', args);
    tx.exclusive = (...args) => run('EXCLUSIVE', args);
    return tx;
  }

  close(): void {
    if (!this.isOpen) return;
    this.isOpen = false;
    this.control.clear();
    this.db.close();
  }

  private statement(sql: string): NodeStatement {
    let stmt = this.control.get(sql);
    if (!stmt) {
      stmt = this.db.prepare(sql);
      this.control.set(sql, stmt);
    }
    return stmt;
  }

  // As better-sqlite3 does it: the outermost call owns BEGIN/COMMIT, nested calls a savepoint.
  // A failed COMMIT (SQLITE_BUSY, SQLITE_FULL) rolls back too; SQLite may already have rolled
  // back by itself (I/O errors, a full disk), so a ROLLBACK that finds no transaction is fine.
  private runTransaction<F extends AnyFunction>(mode: string, fn: F, args: Parameters<F>): ReturnType<F> {
    const nested = this.depth > 0;
    try {
      this.statement(nested ? 'SAVEPOINT presenter_tx' : `BEGIN ${mode}`).run();
    } catch (error) {
      throw withCode(error);
    }
    this.depth++;
    try {
      const result = fn(...args) as ReturnType<F>;
      if (result && typeof (result as { then?: unknown }).then === 'function') throw new TypeError('Transaction function cannot return a promise');
      this.statement(nested ? 'RELEASE presenter_tx' : 'COMMIT').run();
      return result;
    } catch (error) {
      try {
        if (nested) {
          this.statement('ROLLBACK TO presenter_tx').run();
          this.statement('RELEASE presenter_tx').run();
        } else {
          this.statement('ROLLBACK').run();
        }
      } catch {
        // already rolled back by SQLite itself
      }
      throw withCode(error);
    } finally {
      this.depth--;
    }
  }
}
