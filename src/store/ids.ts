import { randomFillSync } from 'node:crypto';

// Row ids: UUID version 7 (RFC 9562), the creation time in milliseconds in the first 48 bits and
// 74 random bits after it. Ids made one after the other sort together, so a new presentation,
// job or feedback row goes into the index page the last one went into: with random (version 4)
// ids every insert of a batch dirtied a page of its own in each of the five id indexes, and each
// such page is written to the WAL (4 KiB) and read back from outside the cache. The 74 random
// bits keep ids unguessable; the time they carry is this host's clock at the insert, about the
// row's created_at that the API shows (on PostgreSQL created_at is the database's clock).

/** The ids the stores have made: version 4 (before 2026-11-29) and version 7. Nothing else is looked up. */
export const ROW_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[47][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
/**
 * Random bytes for many ids and tokens at a time, as randomUUID keeps its own: one fill per
 * 2.5 KiB instead of a call into OpenSSL per id (randomBytes(12): 2–3 µs each). Each byte is
 * handed out once.
 */
const POOL = Buffer.alloc(2560);
let used = POOL.length;

function take(n: number): number {
  if (used + n > POOL.length) {
    randomFillSync(POOL);
    used = 0;
  }
  const at = used;
  used += n;
  return at;
}

/** A job's lease token: 96 random bits in base64url (16 characters). */
export function newLeaseToken(): string {
  const at = take(12);
  return POOL.toString('base64url', at, at + 12);
}

export function newRowId(now: number = Date.now()): string {
  const r = take(10);
  const ms = Math.max(0, Math.floor(now));
  const high = Math.floor(ms / 0x1_0000_0000); // the top 16 of the 48 bits
  const low = ms >>> 0;
  const h = (b: number): string => HEX[b]!;
  return (
    h((high >>> 8) & 0xff) + h(high & 0xff) + h(low >>> 24) + h((low >>> 16) & 0xff) +
    '-' + h((low >>> 8) & 0xff) + h(low & 0xff) +
    '-' + h(0x70 | (POOL[r]! & 0x0f)) + h(POOL[r + 1]!) +
    '-' + h(0x80 | (POOL[r + 2]! & 0x3f)) + h(POOL[r + 3]!) +
    '-' + h(POOL[r + 4]!) + h(POOL[r + 5]!) + h(POOL[r + 6]!) + h(POOL[r + 7]!) + h(POOL[r + 8]!) + h(POOL[r + 9]!)
  );
}
