import { InvalidCursorError } from './types.js';

// The admin list's paging cursor, the same for both stores: base64url of "<created_at>|<uuid>".
// Only what encodeCursor makes is accepted, encoded canonically: anything else is
// InvalidCursorError (HTTP 400), never a query with odd values.

/** Where a page starts: below (createdAt, id); the first page starts above everything. */
export function decodeCursor(cursor: string | undefined): { at: number; id: string } {
  if (!cursor) return { at: Number.MAX_SAFE_INTEGER, id: '\u{10FFFF}' };
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const parts = /^(\d{1,16})\|([0-9a-f-]{36})$/.exec(text);
  if (!parts || Buffer.from(text).toString('base64url') !== cursor) throw new InvalidCursorError();
  return { at: Number(parts[1]), id: parts[2] ?? '' };
}

export function encodeCursor(createdAt: number, id: string): string {
  return Buffer.from(`${createdAt}|${id}`).toString('base64url');
}
