// Splits a byte stream into lines. One utf8 decode per chunk (up to its last newline) is much
// faster than one per line, and a character is never cut in half: the cut is at a newline.
export type LineHandler = (line: string) => void;

const WINDOW = 64 * 1024;

export class LineSplitter {
  private carry: Buffer[] = [];

  push(chunk: Buffer, onLine: LineHandler): void {
    const last = chunk.lastIndexOf(10);
    if (last === -1) {
      this.carry.push(chunk);
      return;
    }
    // Decoded in windows of ~64 KB: a string over 128 KB goes to V8's large-object space, which
    // only a full GC frees, and a 1 GB read would grow the process by hundreds of MB.
    let from = 0;
    while (from <= last) {
      let to = Math.min(from + WINDOW, last);
      if (to < last) {
        const nl = chunk.lastIndexOf(10, to);
        to = nl >= from ? nl : chunk.indexOf(10, to);
      }
      let text: string;
      if (from === 0 && this.carry.length > 0) {
        text = Buffer.concat([...this.carry, chunk.subarray(0, to)]).toString('utf8');
        this.carry = [];
      } else {
        text = chunk.toString('utf8', from, to);
      }
      let start = 0;
      for (let end = text.indexOf('\n'); end !== -1; end = text.indexOf('\n', start)) {
        onLine(text.slice(start, end));
        start = end + 1;
      }
      onLine(start === 0 ? text : text.slice(start));
      from = to + 1;
    }
    this.carry = last + 1 < chunk.length ? [chunk.subarray(last + 1)] : [];
  }

  /** The last line when the input did not end with a newline (a line cut off mid-write). */
  end(onLine: LineHandler): void {
    if (this.carry.length === 0) return;
    const rest = Buffer.concat(this.carry).toString('utf8');
    this.carry = [];
    if (rest.length > 0) onLine(rest);
  }

  reset(): void {
    this.carry = [];
  }
}

// A line is a slice of its whole chunk (up to 1 MB) and a field a slice of the line: keeping
// either in a Map would keep the chunk alive. Strings kept for later are copied out first.
export function own(s: string): string {
  // a concatenation is flattened into a new string by slice(): the copy, without a Buffer round trip
  return s.length < 13 ? s : `${s} `.slice(0, -1);
}
