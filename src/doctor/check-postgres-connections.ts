import { connectionsPerWorker, poolSizeFor } from '../store/database-url.js';
import { pgFacts, serverGate, type PgEnv } from './check-postgres.js';
import type { CheckResult, DoctorEnv } from './types.js';

const ID = 'postgres-connections';
const TITLE = 'PostgreSQL max_connections';
/** Above this share of the usable connections the check warns. */
export const CONNECTIONS_WARN_SHARE = 0.8;

const NO_BOUNCER =
  'A pooler does not help here: PgBouncer in transaction mode breaks LISTEN (wake-ups) and session advisory locks (migrations), which presenter-serve relies on, and in session mode it saves no server connections.';

/** Connections all hosts hold: per host, each worker's pool and LISTEN connection, and one for the supervisor. */
export function connectionsNeeded(settings: { workers: number; threads: number; fork: boolean }, hosts: number): { perWorker: number; steady: number; reload: number; processes: number } {
  const processes = settings.fork ? settings.workers : 1;
  const perWorker = connectionsPerWorker(settings.threads);
  const steady = hosts * (processes * perWorker + 1);
  // a rolling reload starts each replacement before its old worker stops: one worker more per host
  const reload = steady + (settings.fork ? hosts * perWorker : 0);
  return { perWorker, steady, reload, processes };
}

export async function checkPostgresConnections(env: PgEnv & Pick<DoctorEnv, 'hosts'>): Promise<CheckResult> {
  const f = await pgFacts(env);
  const s = f.server;
  if (!s) return serverGate(f, ID, TITLE, 'max_connections') ?? { id: ID, title: TITLE, status: 'fail', detail: 'max_connections was not read.', fix: 'Run doctor again.' };
  const hosts = env.hosts ?? 1;
  const { threads } = env.settings;
  const need = connectionsNeeded(env.settings, hosts);
  const server = s.maxConnections - s.superuserReserved - s.reserved;
  const limits = [
    { n: server, why: `max_connections ${s.maxConnections} − ${s.superuserReserved + s.reserved} reserved for superusers` },
    ...(s.roleLimit >= 0 ? [{ n: s.roleLimit, why: `the connection limit of role "${f.user}"` }] : []),
    ...(s.databaseLimit >= 0 ? [{ n: s.databaseLimit, why: `the connection limit of database "${f.database}"` }] : []),
  ];
  const limit = limits.reduce((a, b) => (b.n < a.n ? b : a));
  const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
  const sum = `${plural(hosts, 'host')} × (${plural(need.processes, 'worker')} × ${need.perWorker} (a pool of ${poolSizeFor(threads)} for ${threads} job slots, 1 LISTEN) + 1 supervisor) = ${need.steady} connections, ${need.reload} during a rolling reload`;
  const against = `${limit.n} allowed (${limit.why}); ${s.inUse} in use now`;
  const fix = (raise: string): string => `${raise} or run fewer workers, threads or hosts (--workers, --threads: a worker holds threads + 3 connections). ${NO_BOUNCER}`;
  const enough = Math.ceil(need.reload / CONNECTIONS_WARN_SHARE);
  const raise =
    limit.n === server
      ? `Raise max_connections to at least ${enough + s.superuserReserved + s.reserved} (\`ALTER SYSTEM SET max_connections = ${enough + s.superuserReserved + s.reserved};\`, then restart PostgreSQL),`
      : limit.why.includes('role')
        ? `Raise the role's limit (\`ALTER ROLE "${f.user}" CONNECTION LIMIT ${enough};\`),`
        : `Raise the database's limit (\`ALTER DATABASE "${f.database}" CONNECTION LIMIT ${enough};\`),`;
  if (need.steady > limit.n) return { id: ID, title: TITLE, status: 'fail', detail: `presenter-serve needs ${sum}: more than the ${against}.`, fix: fix(raise) };
  if (need.steady > CONNECTIONS_WARN_SHARE * limit.n || need.reload > limit.n) {
    return { id: ID, title: TITLE, status: 'warn', detail: `presenter-serve needs ${sum}: close to the ${against}; other clients (psql, backups, monitoring) need some too.`, fix: fix(raise) };
  }
  return { id: ID, title: TITLE, status: 'pass', detail: `presenter-serve needs ${sum}; ${against}.` };
}
