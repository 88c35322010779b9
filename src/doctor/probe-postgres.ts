import { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Client } from 'pg';
import { parseDatabaseUrl } from '../store/database-url.js';

/**
 * The whole PostgreSQL probe (TCP, start-up, log-in, queries) gets this long: within the
 * runner's per-check cap, so a silent server is reported by its own check, not abandoned.
 */
export const POSTGRES_BUDGET_MS = 2500;

/** Where the probe stopped, and why. `stage` is how far it got: no TCP connection, or a connection the server refused or never answered on. */
export interface PgFailure {
  stage: 'tcp' | 'startup' | 'query';
  /** errno (ECONNREFUSED, ENOTFOUND) or SQLSTATE (28P01, 3D000). */
  code: string | undefined;
  message: string;
  timedOut: boolean;
  elapsedMs: number;
}

export interface PgServerFacts {
  versionNum: number;
  version: string;
  maxConnections: number;
  superuserReserved: number;
  /** reserved_connections (PostgreSQL 16+), 0 before. */
  reserved: number;
  inUse: number;
  /** -1: no limit. */
  roleLimit: number;
  databaseLimit: number;
  superuser: boolean;
}

export interface PgFacts {
  /** Shown in messages: never the URL with its password. */
  display: string;
  host: string;
  port: number;
  database: string;
  user: string;
  /** Set when it stopped early; whatever was learnt before is still set below. */
  failure?: PgFailure;
  tcpMs?: number;
  server?: PgServerFacts;
  /** undefined: schema_migrations does not exist; null: it exists and is empty. */
  schemaVersion?: number | null;
  schemaError?: string;
  /** Database clock minus this host's, ± half the best round trip. */
  clock?: { skewMs: number; uncertaintyMs: number };
}

class Deadline extends Error {}

const errorFacts = (error: unknown): { code: string | undefined; message: string } => {
  const e = error as { code?: unknown; message?: unknown };
  return { code: typeof e?.code === 'string' ? e.code : undefined, message: typeof e?.message === 'string' ? e.message : String(error) };
};

// One connection for all the PostgreSQL checks, opened on a socket of ours so that "TCP
// connected, then silence" (not PostgreSQL, a stuck server) is told apart from "no TCP at all".
export async function probePostgres(url: string, options: { now?: () => number; budgetMs?: number } = {}): Promise<PgFacts> {
  const target = parseDatabaseUrl(url);
  const now = options.now ?? (() => Date.now());
  const budget = options.budgetMs ?? POSTGRES_BUDGET_MS;
  const facts: PgFacts = { display: target.display, host: target.host, port: target.port, database: target.database, user: target.user };
  // the budget counts from here, loading pg included: the runner's cap counts from here too
  const start = performance.now();
  const { default: pg } = await import('pg');
  const connectStart = performance.now();
  const left = () => Math.max(0, budget - (performance.now() - start));
  const within = async <T>(work: Promise<T>): Promise<T> => {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Deadline()), left());
    });
    try {
      return await Promise.race([work, late]);
    } finally {
      clearTimeout(timer);
    }
  };
  const opened: { client: Client; socket: Socket }[] = [];
  const open = async (connectionString: string): Promise<Client> => {
    const socket = new Socket();
    socket.once('connect', () => {
      facts.tcpMs ??= Math.round(performance.now() - connectStart);
    });
    const client = new pg.Client({ connectionString, stream: () => socket, application_name: 'presenter-serve doctor' });
    client.on('error', () => {}); // a connection lost after the probe answered: nothing to report
    opened.push({ client, socket });
    const connecting = client.connect();
    connecting.catch(() => {}); // it rejects after a deadline too, when the socket is destroyed
    await within(connecting);
    return client;
  };
  const row = async (client: Client, sql: string): Promise<Record<string, unknown>> => ((await within(client.query(sql))).rows[0] as Record<string, unknown> | undefined) ?? {};

  let stage: PgFailure['stage'] = 'tcp';
  try {
    const client = await open(url);
    stage = 'query';
    const migrated = await readServer(client, row, facts);
    if (migrated) {
      try {
        const v = (await row(client, 'SELECT max(version) AS version FROM schema_migrations')).version;
        facts.schemaVersion = v === null || v === undefined ? null : Number(v);
      } catch (error) {
        if (error instanceof Deadline) throw error;
        facts.schemaError = errorFacts(error).message;
      }
    }
    facts.clock = await readClock(client, row, now);
  } catch (error) {
    const timedOut = error instanceof Deadline;
    if (stage === 'tcp' && facts.tcpMs !== undefined) stage = 'startup';
    const { code, message } = timedOut ? { code: undefined, message: 'timed out' } : errorFacts(error);
    facts.failure = { stage, code, message, timedOut, elapsedMs: Math.round(performance.now() - start) };
    if (code === '3D000' && target.database !== 'postgres') {
      // The server is there and let us in: its version, clock and limits are read from the
      // maintenance database, so one run tells all that createdb will not change.
      try {
        const maintenance = new URL(url);
        maintenance.pathname = '/postgres';
        const client = await open(maintenance.toString());
        await readServer(client, row, facts);
        if (facts.server) facts.server.databaseLimit = -1; // the postgres database's limit is not the one that counts
        facts.clock = await readClock(client, row, now);
      } catch {
        // that database may be closed to this user too: the checks after it say "not checked"
      }
    }
  } finally {
    for (const { client, socket } of opened) {
      if (facts.failure?.timedOut) socket.destroy();
      else await within(client.end()).catch(() => socket.destroy());
    }
  }
  return facts;
}

type Row = (client: Client, sql: string) => Promise<Record<string, unknown>>;

/** Sets facts.server; true when schema_migrations exists in the connected database. */
async function readServer(client: Client, row: Row, facts: PgFacts): Promise<boolean> {
  const num = Number((await row(client, 'SHOW server_version_num')).server_version_num);
  const clients = num >= 100000 ? "WHERE backend_type = 'client backend'" : '';
  const s = await row(
    client,
    `SELECT current_setting('server_version') AS version,
        current_setting('max_connections')::int AS max_connections,
        current_setting('superuser_reserved_connections')::int AS superuser_reserved,
        coalesce(current_setting('reserved_connections', true), '0')::int AS reserved,
        (SELECT count(*)::int FROM pg_stat_activity ${clients}) AS in_use,
        r.rolconnlimit AS role_limit, r.rolsuper AS superuser,
        (SELECT datconnlimit FROM pg_database WHERE datname = current_database()) AS database_limit,
        to_regclass('schema_migrations') IS NOT NULL AS migrated
      FROM pg_roles r WHERE r.rolname = current_user`,
  );
  facts.server = {
    versionNum: num,
    version: String(s.version ?? num),
    maxConnections: Number(s.max_connections),
    superuserReserved: Number(s.superuser_reserved),
    reserved: Number(s.reserved ?? 0),
    inUse: Number(s.in_use ?? 0),
    roleLimit: Number(s.role_limit ?? -1),
    databaseLimit: Number(s.database_limit ?? -1),
    superuser: s.superuser === true,
  };
  return s.migrated === true;
}

// NTP's estimate: the database read its clock about halfway through the round trip; the sample
// with the shortest trip bounds the error best.
async function readClock(client: Client, row: Row, now: () => number): Promise<{ skewMs: number; uncertaintyMs: number }> {
  let best: { skewMs: number; uncertaintyMs: number } | undefined;
  for (let i = 0; i < 3; i++) {
    const sent = now();
    const ms = Number((await row(client, 'SELECT (extract(epoch FROM clock_timestamp()) * 1000)::float8 AS ms')).ms);
    const received = now();
    const sample = { skewMs: Math.round(ms - (sent + received) / 2), uncertaintyMs: Math.ceil((received - sent) / 2) };
    if (!best || sample.uncertaintyMs < best.uncertaintyMs) best = sample;
  }
  return best!;
}
