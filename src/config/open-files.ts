import { readFileSync } from 'node:fs';
import { parseProcLimits } from '../doctor/check-open-files.js';

/**
 * The open-file limit this process runs with, for the start-up line and EMFILE reports: Linux
 * only (/proc/self/limits); elsewhere undefined (`doctor` asks the shell). Node has no setrlimit,
 * so the soft limit cannot be raised from here: the service manager or the shell raises it.
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
