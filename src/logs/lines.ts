// Splits a byte stream into lines. One utf8 decode per chunk (up to its last newline) is much
// faster than one per line, and a character is never cut in half: the cut is at a newline.
export type LineHandler = (line: string) => void;

/** Lines longer than this are skipped and counted, never held: a 1 GB line would cost 2 GB. */
export const DEFAULT_MAX_LINE_BYTES = 1024 * 1024;

const WINDOW = 64 * 1024;

export interface SplitterOptions {
  /** @default DEFAULT_MAX_LINE_BYTES */
  maxLineBytes?: number;
  /** Told the size of each line skipped for being over the cap. */
  onOversized?: (bytes: number) => void;
}

export class LineSplitter {
  private carry: Buffer[] = [];
  private carryBytes = 0;
  // Inside a line over the cap: its bytes are counted and dropped until its newline.
  private skipping = false;
  private skippedBytes = 0;
  private readonly max: number;
  private readonly window: number;
  private readonly onOversized: ((bytes: number) => void) | undefined;
  /** Lines skipped for being longer than the cap. */
  oversized = 0;

  constructor(options: SplitterOptions = {}) {
    this.max = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    // a window without a long line holds only lines shorter than it, so shorter than the cap
    this.window = Math.min(WINDOW, this.max);
    this.onOversized = options.onOversized;
  }

  /** Bytes of an unfinished line held until its newline comes; never more than the cap. */
  get pendingBytes(): number {
    return this.carryBytes;
  }

  push(chunk: Buffer, onLine: LineHandler): void {
    let start = 0;
    if (this.skipping) {
      const nl = chunk.indexOf(10);
      if (nl === -1) {
        this.skippedBytes += chunk.length;
        return;
      }
      this.skip(this.skippedBytes + nl);
      start = nl + 1;
    }
    const last = chunk.lastIndexOf(10);
    if (last < start) {
      this.hold(chunk.subarray(start));
      return;
    }
    if (this.carryBytes > 0) {
      const nl = chunk.indexOf(10, start);
      if (this.carryBytes + nl - start > this.max) {
        this.skip(this.carryBytes + nl - start);
        start = nl + 1;
      }
    }
    // Decoded in windows of ~64 KB: a string over 128 KB goes to V8's large-object space, which
    // only a full GC frees, and a 1 GB read would grow the process by hundreds of MB.
    let from = start;
    while (from <= last) {
      let to = Math.min(from + this.window, last);
      if (to < last) {
        const nl = chunk.lastIndexOf(10, to);
        to = nl >= from ? nl : chunk.indexOf(10, to);
        // one line longer than a window: skipped undecoded when it is over the cap
        if (nl < from && to - from > this.max) {
          this.skip(to - from);
          from = to + 1;
          continue;
        }
      }
      let text: string;
      if (from === start && this.carry.length > 0) {
        text = Buffer.concat([...this.carry, chunk.subarray(from, to)]).toString('utf8');
        this.carry = [];
        this.carryBytes = 0;
      } else {
        text = chunk.toString('utf8', from, to);
      }
      let begin = 0;
      for (let end = text.indexOf('\n'); end !== -1; end = text.indexOf('\n', begin)) {
        onLine(text.slice(begin, end));
        begin = end + 1;
      }
      onLine(begin === 0 ? text : text.slice(begin));
      from = to + 1;
    }
    if (last + 1 < chunk.length) this.hold(chunk.subarray(last + 1));
  }

  /** The last line when the input did not end with a newline (a line cut off mid-write). */
  end(onLine: LineHandler): void {
    if (this.skipping) {
      this.skip(this.skippedBytes);
      return;
    }
    if (this.carry.length === 0) return;
    const rest = Buffer.concat(this.carry).toString('utf8');
    this.carry = [];
    this.carryBytes = 0;
    if (rest.length > 0) onLine(rest);
  }

  reset(): void {
    this.carry = [];
    this.carryBytes = 0;
    this.skipping = false;
    this.skippedBytes = 0;
  }

  // Keeps the start of an unfinished line, or drops it and skips to its end once it is over the cap.
  private hold(part: Buffer): void {
    if (this.carryBytes + part.length > this.max) {
      this.skipping = true;
      this.skippedBytes = this.carryBytes + part.length;
      this.carry = [];
      this.carryBytes = 0;
      return;
    }
    this.carry.push(part);
    this.carryBytes += part.length;
  }

  private skip(bytes: number): void {
    this.skipping = false;
    this.skippedBytes = 0;
    this.carry = [];
    this.carryBytes = 0;
    this.oversized++;
    this.onOversized?.(bytes);
  }
}

// A line is a slice of its whole chunk (up to 1 MB) and a field a slice of the line: keeping
// either in a Map would keep the chunk alive. Strings kept for later are copied out first.
export function own(s: string): string {
  // a concatenation is flattened into a new string by slice(): the copy, without a Buffer round trip
  return s.length < 13 ? s : `${s} `.slice(0, -1);
}
