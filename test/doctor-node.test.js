import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkNode } from '../dist/doctor/check-node.js';
import { compareVersions, knownBadFor } from '../dist/doctor/matrix.js';

const AFTER_20_EOL = Date.parse('2026-11-28T00:00:00Z');
const node = (nodeVersion, now = AFTER_20_EOL) => checkNode({ nodeVersion, now: () => now });

test('Node 18 fails: too old, with upgrade advice', async () => {
  const r = await node('18.20.4');
  assert.equal(r.status, 'fail');
  assert.match(r.detail, /Node 18\.20\.4 is too old; supported lines are 20, 22, 24, 26/);
  assert.match(r.fix, /Install Node 24 or 26/);
  assert.match(r.fix, /npm rebuild better-sqlite3/);
});

test('Node 20.20 warns after 2026-04-30: works, end of life, upgrade advice', async () => {
  const r = await node('20.20.2');
  assert.equal(r.status, 'warn');
  assert.match(r.detail, /Node 20\.20\.2 works, but Node 20 is end of life since 2026-04-30/);
  assert.match(r.fix, /Install Node 24 or 26/);
});

test('Node 20 before its end of life passes', async () => {
  assert.equal((await node('20.20.2', Date.parse('2026-01-01T00:00:00Z'))).status, 'pass');
});

test('Node 20 below 20.19 fails', async () => {
  const r = await node('20.18.1');
  assert.equal(r.status, 'fail');
  assert.match(r.detail, /older than 20\.19\.0/);
});

test('Node 22, 24 and 26 pass', async () => {
  for (const v of ['22.14.0', '24.11.0', '26.1.0', 'v26.12.1']) {
    const r = await node(v);
    assert.equal(r.status, 'pass', v);
    assert.match(r.detail, /supported line/);
  }
});

test('odd and unknown lines fail', async () => {
  assert.match((await node('23.11.0')).detail, /odd \(short-lived, never LTS\) line/);
  assert.match((await node('28.0.0')).detail, /not tested on/);
  assert.equal((await node('25.0.0')).status, 'fail');
  assert.equal((await node('garbage')).status, 'fail');
});

test('compareVersions orders numerically', () => {
  assert.equal(compareVersions('22.9.0', '22.14.0'), -1);
  assert.equal(compareVersions('v22.14.0', '22.14.0'), 0);
  assert.equal(compareVersions('13.0.0-beta.1', '13.0.0'), 0);
  assert.equal(compareVersions('12.11.1', '13.0.0'), -1);
});

test('better-sqlite3 13 on Node < 22.14 is a known-bad combination; 12 and 13 on 22.14 are not', () => {
  assert.match(knownBadFor('better-sqlite3', '13.1.0', '20.20.2').fix, /npm install better-sqlite3@12/);
  assert.ok(knownBadFor('better-sqlite3', '13.0.0', '22.13.1'));
  assert.equal(knownBadFor('better-sqlite3', '13.0.0', '22.14.0'), undefined);
  assert.equal(knownBadFor('better-sqlite3', '12.11.1', '20.20.2'), undefined);
});
