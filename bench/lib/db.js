// Read-only looks into a data dir's database and log: the bench checks results there.
import { existsSync, readdirSync, createReadStream } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { openSqlite } from '../../dist/store/sqlite-driver.js';

export function openReadOnly(dataDir) {
  return openSqlite(join(dataDir, 'presenter.db'), { readonly: true, fileMustExist: true, timeout: 5000 });
}

/** Streams the JSON lines of presenter.log and its rotated files whose `event` is in `events`. */
export async function readLogEvents(dataDir, events, onLine) {
  const dir = join(dataDir, 'logs');
  if (!existsSync(dir)) return;
  const files = readdirSync(dir).filter((f) => f.startsWith('presenter.log'));
  const needles = [...events].map((e) => `"event":"${e}"`);
  for (const f of files) {
    const rl = createInterface({ input: createReadStream(join(dir, f)), crlfDelay: Infinity });
    for await (const line of rl) {
      if (!needles.some((n) => line.includes(n))) continue;
      try {
        onLine(JSON.parse(line));
      } catch {
        // a torn last line of a killed process
      }
    }
  }
}

export function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}
