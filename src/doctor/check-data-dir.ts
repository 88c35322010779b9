import { refusingParent } from '../fs/ensure-dir.js';
import type { CheckResult, DoctorEnv } from './types.js';

const ID = 'data-dir';
const TITLE = 'Data dir writable, free space';
const GB = 1024 ** 3;
const MB = 1024 ** 2;
export const WARN_FREE_BYTES = 1 * GB;
export const FAIL_FREE_BYTES = 100 * MB;

const human = (bytes: number): string => (bytes >= GB ? `${(bytes / GB).toFixed(1)} GB` : `${Math.round(bytes / MB)} MB`);

export async function checkDataDir(env: Pick<DoctorEnv, 'settings' | 'fs'>): Promise<CheckResult> {
  const dir = env.settings.dataDir;
  const fail = (detail: string, fix: string): CheckResult => ({ id: ID, title: TITLE, status: 'fail', detail, fix });
  let created: boolean;
  try {
    created = await env.fs.ensureDir(dir);
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    const parent = refusingParent(e);
    const why = e.code === 'ENOTDIR' || e.code === 'EEXIST' ? ' (a file is in the way)' : parent ? ` (${parent} does not accept new directories: a virtual file system such as /proc or /sys)` : '';
    return fail(`Cannot create ${dir}: ${e.code ?? e.message}${why}.`, 'Choose a data dir that can be created (--data-dir or PRESENTER_DATA_DIR), or create it and give the service user write access.');
  }
  try {
    await env.fs.writeTest(dir);
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    const why = e.code === 'EROFS' ? 'the file system is read-only' : e.code === 'EACCES' || e.code === 'EPERM' ? 'permission denied' : (e.code ?? e.message);
    return fail(`${dir} is not writable: ${why}.`, `Give the user that runs presenter-serve write access (e.g. \`chown -R $USER ${dir}\`), or choose another dir with --data-dir.`);
  }
  const note = created ? ` (created it: it did not exist)` : '';
  let free: number;
  try {
    free = (await env.fs.statfs(dir)).freeBytes;
  } catch (error) {
    return { id: ID, title: TITLE, status: 'warn', detail: `${dir} is writable${note}, but its free space could not be read: ${(error as Error).message}.`, fix: 'Check the free space with `df -h` yourself.' };
  }
  const writable = `${dir} is writable${note}; ${human(free)} free`;
  if (free < FAIL_FREE_BYTES) {
    return fail(`${writable}: less than ${human(FAIL_FREE_BYTES)}, SQLite writes and log rotation will fail soon.`, 'Free disk space, or move the data dir to a larger disk (--data-dir / PRESENTER_DATA_DIR).');
  }
  if (free < WARN_FREE_BYTES) {
    return { id: ID, title: TITLE, status: 'warn', detail: `${writable}: less than ${human(WARN_FREE_BYTES)}.`, fix: 'Free disk space, or move the data dir to a larger disk (--data-dir / PRESENTER_DATA_DIR).' };
  }
  return { id: ID, title: TITLE, status: 'pass', detail: `${writable}.` };
}
