// The server's one rate counter (src/http/rate-counter.ts): fixed windows per key, bounded memory.
import assert from 'node:assert/strict';
import test from 'node:test';
import { RateCounter } from '../dist/http/rate-counter.js';

test('counts per key within a window and starts again after it', () => {
  const counter = new RateCounter();
  assert.deepEqual(counter.hit('a', 60_000, 1000), { current: 1, ttl: 60_000 });
  assert.deepEqual(counter.hit('a', 60_000, 31_000), { current: 2, ttl: 30_000 });
  assert.deepEqual(counter.hit('b', 60_000, 31_000), { current: 1, ttl: 60_000 });
  assert.deepEqual(counter.hit('a', 60_000, 61_000), { current: 1, ttl: 60_000 });
});

test('a flood of distinct clients cannot grow it without bound, and a live client keeps its count', () => {
  const counter = new RateCounter();
  const hour = 3_600_000; // the flood comes within one window (one hit a millisecond)
  for (let i = 0; i < 3; i++) counter.hit('steady', hour, 0);
  for (let i = 0; i < 120_000; i++) {
    counter.hit(`flood-${i}`, hour, i);
    assert.ok(counter.size <= 50_000, `${counter.size} keys`);
    // a client seen within the last 45,000 others keeps its count
    if (i % 10_000 === 0) assert.equal(counter.hit('steady', hour, i).current, 4 + i / 10_000);
  }
});
