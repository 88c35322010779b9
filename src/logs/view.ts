import { once } from 'node:events';
import type { Writable } from 'node:stream';
import PinoPretty from 'pino-pretty';
import { isEmpty, matches, type Filter } from './filters.js';
import { GARBLED, parseLine } from './parse.js';

export interface Printer {
  line(line: string): void;
  /** Resolves when stdout has room again (a slow pager or pipe). */
  drain(): Promise<void> | undefined;
  readonly skipped: number;
}

export interface PrinterOptions {
  json: boolean;
  colour: boolean;
  filter: Filter;
}

// --json passes pino lines through untouched and turns the old stack's text lines into the same
// shape; the pretty view is pino-pretty's, on one line per entry.
export function createPrinter(out: Writable, options: PrinterOptions): Printer {
  const pretty = PinoPretty.prettyFactory({ colorize: options.colour, translateTime: 'SYS:standard', ignore: 'hostname', singleLine: true });
  const unfiltered = isEmpty(options.filter);
  let skipped = 0;
  return {
    line(line) {
      const record = parseLine(line);
      if (record === undefined) return;
      if (record === GARBLED) {
        skipped++;
        if (!options.json && unfiltered) out.write(`${line}\n`);
        return;
      }
      if (!matches(record, options.filter)) return;
      if (record.json) {
        out.write(options.json ? `${line.trim()}\n` : pretty(record.json));
        return;
      }
      const obj = { time: record.time, level: record.level, pid: record.pid, ...(record.event ? { event: record.event, presentationId: record.presentationId } : {}), msg: record.msg, format: 'text' };
      out.write(options.json ? `${JSON.stringify(obj)}\n` : pretty(obj));
    },
    drain() {
      return out.writableNeedDrain ? once(out, 'drain').then(() => undefined) : undefined;
    },
    get skipped() {
      return skipped;
    },
  };
}
