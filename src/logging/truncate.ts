import { closeSync, fstatSync, ftruncateSync, openSync, readSync } from 'node:fs';

// A write cut short by a full disk leaves half a line at the end of the log; `logs` and any JSON
// reader would trip on it. Cut the file back to its last newline before writing again.
export function truncatePartialLine(file: string): void {
  let fd: number;
  try {
    fd = openSync(file, 'r+');
  } catch {
    return; // no file yet
  }
  try {
    const size = fstatSync(fd).size;
    const tail = Buffer.alloc(Math.min(size, 1 << 20));
    if (tail.length === 0) return;
    readSync(fd, tail, 0, tail.length, size - tail.length);
    if (tail[tail.length - 1] === 10) return;
    const last = tail.lastIndexOf(10);
    ftruncateSync(fd, last === -1 ? size - tail.length : size - tail.length + last + 1);
  } finally {
    closeSync(fd);
  }
}
