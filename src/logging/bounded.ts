import type { Writable } from 'node:stream';

// A destination that nobody reads (stdout into a pipe left unread) or that cannot take more (a
// full disk) must not make the supervisor buffer without end: beyond `limitBytes` queued in the
// stream, whole chunks of lines are dropped and counted, and the count is reported later.
export class BoundedLines {
  private droppedLines = 0;

  constructor(
    private stream: Writable,
    private readonly limitBytes: number,
  ) {}

  /** Writes the chunk (whole lines), or drops and counts it when the stream is backed up. */
  write(chunk: string | Buffer): boolean {
    if (this.stream.destroyed || this.stream.writableLength >= this.limitBytes) {
      this.droppedLines += countLines(chunk);
      return false;
    }
    this.stream.write(chunk);
    return true;
  }

  /** Has room for a report line. */
  get open(): boolean {
    return !this.stream.destroyed && this.stream.writableLength < this.limitBytes;
  }

  /** The lines dropped since the last call. */
  takeDropped(): number {
    const n = this.droppedLines;
    this.droppedLines = 0;
    return n;
  }

  /** Counts lines dropped elsewhere (a write that failed). */
  addDropped(n: number): void {
    this.droppedLines += n;
  }

  replace(stream: Writable): void {
    this.stream = stream;
  }
}

export function countLines(chunk: string | Buffer): number {
  let n = 0;
  if (typeof chunk === 'string') {
    for (let i = chunk.indexOf('\n'); i !== -1; i = chunk.indexOf('\n', i + 1)) n++;
  } else {
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) n++;
  }
  return Math.max(1, n);
}
