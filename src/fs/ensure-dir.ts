import { mkdirSync, statSync, type Stats } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

// `mkdir(path, { recursive: true })` never returns under /proc or /sys: the kernel answers ENOENT
// for a child of an existing directory, and Node's recursive mkdir reads ENOENT as "make the
// parent first" and retries forever, at 100 % CPU, in C++ (the sync call freezes the thread, the
// async one a libuv pool thread; no timer can stop either). mkdirp's manual mode loops the same
// way. So: walk up to the nearest existing directory, then create each missing level once; any
// error is final. The work is bounded by the path's depth.

const errnoError = (code: string, message: string, path: string): NodeJS.ErrnoException => Object.assign(new Error(`${code}: ${message}, mkdir '${path}'`), { code, path, syscall: 'mkdir' });

/** The existing directory that answered ENOENT to a new child (a virtual file system such as /proc or /sys), if that is what failed. */
export function refusingParent(error: unknown): string | undefined {
  const parent = (error as { refusingParent?: unknown })?.refusingParent;
  return typeof parent === 'string' ? parent : undefined;
}

// The missing levels of `target`, outermost first; throws when an existing level is not a directory.
function missingLevels(target: string, statOf: (p: string) => Stats | undefined): string[] {
  const missing: string[] = [];
  for (let p = target; ; p = dirname(p)) {
    const st = statOf(p);
    if (st) {
      if (!st.isDirectory()) throw errnoError(p === target ? 'EEXIST' : 'ENOTDIR', p === target ? 'file already exists' : 'not a directory', target);
      return missing.reverse();
    }
    missing.push(p);
    if (dirname(p) === p) return missing.reverse();
  }
}

function final(error: unknown, dir: string): never {
  const e = error as NodeJS.ErrnoException;
  // The parent was there a moment ago (we walked up to it), so ENOENT means it takes no children.
  if (e.code === 'ENOENT') Object.assign(e, { refusingParent: dirname(dir), message: `${e.message} (${dirname(dir)} does not accept new directories)` });
  throw e;
}

const statSyncOrUndefined = (p: string): Stats | undefined => {
  try {
    return statSync(p);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
};

/** mkdir -p that always returns: true when it created the directory, false when it was there. */
export function ensureDirSync(path: string): boolean {
  const missing = missingLevels(resolve(path), statSyncOrUndefined);
  for (const dir of missing) {
    try {
      mkdirSync(dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST' && statSyncOrUndefined(dir)?.isDirectory()) continue; // created meanwhile
      final(error, dir);
    }
  }
  return missing.length > 0;
}

/** The same, off the main thread (each step is one fs call in libuv's pool). */
export async function ensureDir(path: string): Promise<boolean> {
  const target = resolve(path);
  // Stat every level first (there are few), then reuse the synchronous walk on the answers.
  const stats = new Map<string, Stats | undefined>();
  for (let p = target; ; p = dirname(p)) {
    const st = await stat(p).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw error;
    });
    stats.set(p, st);
    if (st || dirname(p) === p) break;
  }
  const missing = missingLevels(target, (p) => stats.get(p));
  for (const dir of missing) {
    try {
      await mkdir(dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST' && (await stat(dir).catch(() => undefined))?.isDirectory()) continue;
      final(error, dir);
    }
  }
  return missing.length > 0;
}
