// Splits a byte stream into lines. One utf8 decode per chunk (up to its last newline) is much
// faster than a decode per line, and a multi-byte character can never be cut in half.
export type LineHandler = (line: string) => void;

export class LineSplitter {
  private carry: Buffer[] = [];

  push(chunk: Buffer, onLine: LineHandler): void {
    const last = chunk.lastIndexOf(10);
    if (last === -1) {
      this.carry.push(chunk);
      return;
    }
    const head = chunk.subarray(0, last);
    const text = (this.carry.length === 0 ? head : Buffer.concat([...this.carry, head])).toString('utf8');
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
