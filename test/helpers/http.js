// Small HTTP helpers over real loopback HTTP, and read-only access to a server's database and log.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openSqlite } from '../../dist/store/sqlite-driver.js';
import { sleep } from './cli.js';

export async function api(server, path, { method = 'GET', json, body, headers = {} } = {}) {
  const init = { method, headers: { ...headers } };
  if (json !== undefined) {
    init.body = JSON.stringify(json);
    init.headers['content-type'] = 'application/json';
  } else if (body !== undefined) {
    init.body = body;
  }
  const res = await fetch(`${server.url}${path}`, init);
  const text = await res.text();
  let data;
  try {
    data = text ? JSON.parse(text) : undefined;
  } catch {
    data = text;
  }
  return { status: res.status, headers: res.headers, data };
}

const plain = (row) => (row === undefined ? row : { ...row });

/**
 * Read-only, through the driver this Node would choose (better-sqlite3, else node:sqlite). Rows
 * come back as plain objects whichever driver read them (node:sqlite's have a null prototype,
 * which deepStrictEqual tells apart from a literal).
 */
export function openDb(server) {
  const db = openSqlite(join(server.dataDir, 'presenter.db'), { readonly: true, fileMustExist: true, timeout: 5000 });
  return {
    prepare(sql) {
      const stmt = db.prepare(sql);
      return { get: (...params) => plain(stmt.get(...params)), all: (...params) => stmt.all(...params).map(plain) };
    },
    close: () => db.close(),
  };
}

export function logLines(server) {
  let text = '';
  try {
    text = readFileSync(join(server.dataDir, 'logs/presenter.log'), 'utf8');
  } catch {
    return [];
  }
  // only whole lines: the supervisor may be writing the next one right now
  return text
    .slice(0, text.lastIndexOf('\n') + 1)
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

export async function waitUntil(what, check, timeoutMs = 30_000, everyMs = 50) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await check();
    if (value) return value;
    await sleep(everyMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** Polls GET /api/presentations/:id until its status is one of `statuses`. */
export async function waitForStatus(server, id, statuses = ['done', 'failed'], timeoutMs = 30_000) {
  let last;
  await waitUntil(`presentation ${id} to be ${statuses.join(' or ')} (last: ${JSON.stringify(last?.data)})`, async () => {
    try {
      last = await api(server, `/api/presentations/${id}`);
    } catch {
      return false; // a pooled connection to a worker the test killed: poll again on a new one
    }
    return statuses.includes(last.data?.status);
  }, timeoutMs, 100);
  return last.data;
}
