import type { CheckResult, DoctorEnv } from './types.js';

const ID = 'resources';
const TITLE = 'Workers vs cores and memory';
/** Resident memory one worker needs with headroom (Fastify + better-sqlite3 + job slots). */
export const MB_PER_WORKER = 100;

// Workers and their memory against this machine's cores and free memory.
export async function checkResources(env: Pick<DoctorEnv, 'settings' | 'cpuCount' | 'freeMemoryBytes'>): Promise<CheckResult> {
  const { workers, threads, fork, profile } = env.settings;
  const cores = env.cpuCount();
  const freeMb = Math.floor(env.freeMemoryBytes() / 1024 ** 2);
  const processes = fork ? workers : 1;
  const needMb = processes * MB_PER_WORKER;
  const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
  const facts = `${plural(processes, 'worker')} × ${threads} job slots on ${plural(cores, 'core')}; ~${needMb} MB needed, ${freeMb} MB free`;
  const problems: string[] = [];
  const fixes: string[] = [];
  if (processes > cores) {
    problems.push(`${plural(processes, 'worker')} on ${plural(cores, 'core')}: the workers compete for CPU and each one adds memory, with no gain`);
    fixes.push(`use --workers ${Math.max(1, cores)} or the safe profile`);
  }
  if (needMb > freeMb) {
    problems.push(`the workers need about ${needMb} MB (${MB_PER_WORKER} MB each) but only ${freeMb} MB is free`);
    fixes.push('free memory or run fewer workers (--workers)');
  }
  if (problems.length > 0) {
    return { id: ID, title: TITLE, status: 'warn', detail: `Profile ${profile}: ${problems.join('; ')}.`, fix: `${fixes.join('; ')}.`.replace(/^./, (c) => c.toUpperCase()) };
  }
  return { id: ID, title: TITLE, status: 'pass', detail: `Profile ${profile}: ${facts}.` };
}
