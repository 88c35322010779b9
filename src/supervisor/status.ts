import { redactDatabaseUrl } from '../store/database-url.js';
import type { Settings } from '../config/defaults.js';
import type { LoadSample } from '../worker/sampler.js';
import type { ServiceStats } from '../worker/service.js';
import type { SlotTable } from './slots.js';
import type { WorkerProcess } from './worker-process.js';

export interface WorkerStatus {
  id: number;
  slot: number;
  pid: number | undefined;
  /**
   * ready, unresponsive (ready, but its event loop has missed heartbeats: killed at --timeout),
   * starting (a new or replacement worker), stopping (retiring), restarting (backoff, no process)
   */
  state: 'ready' | 'unresponsive' | 'starting' | 'stopping' | 'restarting';
  uptimeSec: number;
  restarts: number;
  rssBytes: number | null;
  activeJobs: number | null;
  /** Over the second before its last heartbeat: CPU in % of one core, requests/s, event-loop delay p99. */
  cpuPercent: number | null;
  requestsPerSec: number | null;
  eventLoopDelayMs: number | null;
  /** Why this slot's previous worker went: `signal SIGKILL`, `hung`, `recycled: max-memory`, … */
  lastExit: string | null;
}

export interface SupervisorStatus {
  pid: number;
  profile: string;
  host: string;
  port: number;
  dataDir: string;
  /** `sqlite` (in the data dir) or the PostgreSQL URL without its password. */
  store: string;
  /** The SQLite driver and why it was chosen; null with PostgreSQL. */
  sqliteDriver: { name: string; reason: string } | null;
  startedAt: string;
  uptimeSec: number;
  mode: 'cluster' | 'single';
  workers: WorkerStatus[];
  /** Feedback jobs waiting in the (shared) queue, as a worker last counted them. */
  queueDepth: number | null;
}

export type StatsOf = (proc: WorkerProcess) => Promise<Pick<ServiceStats, 'rssBytes' | 'activeJobs'> | undefined>;

export function baseStatus(settings: Settings, startedAt: number, now: number): Omit<SupervisorStatus, 'mode' | 'workers' | 'queueDepth'> {
  return {
    pid: process.pid,
    profile: settings.profile,
    host: settings.host,
    port: settings.port,
    dataDir: settings.dataDir,
    store: settings.databaseUrl ? redactDatabaseUrl(settings.databaseUrl) : 'sqlite',
    sqliteDriver: settings.databaseUrl ? null : { name: settings.sqliteDriver, reason: settings.sqliteDriverReason },
    startedAt: new Date(startedAt).toISOString(),
    uptimeSec: Math.round((now - startedAt) / 1000),
  };
}

/** `node:sqlite (better-sqlite3 not installed)`, as the start-up line and `status` say it. */
export function describeDriver(driver: { name: string; reason: string }): string {
  return driver.reason ? `${driver.name} (${driver.reason})` : driver.name;
}

// One row per live worker process, whatever its role (so the rows are exactly the children that
// are alive), plus a pid-less row for a slot waiting out a restart backoff.
export async function workerRows(
  table: SlotTable<WorkerProcess>,
  history: (slot: number) => { readonly restarts: number; readonly lastExit: string | undefined },
  now: number,
  statsOf: StatsOf,
  unresponsive: (proc: WorkerProcess) => boolean = () => false,
  extra: { load?: (proc: WorkerProcess) => LoadSample | undefined } = {},
): Promise<WorkerStatus[]> {
  const rows = table.workers().map(async ({ slot, worker: proc, role, ready }): Promise<WorkerStatus> => {
    const stats = role === 'retiring' ? undefined : await statsOf(proc);
    return {
      id: proc.id,
      slot,
      pid: proc.pid,
      state: role === 'retiring' ? 'stopping' : !ready ? 'starting' : unresponsive(proc) ? 'unresponsive' : 'ready',
      uptimeSec: Math.round((now - proc.startedAt) / 1000),
      restarts: history(slot).restarts,
      rssBytes: stats?.rssBytes ?? null,
      activeJobs: stats?.activeJobs ?? null,
      ...loadFields(role === 'retiring' ? undefined : extra.load?.(proc)),
      lastExit: history(slot).lastExit ?? null,
    };
  });
  const waiting: WorkerStatus[] = [];
  for (let slot = 0; slot < table.size; slot++) {
    if (table.isRestartArmed(slot)) {
      waiting.push({ id: 0, slot, pid: undefined, state: 'restarting', uptimeSec: 0, restarts: history(slot).restarts, rssBytes: null, activeJobs: null, ...loadFields(undefined), lastExit: history(slot).lastExit ?? null });
    }
  }
  return [...(await Promise.all(rows)), ...waiting].sort((a, b) => a.slot - b.slot);
}

export function loadFields(load: LoadSample | undefined): Pick<WorkerStatus, 'cpuPercent' | 'requestsPerSec' | 'eventLoopDelayMs'> {
  return { cpuPercent: load?.cpuPercent ?? null, requestsPerSec: load?.requestsPerSec ?? null, eventLoopDelayMs: load?.eventLoopDelayMs ?? null };
}
