import { readFileSync } from 'node:fs';
import { parseProcLimits } from '../doctor/check-open-files.js';

/**
 * The open-file limit this process runs with, for the start-up line and EMFILE reports: Linux
 * only (/proc/self/limits); elsewhere undefined (`doctor` asks the shell). Node itself raises the
 * soft limit to the hard one at start-up on POSIX (src/node.cc, PlatformInit), so the hard limit is
 * what counts: the service manager (LimitNOFILE=) or the shell (ulimit -Hn) sets it.
 */
export function openFileLimit(): { soft: number | null; hard: number | null } | undefined {
  if (process.platform !== 'linux') return undefined;
  let text: string;
  try {
    text = readFileSync('/proc/self/limits', 'utf8');
  } catch {
    return undefined;
  }
  const limit = parseProcLimits(text);
  // JSON has no Infinity: null is "unlimited"
  const finite = (n: number | undefined): number | null => (n === undefined || !Number.isFinite(n) ? null : n);
  return limit ? { soft: finite(limit.soft), hard: finite(limit.hard) } : undefined;
}
