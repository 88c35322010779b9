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
