import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkOpenFiles, parseProcLimits } from '../dist/doctor/check-open-files.js';
import { checkResources } from '../dist/doctor/check-resources.js';
import { doctorEnv, settings } from './helpers/doctor.js';

const GB = 1024 ** 3;
const machine = (cores, freeBytes, s) => doctorEnv({ cpuCount: () => cores, freeMemoryBytes: () => freeBytes, settings: settings(s) });

test('2 workers on 1 core warns', async () => {
  const r = await checkResources(machine(1, 8 * GB, { profile: 'advanced', workers: 2, threads: 2 }));
  assert.equal(r.status, 'warn');
  assert.match(r.detail, /Profile advanced: 2 workers on 1 core:/);
  assert.match(r.fix, /--workers 1 or the safe profile/);
});

test('memory per worker against free memory', async () => {
  const r = await checkResources(machine(8, 150 * 1024 ** 2, { profile: 'advanced', workers: 2 }));
  assert.equal(r.status, 'warn');
  assert.match(r.detail, /the workers need about 200 MB \(100 MB each\) but only 150 MB is free/);
});

test('one worker on two cores with memory passes; no-fork counts one process', async () => {
  assert.equal((await checkResources(machine(2, 8 * GB, { workers: 1 }))).status, 'pass');
  const r = await checkResources(machine(1, 8 * GB, { profile: 'windows', workers: 1, fork: false }));
  assert.match(r.detail, /1 worker × 4 job slots on 1 core/);
});

test('an open-file limit of 1024 warns with ulimit and systemd fixes', async () => {
  const r = await checkOpenFiles(doctorEnv({ platform: 'linux', openFileLimit: async () => ({ soft: 1024, hard: 524288 }) }));
  assert.equal(r.status, 'warn');
  assert.match(r.detail, /^1024 open files allowed \(hard limit 524288\)/);
  assert.match(r.fix, /ulimit -n 65535/);
  assert.match(r.fix, /LimitNOFILE=65535/);
});

test('a high limit passes; windows has none; unreadable warns', async () => {
  assert.equal((await checkOpenFiles(doctorEnv({ platform: 'linux', openFileLimit: async () => ({ soft: 65535, hard: 65535 }) }))).status, 'pass');
  assert.equal((await checkOpenFiles(doctorEnv({ platform: 'win32' }))).status, 'pass');
  assert.equal((await checkOpenFiles(doctorEnv({ platform: 'darwin', openFileLimit: async () => undefined }))).status, 'warn');
});

test('parseProcLimits reads /proc/self/limits', () => {
  const text = 'Limit                     Soft Limit           Hard Limit           Units     \nMax open files            1024                 4096                 files     \n';
  assert.deepEqual(parseProcLimits(text), { soft: 1024, hard: 4096 });
  assert.deepEqual(parseProcLimits('Max open files  unlimited  unlimited  files'), { soft: Infinity, hard: Infinity });
  assert.equal(parseProcLimits('nothing'), undefined);
});
