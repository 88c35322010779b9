import { parseTextLine } from './text.js';

export type FeedbackEventName = 'feedback.started' | 'feedback.marked' | 'feedback.failed' | 'job.lease_expired' | 'job.lease_lost';

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
  /** pino's hostname; undefined in the old stack's text (the reader names its file instead). */
  host: string | undefined;
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
  if (event !== 'feedback.started' && event !== 'feedback.marked' && event !== 'feedback.failed' && event !== 'job.lease_expired' && event !== 'job.lease_lost') return undefined;
  return {
    event,
    time: timeOf(o.time) ?? 0,
    pid: num(o.pid) ?? 0,
    host: str(o.hostname),
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

const NEEDS_PARSE = Symbol('needs JSON.parse');

function int(line: string, from: number, to: number): number | undefined {
  let n = 0;
  for (let i = from; i < to; i++) {
    const c = line.charCodeAt(i) - 48;
    if (c < 0 || c > 9) {
      const v = Number(line.slice(from, to));
      return Number.isFinite(v) ? v : undefined;
    }
    n = n * 10 + c;
  }
  return to > from ? n : undefined;
}

// One pass over a flat JSON object as pino writes it (JSON.stringify: no spaces), taking only the
// fields --duplicates needs: about 3x faster than JSON.parse and no garbage. Anything unusual
// (a nested object, an escape inside a wanted string, a broken structure) throws NEEDS_PARSE.
function scan(line: string): FeedbackEvent | undefined {
  const e: FeedbackEvent = {
    event: 'feedback.marked', time: 0, pid: 0, host: undefined, presentationId: undefined, jobId: undefined, version: undefined, attempt: undefined,
    lease: undefined, responseHash: undefined, final: false, error: undefined, previousLease: undefined, previousPid: undefined,
  };
  let event: string | undefined;
  let timeText: string | undefined;
  const n = line.length;
  let backslash = line.indexOf('\\');
  let i = 1;
  while (i < n) {
    if (line.charCodeAt(i) !== 34) throw NEEDS_PARSE;
    const keyEnd = line.indexOf('"', i + 1);
    if (keyEnd === -1 || line.charCodeAt(keyEnd + 1) !== 58 /* : */) throw NEEDS_PARSE;
    const key = i + 1;
    const keyLen = keyEnd - key;
    const v = keyEnd + 2;
    const c = line.charCodeAt(v);
    let end: number;
    let text: string | undefined;
    if (c === 34) {
      let q = line.indexOf('"', v + 1);
      let escaped = false;
      while (q !== -1 && line.charCodeAt(q - 1) === 92) {
        let k = q - 1;
        while (line.charCodeAt(k) === 92) k--;
        if ((q - 1 - k) % 2 === 0) break;
        escaped = true;
        q = line.indexOf('"', q + 1);
      }
      if (q === -1) throw NEEDS_PARSE;
      end = q + 1;
      while (backslash !== -1 && backslash < v) backslash = line.indexOf('\\', v);
      if (backslash !== -1 && backslash < q) escaped = true;
      text = escaped ? undefined : line.slice(v + 1, q);
    } else if (c === 123 || c === 91) {
      throw NEEDS_PARSE;
    } else {
      end = v;
      for (let d = line.charCodeAt(end); d !== 44 && d !== 125 && end < n; d = line.charCodeAt(++end));
    }
    switch (keyLen) {
      case 3:
        if (line.startsWith('pid', key)) e.pid = int(line, v, end) ?? 0;
        break;
      case 4:
        if (line.startsWith('time', key)) {
          if (c === 34) timeText = text;
          else e.time = int(line, v, end) ?? 0;
        }
        break;
      case 5:
        if (line.startsWith('event', key)) event = want(text, c);
        else if (line.startsWith('jobId', key)) e.jobId = want(text, c) ?? scalar(line, v, end);
        else if (line.startsWith('lease', key)) e.lease = want(text, c);
        else if (line.startsWith('final', key)) e.final = line.startsWith('true', v);
        else if (line.startsWith('error', key)) e.error = c === 34 ? (text ?? 'error') : undefined;
        break;
      case 8:
        if (line.startsWith('hostname', key)) e.host = want(text, c);
        break;
      case 7:
        if (line.startsWith('attempt', key)) e.attempt = int(line, v, end);
        else if (line.startsWith('version', key)) e.version = want(text, c) ?? scalar(line, v, end);
        break;
      case 11:
        if (line.startsWith('previousPid', key)) e.previousPid = int(line, v, end);
        break;
      case 12:
        if (line.startsWith('responseHash', key)) e.responseHash = want(text, c);
        break;
      case 13:
        if (line.startsWith('previousLease', key)) e.previousLease = want(text, c);
        break;
      case 14:
        if (line.startsWith('presentationId', key)) e.presentationId = want(text, c) ?? scalar(line, v, end);
        break;
    }
    const sep = line.charCodeAt(end);
    if (sep === 125 /* } */) {
      if (end !== n - 1) throw NEEDS_PARSE;
      break;
    }
    if (sep !== 44 /* , */) throw NEEDS_PARSE;
    i = end + 1;
  }
  if (event !== 'feedback.started' && event !== 'feedback.marked' && event !== 'feedback.failed' && event !== 'job.lease_expired' && event !== 'job.lease_lost') return undefined;
  e.event = event;
  if (timeText !== undefined) e.time = Date.parse(timeText) || 0;
  return e;
}

// a wanted string field: an escape in it is for JSON.parse to decode
function want(text: string | undefined, c: number): string | undefined {
  if (c !== 34) return undefined;
  if (text === undefined) throw NEEDS_PARSE;
  return text;
}

function scalar(line: string, from: number, to: number): string | undefined {
  const c = line.charCodeAt(from);
  return (c >= 48 && c <= 57) || c === 45 ? line.slice(from, to) : undefined;
}

function lastChar(line: string): number {
  let end = line.length - 1;
  while (end > 0 && (line.charCodeAt(end) === 13 || line.charCodeAt(end) === 32)) end--;
  return line.charCodeAt(end);
}

// The hot path of --duplicates: most lines are not feedback events, so one indexOf of `"event":"`
// (early in a pino line) decides whether a line is looked at all. Lines pino wrote are read by indexOf, without JSON.parse; a
// line is garbled when it does not end in "}" or holds the start of a second line (a write cut
// off mid-line, then the next line appended to it). Other JSON lines go through JSON.parse.
export function feedbackEventFromLine(line: string): FeedbackEvent | typeof GARBLED | undefined {
  const first = line.charCodeAt(0);
  if (first === 123 /* { */) {
    if (lastChar(line) !== 125 /* } */) return GARBLED;
    const at = line.indexOf('"event":"');
    if (at !== -1 && !line.startsWith('feedback.', at + 9) && !line.startsWith('job.', at + 9)) return undefined;
    if (at !== -1) {
      if (line.indexOf('{"level":', 1) !== -1) return GARBLED;
      try {
        return scan(line.charCodeAt(line.length - 1) === 125 ? line : line.trimEnd());
      } catch {
        // an escaped string: let JSON.parse read it
      }
    } else if (!line.includes('"feedback.') && !line.includes('"job.')) {
      return undefined;
    }
    const o = parseJson(line);
    return o ? eventFromObject(o) : GARBLED;
  }
  if (line.length === 0 || (line.length < 3 && line.trim() === '')) return undefined;
  const t = parseTextLine(line.endsWith('\r') ? line.slice(0, -1) : line);
  if (!t) return line.trim() === '' ? undefined : GARBLED;
  if (t.event === undefined) return undefined;
  return {
    event: t.event,
    time: t.time,
    pid: t.pid,
    host: undefined,
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
