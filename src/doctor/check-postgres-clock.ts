import { pgFacts, serverGate, type PgEnv } from './check-postgres.js';
import type { CheckResult } from './types.js';

const ID = 'postgres-clock';
const TITLE = 'Clock skew to PostgreSQL';
export const CLOCK_WARN_MS = 1000;
export const CLOCK_FAIL_MS = 10_000;

const human = (ms: number): string => (ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${ms} ms`);

// Leases and retry times come from the database's clock, so skew cannot break a job; but every
// host stamps its log lines with its own clock, and `logs` merges several hosts' files by time.
export async function checkPostgresClock(env: PgEnv): Promise<CheckResult> {
  const f = await pgFacts(env);
  if (!f.clock) return serverGate(f, ID, TITLE, 'the database clock') ?? { id: ID, title: TITLE, status: 'fail', detail: 'The database clock was not read.', fix: 'Run doctor again.' };
  const { skewMs, uncertaintyMs } = f.clock;
  const way = skewMs >= 0 ? 'ahead of' : 'behind';
  const seen = `The database clock is ${human(Math.abs(skewMs))} ${way} this host's (± ${uncertaintyMs} ms)`;
  // only what is certainly skew: half the round trip may be network, not clock
  const sure = Math.abs(skewMs) - uncertaintyMs;
  if (sure <= CLOCK_WARN_MS) return { id: ID, title: TITLE, status: 'pass', detail: `${seen}.` };
  return {
    id: ID,
    title: TITLE,
    status: sure > CLOCK_FAIL_MS ? 'fail' : 'warn',
    detail: `${seen}. Leases and retries use the database's clock, so jobs stay safe; but each host stamps its log lines with its own clock, so \`logs\` over several hosts' files puts their lines out of order by up to that much, and log times do not match the database's (above ${human(CLOCK_FAIL_MS)} a lease takeover can no longer be read from the logs).`,
    fix: 'Synchronise this host and the database server with NTP: `timedatectl set-ntp true` (systemd-timesyncd) or chrony; `timedatectl status` should say "System clock synchronized: yes" on both.',
  };
}
