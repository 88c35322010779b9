import type { CheckResult, DoctorEnv } from './types.js';

const ID = 'open-files';
const TITLE = 'Open-file limit';
/** Each connection is a descriptor; the database, WAL, logs and workers' IPC need more. */
export const MIN_OPEN_FILES = 4096;

/** Soft and hard "Max open files" from /proc/self/limits text. */
export function parseProcLimits(text: string): { soft: number; hard: number | undefined } | undefined {
  const match = /^Max open files\s+(\S+)\s+(\S+)/m.exec(text);
  if (!match) return undefined;
  const num = (s: string | undefined): number | undefined => (s === 'unlimited' ? Number.POSITIVE_INFINITY : s ? Number.parseInt(s, 10) : undefined);
  const soft = num(match[1]);
  return soft === undefined || Number.isNaN(soft) ? undefined : { soft, hard: num(match[2]) };
}

export async function checkOpenFiles(env: Pick<DoctorEnv, 'platform' | 'openFileLimit' | 'settings'>): Promise<CheckResult> {
  if (env.platform === 'win32') {
    return { id: ID, title: TITLE, status: 'pass', detail: 'Windows has no per-process open-file limit to raise.' };
  }
  const limit = await env.openFileLimit();
  if (!limit) {
    return { id: ID, title: TITLE, status: 'warn', detail: 'Could not read the open-file limit.', fix: `Check it with \`ulimit -n\`; raise it to at least ${MIN_OPEN_FILES} for production.` };
  }
  const show = (n: number): string => (n === Number.POSITIVE_INFINITY ? 'unlimited' : String(n));
  const hard = limit.hard !== undefined ? ` (hard limit ${show(limit.hard)})` : '';
  if (limit.soft < MIN_OPEN_FILES) {
    const systemd = 'LimitNOFILE=65535 in the [Service] section of the systemd unit';
    return {
      id: ID,
      title: TITLE,
      status: 'warn',
      detail: `${show(limit.soft)} open files allowed${hard}: each of the ${env.settings.workers > 1 ? `${env.settings.workers} workers'` : "worker's"} connections takes one, so the service refuses connections (EMFILE) under load; at least ${MIN_OPEN_FILES} is expected.`,
      fix: `Run \`ulimit -n 65535\` in the shell that starts serve (up to the hard limit), or set ${systemd}.`,
    };
  }
  return { id: ID, title: TITLE, status: 'pass', detail: `${show(limit.soft)} open files allowed${hard}.` };
}
