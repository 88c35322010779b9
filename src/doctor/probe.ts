import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import type { ProbeOutcome } from './types.js';

export const PROBE_SCRIPT = fileURLToPath(new URL('./probe-sqlite.js', import.meta.url));
export const PROBE_TIMEOUT_MS = 2500;

/** Runs a probe script (the real one, or a test fixture) in a child Node and collects what it did. */
export function createProbeRunner(script = PROBE_SCRIPT, options: { node?: string; timeoutMs?: number } = {}) {
  return async (dataDir: string): Promise<ProbeOutcome> => {
    const result = await execa(options.node ?? process.execPath, [script, dataDir], {
      reject: false,
      timeout: options.timeoutMs ?? PROBE_TIMEOUT_MS,
      stdin: 'ignore',
      // Doctor's own NODE_OPTIONS (e.g. --require hooks) must not change what the child loads.
      env: { NODE_OPTIONS: '' },
    });
    const started = result.exitCode !== undefined || result.signal !== undefined || result.timedOut;
    return {
      exitCode: result.exitCode,
      signal: result.signal,
      stdout: String(result.stdout ?? ''),
      stderr: String(result.stderr ?? ''),
      timedOut: result.timedOut,
      ...(started ? {} : { spawnError: result.shortMessage }),
    };
  };
}

export interface ProbeStep {
  name: string;
  ok: boolean;
  error?: string;
}

/** The probe's JSON lines folded into one record; lines that are not JSON are ignored. */
export interface ProbeReport {
  version?: string;
  path?: string;
  sqlite?: string;
  resolveError?: { code?: string; message: string };
  loadError?: { code?: string; message: string };
  steps?: ProbeStep[];
  /** The driver serve would use here, and why; the SQLite version it brings. */
  driver?: { name: string; reason: string; sqlite?: string };
  /** Neither driver can be used: the message and what to install. */
  noDriver?: { message: string; fix?: string };
  nodeSqlite?: { available: boolean; sqlite?: string };
}

export function parseProbe(stdout: string): ProbeReport {
  const report: ProbeReport = {};
  for (const line of stdout.split('\n')) {
    let event: Record<string, unknown>;
    try {
      event = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue;
    }
    if (typeof event.version === 'string') report.version = event.version;
    if (event.stage === 'resolved' && typeof event.path === 'string') report.path = event.path;
    if (event.stage === 'loaded' && typeof event.sqlite === 'string') report.sqlite = event.sqlite;
    if (event.stage === 'resolve-failed') report.resolveError = event.error as ProbeReport['resolveError'];
    if (event.stage === 'load-failed') report.loadError = event.error as ProbeReport['loadError'];
    if (event.stage === 'features' && Array.isArray(event.steps)) report.steps = event.steps as ProbeStep[];
    if (event.stage === 'driver' && typeof event.name === 'string') report.driver = { name: event.name, reason: String(event.reason ?? ''), ...(typeof event.sqlite === 'string' ? { sqlite: event.sqlite } : {}) };
    if (event.stage === 'no-driver') report.noDriver = event.error as ProbeReport['noDriver'];
    if (event.stage === 'node-sqlite') report.nodeSqlite = { available: event.available === true, ...(typeof event.sqlite === 'string' ? { sqlite: event.sqlite } : {}) };
  }
  return report;
}
