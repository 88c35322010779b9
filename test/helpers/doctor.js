// A DoctorEnv for in-process check tests: the real machine's values, overridable per test.
import { availableParallelism, freemem } from 'node:os';
import { defaultSettings } from '../../dist/config/defaults.js';
import { httpGet, listenOnce, realFs } from '../../dist/doctor/env.js';
import { createProbeRunner } from '../../dist/doctor/probe.js';
import { probePostgres } from '../../dist/doctor/probe-postgres.js';

export function settings(overrides = {}) {
  const s = defaultSettings();
  return { ...s, ...overrides, ai: { ...s.ai, ...(overrides.ai ?? {}) } };
}

export function doctorEnv(overrides = {}) {
  return {
    settings: settings(),
    nodeVersion: process.versions.node,
    platform: process.platform,
    arch: process.arch,
    env: {},
    now: () => Date.now(),
    readSystemFile: () => undefined,
    cpuCount: () => availableParallelism(),
    freeMemoryBytes: () => freemem(),
    fs: realFs,
    probeSqlite: createProbeRunner(),
    listen: listenOnce,
    openFileLimit: async () => ({ soft: 65535, hard: 65535 }),
    http: httpGet,
    probePostgres: (url) => probePostgres(url),
    ...overrides,
  };
}

/** A probe outcome as the runner returns it, from the probe's JSON events. */
export function outcome(events, extra = {}) {
  return { exitCode: 0, signal: undefined, stdout: events.map((e) => JSON.stringify(e)).join('\n'), stderr: '', timedOut: false, ...extra };
}

export const FIXTURES = new URL('../fixtures/doctor/', import.meta.url);
