// PRESENTER_DATABASE_URL / --database-url: which store, and how it is shown. The password is
// never printed or logged: every place that shows the URL shows redactDatabaseUrl's form.

export interface DatabaseTarget {
  kind: 'postgres';
  /** The URL as given (with its password): only the pg driver sees it. */
  url: string;
  /** The URL with the password replaced by `***`, for the start-up line, status and doctor. */
  display: string;
  host: string;
  port: number;
  database: string;
  user: string;
}

export class DatabaseUrlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DatabaseUrlError';
  }
}

/** Shows a database URL without its password (`postgres://app:***@db:5432/presenter`); anything unparsable as `(unparsable URL)`. */
export function redactDatabaseUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    // query parameters may hold a password too (?password=…)
    for (const key of [...parsed.searchParams.keys()]) if (/^(password|sslpassword|sslkey)$/i.test(key)) parsed.searchParams.set(key, '***');
    return parsed.toString();
  } catch {
    return '(unparsable URL)';
  }
}

/**
 * Parses a PostgreSQL URL (`postgres://` or `postgresql://`); throws DatabaseUrlError naming
 * what is wrong (never echoing the password) for anything else.
 */
export function parseDatabaseUrl(url: string): DatabaseTarget {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new DatabaseUrlError('the database URL is not a URL; write it as postgres://user:password@host:5432/database');
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new DatabaseUrlError(
      `the database URL's scheme is ${JSON.stringify(parsed.protocol.replace(/:$/, ''))}; only postgres:// (or postgresql://) is supported; leave PRESENTER_DATABASE_URL unset for the SQLite store in the data dir`,
    );
  }
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  if (!database || database.includes('/')) throw new DatabaseUrlError(`the database URL ${redactDatabaseUrl(url)} names no database; add it as the path: postgres://user@host:5432/presenter`);
  const port = parsed.port === '' ? 5432 : Number(parsed.port);
  const host = decodeURIComponent(parsed.hostname) || parsed.searchParams.get('host') || 'localhost';
  return {
    kind: 'postgres',
    url,
    display: redactDatabaseUrl(url),
    host,
    port,
    database,
    user: decodeURIComponent(parsed.username) || process.env.PGUSER || process.env.USER || 'postgres',
  };
}

/**
 * PostgreSQL connections one worker holds: a pool of `threads + 2` (each job slot may wait on
 * the database while HTTP requests go on), one for the claim loop and one LISTEN connection for
 * wake-ups. doctor compares hosts × workers × this with the server's max_connections.
 */
export function poolSizeFor(threads: number): number {
  return threads + 2;
}

export function connectionsPerWorker(threads: number): number {
  return poolSizeFor(threads) + 2;
}
