// The checkpoint thread of store/wal-checkpointer.ts: its own connection to the database, a
// PASSIVE checkpoint each round in which the store wrote. It never runs its event loop after
// start-up: it sleeps in Atomics.wait, which the store's stop wakes.
import { parentPort, workerData } from 'node:worker_threads';
import { openSqlite, type SqliteDatabase } from './sqlite-driver.js';
import { sqliteErrorCode } from './sqlite-codes.js';
import { CHECKPOINTS, STOP, WRITES, type CheckpointThreadData } from './wal-checkpointer.js';

const { file, driver, state: buffer, everyMs } = workerData as CheckpointThreadData;
const state = new Int32Array(buffer);
const port = parentPort!;

let db: SqliteDatabase;
try {
  db = openSqlite(file, { timeout: 5000, ...(driver ? { driver } : {}) });
  // this connection writes nothing, but a checkpoint of its own at close is what empties the log
  db.pragma('wal_autocheckpoint = 0');
  db.pragma('journal_size_limit = 16777216'); // as the store's connection (store/sqlite.ts)
} catch (error) {
  port.postMessage({ type: 'failed', reason: `cannot open ${file}: ${(error as Error).message}` });
  process.exit(1);
}
port.postMessage({ type: 'ready' });

let seen = Atomics.load(state, WRITES);
let lastErrorCode: string | undefined;
while (Atomics.wait(state, STOP, 0, everyMs) !== 'not-equal' && Atomics.load(state, STOP) === 0) {
  const writes = Atomics.load(state, WRITES);
  if (writes === seen) continue;
  seen = writes;
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
    Atomics.add(state, CHECKPOINTS, 1);
    lastErrorCode = undefined;
  } catch (error) {
    // a full disk, an I/O error: the store's own writes meet it and say so; the next round tries
    // again. Reported once per kind, not per round.
    const code = sqliteErrorCode(error) ?? 'unknown';
    if (code !== lastErrorCode) port.postMessage({ type: 'checkpoint_error', code, reason: (error as Error).message });
    lastErrorCode = code;
  }
}
db.close();
