import { open, stat, type FileHandle } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { LineSplitter, type LineHandler } from './lines.js';

export interface FollowOptions {
  path: string;
  onLine: LineHandler;
  signal: AbortSignal;
  /** @default 200 */
  pollMs?: number;
  afterChunk?: () => Promise<void> | undefined;
  /** Longer lines are skipped; told each one's size. @default DEFAULT_MAX_LINE_BYTES */
  maxLineBytes?: number;
  onOversized?: (bytes: number) => void;
}

const CHUNK = 256 * 1024;

// Polls with stat rather than fs.watch: watch events are unreliable on network drives, WSL's
// /mnt and Docker mounts, and a stat every 200 ms costs nothing. The file is the same file while
// its inode is; a new inode means it was rotated (renamed, a new one created), a smaller size
// means it was truncated.
export async function follow(options: FollowOptions): Promise<void> {
  const { path, onLine, signal } = options;
  const pollMs = options.pollMs ?? 200;
  const splitter = new LineSplitter({ maxLineBytes: options.maxLineBytes, onOversized: options.onOversized });
  let fh: FileHandle | undefined;
  let ino = 0;
  let dev = 0;
  let pos = 0;

  const reopen = async (): Promise<boolean> => {
    try {
      fh = await open(path, 'r');
    } catch {
      return false;
    }
    const st = await fh.stat();
    ino = st.ino;
    dev = st.dev;
    pos = 0;
    splitter.reset();
    return true;
  };

  const readToEnd = async (handle: FileHandle): Promise<void> => {
    for (;;) {
      const buffer = Buffer.allocUnsafe(CHUNK);
      const { bytesRead } = await handle.read(buffer, 0, CHUNK, pos);
      if (bytesRead === 0) return;
      pos += bytesRead;
      splitter.push(buffer.subarray(0, bytesRead), onLine);
      const wait = options.afterChunk?.();
      if (wait) await wait;
      if (signal.aborted) return;
    }
  };

  try {
    while (!signal.aborted) {
      if (!fh && !(await reopen())) {
        await pause(pollMs, signal);
        continue;
      }
      const handle = fh!;
      await readToEnd(handle);
      const now = await stat(path).catch(() => undefined);
      if (now && (now.ino !== ino || now.dev !== dev)) {
        // rotated: finish the old file (the writer may have added a last line), then take the new one
        await readToEnd(handle);
        splitter.end(onLine);
        await handle.close();
        fh = undefined;
        continue;
      }
      const size = (await handle.stat()).size;
      if (size < pos) {
        pos = 0;
        splitter.reset();
        continue;
      }
      await pause(pollMs, signal);
    }
  } finally {
    await fh?.close();
  }
}

async function pause(ms: number, signal: AbortSignal): Promise<void> {
  try {
    await sleep(ms, undefined, { signal });
  } catch {
    // aborted: the loop condition ends the follow
  }
}
