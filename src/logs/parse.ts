import { parseTextLine } from './text.js';

export type FeedbackEventName = 'feedback.started' | 'feedback.marked' | 'feedback.failed' | 'job.lease_expired';

/** One line, whatever wrote it, reduced to the fields the filters and the analysis use. */
export interface LogRecord {
  time: number | undefined;
  level: number | undefined;
  pid: number | undefined;
  event: string | undefined;
  presentationId: string | undefined;
  msg: string | undefined;
  /** The pino object for JSON lines; undefined for the old stack's plain text. */
  json: Record<string, unknown> | undefined;
}

/** The few fields of a feedback or job event that --duplicates needs. */
export interface FeedbackEvent {
  event: FeedbackEventName;
  time: number;
  pid: number;
  presentationId: string | undefined;
  jobId: string | undefined;
  version: string | undefined;
  attempt: number | undefined;
  lease: string | undefined;
  responseHash: string | undefined;
  final: boolean;
  error: string | undefined;
  previousLease: string | undefined;
  previousPid: number | undefined;
}

export const GARBLED = Symbol('garbled');

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

function timeOf(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') {
    const t = Date.parse(v);
    return Number.isNaN(t) ? undefined : t;
  }
  return undefined;
}

function parseJson(line: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(line);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Any line: undefined for a blank one, GARBLED for one that is neither pino JSON nor a known text format. */
export function parseLine(line: string): LogRecord | typeof GARBLED | undefined {
  const trimmed = line.trim();
  if (trimmed === '') return undefined;
  if (trimmed.charCodeAt(0) === 123 /* { */) {
    const o = parseJson(trimmed);
    if (!o) return GARBLED;
    return { time: timeOf(o.time), level: num(o.level), pid: num(o.pid), event: str(o.event), presentationId: str(o.presentationId), msg: str(o.msg), json: o };
  }
  const t = parseTextLine(trimmed);
  if (!t) return GARBLED;
  return { time: t.time, level: t.level, pid: t.pid, event: t.event, presentationId: t.presentationId, msg: t.msg, json: undefined };
}

function eventFromObject(o: Record<string, unknown>): FeedbackEvent | undefined {
  const event = o.event;
  if (event !== 'feedback.started' && event !== 'feedback.marked' && event !== 'feedback.failed' && event !== 'job.lease_expired') return undefined;
  return {
    event,
    time: timeOf(o.time) ?? 0,
    pid: num(o.pid) ?? 0,
    presentationId: str(o.presentationId),
    jobId: str(o.jobId),
    version: str(o.version),
    attempt: num(o.attempt),
    lease: str(o.lease),
    responseHash: str(o.responseHash),
    final: o.final === true,
    error: str(o.error),
    previousLease: str(o.previousLease),
    previousPid: num(o.previousPid),
  };
}

// The hot path of --duplicates: most lines are not feedback events, so a substring test decides
// before JSON.parse runs, and a JSON line that is not one is only checked for its closing brace.
export function feedbackEventFromLine(line: string): FeedbackEvent | typeof GARBLED | undefined {
  const first = line.charCodeAt(0);
  if (first === 123 /* { */) {
    if (line.includes('"feedback.') || line.includes('"job.')) {
      const o = parseJson(line);
      return o ? eventFromObject(o) : GARBLED;
    }
    let end = line.length - 1;
    while (end > 0 && (line.charCodeAt(end) === 13 || line.charCodeAt(end) === 32)) end--;
    return line.charCodeAt(end) === 125 /* } */ ? undefined : GARBLED;
  }
  if (line.length === 0 || (line.length < 3 && line.trim() === '')) return undefined;
  const t = parseTextLine(line.endsWith('\r') ? line.slice(0, -1) : line);
  if (!t) return line.trim() === '' ? undefined : GARBLED;
  if (t.event === undefined) return undefined;
  return {
    event: t.event,
    time: t.time,
    pid: t.pid,
    presentationId: t.presentationId,
    jobId: undefined,
    version: undefined,
    attempt: undefined,
    lease: undefined,
    responseHash: undefined,
    final: false,
    error: undefined,
    previousLease: undefined,
    previousPid: undefined,
  };
}
