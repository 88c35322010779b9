// Splits a byte stream into lines. One utf8 decode per chunk (up to its last newline) is much
// faster than one per line, and a character is never cut in half: the cut is at a newline.
export type LineHandler = (line: string) => void;

export class LineSplitter {
  private carry: Buffer[] = [];

  push(chunk: Buffer, onLine: LineHandler): void {
    const last = chunk.lastIndexOf(10);
    if (last === -1) {
      this.carry.push(chunk);
      return;
    }
    const text = this.carry.length === 0 ? chunk.toString('utf8', 0, last) : Buffer.concat([...this.carry, chunk.subarray(0, last)]).toString('utf8');
    this.carry = last + 1 < chunk.length ? [chunk.subarray(last + 1)] : [];
    let start = 0;
    for (;;) {
      const end = text.indexOf('\n', start);
      if (end === -1) {
        onLine(text.slice(start));
        return;
      }
      onLine(text.slice(start, end));
      start = end + 1;
    }
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
  return s.length < 13 ? s : Buffer.from(s, 'utf8').toString('utf8');
}
