import { SCHEMA_VERSION } from '../store/migrations.js';
import type { PgFacts, PgFailure } from './probe-postgres.js';
import type { CheckResult, DoctorEnv } from './types.js';

// The PostgreSQL checks, run when a database URL is set. They share one probe (one connection):
// each reads its part, and the first step that failed reports it with its fix; the steps after
// it say they were not checked.

export type PgEnv = Pick<DoctorEnv, 'settings' | 'probePostgres'>;
type Step = 'reachable' | 'login' | 'database' | 'server';
const STEPS: readonly Step[] = ['reachable', 'login', 'database', 'server'];
const STEP_TITLE: Record<Step, string> = { reachable: 'PostgreSQL reachable', login: 'PostgreSQL login', database: 'PostgreSQL database exists', server: 'PostgreSQL version' };

/** The oldest PostgreSQL major presenter-serve supports, and when each later one loses its security fixes (postgresql.org/support/versioning). */
export const POSTGRES_MINIMUM = 13;
export const POSTGRES_EOL: Record<number, string> = { 13: '2025-11-13', 14: '2026-11-12', 15: '2027-11-11', 16: '2028-11-09', 17: '2029-11-08', 18: '2030-11-14' };

export async function pgFacts(env: PgEnv): Promise<PgFacts> {
  if (env.settings.databaseUrl === undefined) throw new Error('the PostgreSQL checks run only with a database URL');
  return env.probePostgres(env.settings.databaseUrl);
}

/** Which step a failure belongs to: no TCP or no PostgreSQL answer, the log-in, the database, or a query after it. */
export function failedStep(failure: PgFailure): Step {
  if (failure.stage === 'tcp') return 'reachable';
  if (failure.stage === 'query') return 'server';
  const code = failure.code ?? '';
  if (code === '3D000') return 'database';
  // class 28 (authorization), 53300 (too many clients) and other SQLSTATEs the server sent at log-in;
  // 57P03 (starting up, shutting down), class 08, errno codes, SSL and time-outs: it did not serve us
  if (/^[0-9A-Z]{5}$/.test(code) && code !== '57P03' && !code.startsWith('08')) return 'login';
  return 'reachable';
}

export const where = (f: PgFacts): string => (f.host.startsWith('/') ? `${f.host.replace(/\/$/, '')}/.s.PGSQL.${f.port}` : `${f.host.includes(':') ? `[${f.host}]` : f.host}:${f.port}`);

/** For a check at `step`: its own failure, "not checked" after an earlier failure, or undefined when it may read its facts. */
export function gate(f: PgFacts, step: Step, id: string, title: string): CheckResult | { own: PgFailure } | undefined {
  if (!f.failure) return undefined;
  const at = failedStep(f.failure);
  if (STEPS.indexOf(at) === STEPS.indexOf(step)) return { own: f.failure };
  if (STEPS.indexOf(at) > STEPS.indexOf(step)) return undefined;
  return { id, title, status: 'fail', detail: `Not checked: see “${STEP_TITLE[at]}”.`, fix: 'Fix that first, then run doctor again.' };
}

const START = 'Start PostgreSQL (`systemctl start postgresql`, or `pg_ctlcluster <version> main start` on Debian)';
const LISTEN = '`listen_addresses` in postgresql.conf (the default, localhost, refuses other hosts; `SHOW listen_addresses` in psql) and `port` must match the URL';

function reachableFailure(f: PgFacts, e: PgFailure): Pick<CheckResult, 'detail' | 'fix'> {
  const at = where(f);
  const seconds = `${(e.elapsedMs / 1000).toFixed(1)} s`;
  const code = e.code ?? '';
  if (e.stage === 'tcp' && e.timedOut) {
    return { detail: `No TCP connection to ${at} within ${seconds}: nothing answered (packets dropped, or no such host on the network).`, fix: `Check the host and port in the database URL, that the server is up, ${LISTEN}, and that no firewall between here and the server drops the port (\`nc -vz ${f.host} ${f.port}\` tests it).` };
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_NONAME') {
    return { detail: `The database host ${f.host} cannot be resolved (${code}).`, fix: `Check the host name in the database URL, and this machine's DNS (\`getent hosts ${f.host}\`).` };
  }
  if (code === 'ECONNREFUSED' || code === 'ENOENT') {
    return { detail: `Nothing accepts connections at ${at} (${code}).`, fix: `${START}; check that it listens there: ${LISTEN}; and that no firewall rejects the port.` };
  }
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === 'ETIMEDOUT') {
    return { detail: `${at} cannot be reached from here (${code}).`, fix: `Check the host in the database URL, this machine's network and routes, and the firewall between here and the server.` };
  }
  if (e.timedOut) {
    return { detail: `${at} accepted a TCP connection but did not answer as PostgreSQL within ${seconds}.`, fix: `Something other than PostgreSQL may listen on port ${f.port} (PostgreSQL's default is 5432), or the server is stuck: check the port in the URL and the server's log.` };
  }
  if (code === '57P03') return { detail: `${at} answered, but cannot take connections now: ${e.message}.`, fix: 'Wait until PostgreSQL has started (its log says "ready to accept connections"), then run doctor again.' };
  if (/ssl|tls|certificate/i.test(e.message)) {
    return { detail: `TLS with ${at} failed: ${e.message}.`, fix: 'Match the URL to the server: add ?sslmode=require when the server requires TLS (hostssl lines in pg_hba.conf), drop sslmode when it has ssl = off, or give the CA with sslrootcert=….' };
  }
  return { detail: `${at} closed the connection during start-up${code ? ` (${code})` : ''}: ${e.message}.`, fix: `Check that ${at} is a PostgreSQL server (the port in the URL), and the server's log.` };
}

export async function checkPostgresReachable(env: PgEnv): Promise<CheckResult> {
  const [id, title] = ['postgres-reachable', STEP_TITLE.reachable];
  const f = await pgFacts(env);
  const g = gate(f, 'reachable', id, title);
  if (g && 'own' in g) return { id, title, status: 'fail', ...reachableFailure(f, g.own) };
  return { id, title, status: 'pass', detail: `${f.display}: TCP connected in ${f.tcpMs ?? '?'} ms, and PostgreSQL answered.` };
}

function loginFailure(f: PgFacts, e: PgFailure): Pick<CheckResult, 'detail' | 'fix'> {
  const at = where(f);
  const hba = /no pg_hba\.conf entry for host "([^"]+)"/.exec(e.message);
  if (e.code === '28P01') {
    return {
      detail: `${at} refused the password of "${f.user}" (28P01: ${e.message}).`,
      fix: `Put the right password in the database URL (postgres://${f.user}:PASSWORD@…, percent-encoded) or in PGPASSWORD, or set it on the server: \`ALTER ROLE "${f.user}" PASSWORD '…';\` in psql as a superuser.`,
    };
  }
  if (hba) {
    const cidr = hba[1]!.includes(':') ? `${hba[1]}/128` : `${hba[1]}/32`;
    return {
      detail: `${at} has no pg_hba.conf line that lets "${f.user}" in from ${hba[1]} (28000: ${e.message}).`,
      fix: `Add a line to pg_hba.conf on the database server (\`SHOW hba_file\` finds it), e.g. \`host  ${f.database}  ${f.user}  ${cidr}  scram-sha-256\` (hostssl with TLS), then reload it: \`SELECT pg_reload_conf();\`.`,
    };
  }
  if (e.message.startsWith('role ') && e.message.endsWith(' does not exist')) {
    return { detail: `The role "${f.user}" does not exist on ${at} (${e.code}).`, fix: `Create it on the server: \`createuser -h ${f.host} -P ${f.user}\` (or \`CREATE ROLE "${f.user}" LOGIN PASSWORD '…';\`), or put an existing user in the database URL.` };
  }
  if (e.code === '53300') {
    return { detail: `${at} refused the log-in: ${e.message} (53300): max_connections is used up.`, fix: 'See what holds the connections (`SELECT usename, application_name, count(*) FROM pg_stat_activity GROUP BY 1, 2`), raise max_connections, or run fewer workers or hosts.' };
  }
  return {
    detail: `${at} refused the log-in of "${f.user}" (${e.code ?? 'no code'}: ${e.message}).`,
    fix: `Check the user and password in the database URL (or PGPASSWORD), and pg_hba.conf on the server: it needs a line letting "${f.user}" into "${f.database}" from this host.`,
  };
}

export async function checkPostgresLogin(env: PgEnv): Promise<CheckResult> {
  const [id, title] = ['postgres-login', STEP_TITLE.login];
  const f = await pgFacts(env);
  const g = gate(f, 'login', id, title);
  if (g && 'own' in g) return { id, title, status: 'fail', ...loginFailure(f, g.own) };
  if (g) return g;
  const superuser = f.server?.superuser ? ' It is a superuser: the service needs only its own database, a role without superuser rights is safer.' : '';
  return { id, title, status: 'pass', detail: `Logged in as "${f.user}".${superuser}` };
}

export async function checkPostgresDatabase(env: PgEnv): Promise<CheckResult> {
  const [id, title] = ['postgres-database', STEP_TITLE.database];
  const f = await pgFacts(env);
  const g = gate(f, 'database', id, title);
  if (g && 'own' in g) {
    const port = f.port === 5432 ? '' : ` -p ${f.port}`;
    return {
      id,
      title,
      status: 'fail',
      detail: `The database "${f.database}" does not exist on ${where(f)} (3D000).`,
      fix: `Create it, owned by the service's user: \`createdb -h ${f.host}${port} -U ${f.user} -O ${f.user} ${f.database}\` (or \`CREATE DATABASE "${f.database}" OWNER "${f.user}";\` in psql). serve creates the tables in it, not the database itself.`,
    };
  }
  if (g) return g;
  return { id, title, status: 'pass', detail: `The database "${f.database}" exists.` };
}

/** For the checks after log-in: a gate's result, or the query failure when the fact is missing. */
export function serverGate(f: PgFacts, id: string, title: string, what: string): CheckResult | undefined {
  const g = gate(f, 'server', id, title);
  if (g && !('own' in g)) return g;
  const e = f.failure;
  if (!e) return undefined;
  return { id, title, status: 'fail', detail: `Reading ${what} failed${e.timedOut ? ` (no answer within ${(e.elapsedMs / 1000).toFixed(1)} s)` : `: ${e.code ? `${e.code}: ` : ''}${e.message}`}.`, fix: "Run doctor again; if it repeats, look at the server's log (locks held, an overloaded server) and the role's rights to read pg_settings and pg_stat_activity." };
}

export async function checkPostgresVersion(env: PgEnv & Pick<DoctorEnv, 'now'>): Promise<CheckResult> {
  const [id, title] = ['postgres-version', STEP_TITLE.server];
  const f = await pgFacts(env);
  const s = f.server;
  if (!s) return serverGate(f, id, title, 'the server version') ?? { id, title, status: 'fail', detail: 'No server version was read.', fix: 'Run doctor again.' };
  const major = s.versionNum >= 100000 ? Math.floor(s.versionNum / 10000) : Math.floor(s.versionNum / 100) / 100;
  const seen = `PostgreSQL ${s.version} (server_version_num ${s.versionNum})`;
  if (major < POSTGRES_MINIMUM) {
    return { id, title, status: 'fail', detail: `${seen} is older than ${POSTGRES_MINIMUM}, the oldest presenter-serve supports.`, fix: `Upgrade the server to a supported major (${Object.keys(POSTGRES_EOL).slice(-4).join(', ')}): pg_upgrade, or your provider's upgrade.` };
  }
  const eol = POSTGRES_EOL[major];
  if (eol && env.now() >= Date.parse(`${eol}T00:00:00Z`)) {
    return { id, title, status: 'warn', detail: `${seen} works, but PostgreSQL ${major} is end of life since ${eol} (no security fixes).`, fix: 'Plan an upgrade to a supported major: pg_upgrade, or your provider\'s upgrade.' };
  }
  return { id, title, status: 'pass', detail: `${seen}${eol ? `, supported until ${eol}` : ''}.` };
}

export async function checkPostgresSchema(env: PgEnv): Promise<CheckResult> {
  const [id, title] = ['postgres-schema', 'PostgreSQL schema version'];
  const f = await pgFacts(env);
  const g = gate(f, 'server', id, title);
  if (g && !('own' in g)) return g; // the server's facts may come from the maintenance database; the schema never does
  if (!f.server) return serverGate(f, id, title, 'the schema version') ?? { id, title, status: 'fail', detail: 'No schema version was read.', fix: 'Run doctor again.' };
  if (f.schemaError) {
    return { id, title, status: 'warn', detail: `schema_migrations exists in "${f.database}" but cannot be read: ${f.schemaError}.`, fix: `Grant "${f.user}" access to the service's tables, or run doctor with the user the service connects as.` };
  }
  const v = f.schemaVersion;
  const ours = `this presenter-serve has schema version ${SCHEMA_VERSION}`;
  if (v === undefined || v === null) {
    return { id, title, status: 'pass', detail: `Not migrated yet (no ${v === null ? 'version in ' : ''}schema_migrations in "${f.database}"): \`presenter-serve serve\` migrates it at start, to version ${SCHEMA_VERSION}.` };
  }
  if (v < SCHEMA_VERSION) {
    return { id, title, status: 'pass', detail: `Schema version ${v}, ${ours}: \`presenter-serve serve\` migrates it at start (once, whichever host starts first). Upgrade every host: an older presenter-serve refuses the newer schema.` };
  }
  if (v > SCHEMA_VERSION) {
    return { id, title, status: 'fail', detail: `Schema version ${v} is newer than this presenter-serve knows (${ours}): a newer presenter-serve migrated this database, and this one would refuse to start.`, fix: 'Upgrade presenter-serve on this host to the release the other hosts run.' };
  }
  return { id, title, status: 'pass', detail: `Schema version ${v}, current.` };
}
