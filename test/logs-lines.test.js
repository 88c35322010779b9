import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LineSplitter } from '../dist/logs/lines.js';

test('lines survive any chunking: long lines, multi-byte characters cut between chunks, no final newline', () => {
  const lines = ['Feedback für Präsentation 17 markiert', 'x'.repeat(200_000), '', 'ü'.repeat(40_000), '{"a":1}', 'last without newline'];
  const bytes = Buffer.from(lines.join('\n'));
  for (const size of [1, 7, 4096, 65_537, 1 << 20]) {
    const splitter = new LineSplitter();
    const got = [];
    for (let i = 0; i < bytes.length; i += size) splitter.push(bytes.subarray(i, i + size), (l) => got.push(l));
    splitter.end((l) => got.push(l));
    assert.deepEqual(got, lines, `chunks of ${size} bytes`);
  }
});

// Feeds `parts` (strings or byte counts of 'x') in chunks of `size`; records lines, skipped sizes
// and the most bytes the splitter ever held.
function split(parts, size, maxLineBytes) {
  const skipped = [];
  const splitter = new LineSplitter({ maxLineBytes, onOversized: (n) => skipped.push(n) });
  const got = [];
  let held = 0;
  const bytes = Buffer.concat(parts.map((p) => (typeof p === 'number' ? Buffer.alloc(p, 'x') : Buffer.from(p))));
  for (let i = 0; i < bytes.length; i += size) {
    splitter.push(bytes.subarray(i, i + size), (l) => got.push(l.length > 40 ? `${l.length} chars` : l));
    held = Math.max(held, splitter.pendingBytes);
  }
  splitter.end((l) => got.push(l.length > 40 ? `${l.length} chars` : l));
  return { got, skipped, held, oversized: splitter.oversized };
}

test('a line over the cap is skipped and counted, never held; the lines after it are read', () => {
  const cap = 64 * 1024;
  for (const size of [1000, 4096, 65_536, 100_000, 1 << 20]) {
    const r = split(['first\n', 20 * 1024 * 1024, '\nsecond\n', cap, '\n', cap + 1, '\nthird\n', 'ü'.repeat(cap / 2), '\nlast'], size, cap);
    assert.deepEqual(r.got, ['first', 'second', `${cap} chars`, 'third', `${cap / 2} chars`, 'last'], `chunks of ${size}`);
    assert.deepEqual(r.skipped, [20 * 1024 * 1024, cap + 1], `chunks of ${size}`);
    assert.equal(r.oversized, 2);
    assert.ok(r.held <= cap, `held ${r.held} bytes with chunks of ${size}`);
  }
});

test('an over-cap line cut off at the end of the input is counted; reset() forgets a skip in progress', () => {
  const r = split(['a\n', 5000], 1024, 1024);
  assert.deepEqual(r.got, ['a']);
  assert.deepEqual(r.skipped, [5000]);
  const splitter = new LineSplitter({ maxLineBytes: 1024 });
  const got = [];
  splitter.push(Buffer.alloc(3000, 'x'), (l) => got.push(l));
  splitter.reset(); // the file was truncated: a new line starts
  splitter.push(Buffer.from('new\n'), (l) => got.push(l));
  assert.deepEqual(got, ['new']);
  assert.equal(splitter.oversized, 0);
});
