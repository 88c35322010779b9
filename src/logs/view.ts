import type { Writable } from 'node:stream';
import PinoPretty from 'pino-pretty';
import { isEmpty, matches, type Filter } from './filters.js';
import { GARBLED, parseLine } from './parse.js';
import { escapeC1, safeJson, visibleLine, visibleText } from './escape.js';

export interface Printer {
  /** `host`: names the host of a text line (its file), when several hosts' logs are merged. */
  line(line: string, host?: string): void;
  /** Resolves when stdout has room again (a slow pager or pipe). */
  drain(): Promise<void> | undefined;
  readonly skipped: number;
  /** Set when stdout failed (EPIPE: the reader is gone); nothing more is written. */
  readonly outputError: NodeJS.ErrnoException | undefined;
}

export interface PrinterOptions {
  json: boolean;
  colour: boolean;
  filter: Filter;
  /** Several hosts' logs merged: each line names its host. @default false */
  hosts?: boolean;
}

// pino-pretty prints these fields as they are; the others it JSON-encodes (which escapes C0 but
// not DEL and C1). So these get every control escaped, the others DEL and C1 (see escape.ts).
const PRINTED_RAW = new Set(['msg', 'time', 'level', 'pid', 'hostname', 'name', 'caller', 'stack']);

function sanitise(value: unknown, raw: boolean): unknown {
  if (typeof value === 'string') return raw ? visibleLine(value) : escapeC1(value);
  if (Array.isArray(value)) return value.map((v) => sanitise(v, false));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = sanitise(v, PRINTED_RAW.has(k));
    return out;
  }
  return value;
}

// --json passes pino lines through (raw DEL/C1 characters escaped, the same JSON) and turns the old
// stack's text lines into the same shape; the pretty view is pino-pretty's, on one line per entry.
// Nothing from a log line reaches the terminal as a control sequence.
export function createPrinter(out: Writable, options: PrinterOptions): Printer {
  const pretty = PinoPretty.prettyFactory({ colorize: options.colour, translateTime: 'SYS:standard', ignore: options.hosts ? '' : 'hostname', singleLine: true });
  const show = (record: Record<string, unknown>): string => visibleText(pretty(sanitise(record, false)), options.colour);
  const unfiltered = isEmpty(options.filter);
  let skipped = 0;
  let outputError: NodeJS.ErrnoException | undefined;
  out.on('error', (error: NodeJS.ErrnoException) => {
    outputError ??= error;
  });
  return {
    line(line, host) {
      if (outputError) return;
      const record = parseLine(line);
      if (record === undefined) return;
      if (record === GARBLED) {
        skipped++;
        if (!options.json && unfiltered) out.write(`${visibleLine(line)}\n`);
        return;
      }
      if (!matches(record, options.filter)) return;
      if (record.json) {
        out.write(options.json ? `${safeJson(line.trim())}\n` : show(record.json));
        return;
      }
      const obj = { time: record.time, level: record.level, pid: record.pid, ...(options.hosts && host !== undefined ? { hostname: host } : {}), ...(record.event ? { event: record.event, presentationId: record.presentationId } : {}), msg: record.msg, format: 'text' };
      out.write(options.json ? `${safeJson(JSON.stringify(obj))}\n` : show(obj));
    },
    drain() {
      if (outputError || !out.writableNeedDrain) return undefined;
      // a reader that goes away never drains: the error (or close) ends the wait too
      return new Promise((resolve) => {
        const done = (): void => {
          out.off('drain', done);
          out.off('error', done);
          out.off('close', done);
          resolve();
        };
        out.on('drain', done);
        out.on('error', done);
        out.on('close', done);
      });
    },
    get skipped() {
      return skipped;
    },
    get outputError() {
      return outputError;
    },
  };
}
