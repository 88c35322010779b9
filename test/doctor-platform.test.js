import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkPlatform } from '../dist/doctor/check-platform.js';
import { doctorEnv, settings } from './helpers/doctor.js';

test('linux: auto picks safe', async () => {
  const r = await checkPlatform(doctorEnv({ platform: 'linux', arch: 'x64', readSystemFile: () => 'Linux version 6.1.0', settings: settings({ profile: 'safe', profileReason: 'auto: platform is linux' }) }));
  assert.equal(r.status, 'pass');
  assert.match(r.detail, /^linux \(x64\); profile safe \(auto: platform is linux\); auto picks safe here\.$/);
});

test('WSL is named, with the data-dir advice', async () => {
  const r = await checkPlatform(doctorEnv({ platform: 'linux', arch: 'x64', readSystemFile: () => 'Linux version 5.15.90.1-microsoft-standard-WSL2', settings: settings() }));
  assert.match(r.detail, /^linux under WSL \(x64\)/);
  assert.match(r.detail, /not \/mnt\/c/);
});

test('win32 with a forking multi-worker profile warns and recommends the windows profile', async () => {
  const r = await checkPlatform(doctorEnv({ platform: 'win32', arch: 'x64', settings: settings({ profile: 'advanced', profileReason: 'chosen with --profile', workers: 2 }) }));
  assert.equal(r.status, 'warn');
  assert.match(r.detail, /auto picks windows here/);
  assert.match(r.fix, /--profile windows/);
});
