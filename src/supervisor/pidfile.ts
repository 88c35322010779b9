import { chmodSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const PID_FILE = 'presenter.pid';

export type PidState = { state: 'none' } | { state: 'running'; pid: number } | { state: 'stale'; pid: number | undefined; file: string };

/** Whether a process with this pid exists (EPERM: it does, owned by another user). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** What the data dir's pid file says: nothing, a live supervisor, or a stale file. */
export function readPidFile(dataDir: string): PidState {
  const file = join(dataDir, PID_FILE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return { state: 'none' };
  }
  const pid = Number.parseInt(text.trim(), 10);
  if (!Number.isInteger(pid) || pid <= 0) return { state: 'stale', pid: undefined, file };
  return isAlive(pid) ? { state: 'running', pid } : { state: 'stale', pid, file };
}

export function writePidFile(dataDir: string, pid: number): void {
  const file = join(dataDir, PID_FILE);
  writeFileSync(file, `${pid}\n`, { mode: 0o600 });
  if (process.platform !== 'win32') chmodSync(file, 0o600);
}

/** The pid the pid file names, whether or not it is alive. */
export function pidFromFile(dataDir: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(join(dataDir, PID_FILE), 'utf8').trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

export function removePidFile(dataDir: string): void {
  rmSync(join(dataDir, PID_FILE), { force: true });
}
