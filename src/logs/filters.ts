import { ConfigError } from '../errors.js';
import type { LogRecord } from './parse.js';

export const LEVELS: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 };

export interface Filter {
  level: number | undefined;
  since: number | undefined;
  presentation: string | undefined;
  events: string[] | undefined;
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `500ms`, `30s`, `5m`, `1h`, `2d`; a bare number is seconds. */
export function parseDuration(value: string, flag: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(?:(ms|s|m|h|d)\s*)?$/.exec(value);
  if (!m) throw new ConfigError('BAD_FLAG', `Expected ${flag} to be a duration such as 30s, 5m or 1h, got \`${value}\`.`);
  return Number(m[1]) * UNITS[m[2] ?? 's']!;
}

/** `--since 1h` (relative to now) or an ISO date/time such as 2026-11-28T17:00:00Z. */
export function parseSince(value: string, now: number): number {
  if (/^\s*\d+(?:\.\d+)?\s*(ms|s|m|h|d)\s*$/.test(value)) return now - parseDuration(value, '--since');
  const t = /^\d{4}-\d\d-\d\d/.test(value.trim()) ? Date.parse(value.trim()) : Number.NaN;
  if (Number.isNaN(t)) {
    throw new ConfigError('BAD_FLAG', `Expected --since to be a duration such as 30m or 1h, or an ISO time such as 2026-11-28T17:00:00Z, got \`${value}\`.`);
  }
  return t;
}

export function parseLevel(value: string): number {
  const v = value.trim().toLowerCase();
  const n = LEVELS[v] ?? (/^\d+$/.test(v) ? Number(v) : undefined);
  if (n === undefined) throw new ConfigError('BAD_FLAG', `Expected --level to be one of ${Object.keys(LEVELS).join(', ')} or a number, got \`${value}\`.`);
  return n;
}

/** `feedback.marked`, a list `feedback.marked,job.lease_expired`, or a prefix `feedback` / `feedback.*`. */
export function parseEvents(value: string): string[] {
  const events = value.split(',').map((e) => e.trim().replace(/\.\*$/, '')).filter(Boolean);
  if (events.length === 0) throw new ConfigError('BAD_FLAG', `Expected --event to name an event such as feedback.marked, got \`${value}\`.`);
  return events;
}

function eventMatches(event: string | undefined, wanted: string[]): boolean {
  if (event === undefined) return false;
  return wanted.some((w) => event === w || (event.startsWith(w) && event.charCodeAt(w.length) === 46 /* . */));
}

export function isEmpty(filter: Filter): boolean {
  return filter.level === undefined && filter.since === undefined && filter.presentation === undefined && filter.events === undefined;
}

export function matches(record: LogRecord, filter: Filter): boolean {
  if (filter.level !== undefined && (record.level ?? 0) < filter.level) return false;
  if (filter.since !== undefined && (record.time === undefined || record.time < filter.since)) return false;
  if (filter.presentation !== undefined && record.presentationId !== filter.presentation) return false;
  if (filter.events !== undefined && !eventMatches(record.event, filter.events)) return false;
  return true;
}
