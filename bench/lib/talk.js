// Talks as the API takes them: a small one (~600 bytes of Markdown, numbered so titles differ)
// and a big one (about 1 MiB).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './proc.js';

const CONTENT = `# Caching at the edge

## Why
- Users are far away
- Origins are slow

## How
- Cache-Control and ETags
- Stale-while-revalidate

## Results
- p99 from 900 ms to 120 ms
- 40 % less origin traffic

## Questions
`;

export function talkJson(n) {
  return JSON.stringify({ title: `Bench talk ${n}`, content: CONTENT, language: 'en', targetMinutes: 10 });
}

/** POSTs `n` talks with `concurrency` requests in flight; returns the ids (in completion order). */
export async function createTalks(url, n, { concurrency = 16, idempotencyPrefix, retries = 0 } = {}) {
  const ids = [];
  let next = 0;
  let failures = 0;
  async function one(i) {
    for (let attempt = 0; ; attempt++) {
      try {
        const headers = { 'content-type': 'application/json' };
        if (idempotencyPrefix) headers['idempotency-key'] = `${idempotencyPrefix}-${i}`;
        const res = await fetch(`${url}/api/presentations`, { method: 'POST', headers, body: talkJson(i) });
        const body = await res.json();
        if (res.status !== 201) throw new Error(`POST answered ${res.status}: ${JSON.stringify(body)}`);
        ids.push(body.id);
        return;
      } catch (error) {
        failures++;
        if (attempt >= retries) throw error;
        await new Promise((r) => setTimeout(r, 50 * (attempt + 1)));
      }
    }
  }
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) await one(next++);
    }),
  );
  return { ids, failures };
}

/**
 * A talk of about `bytes` (default just under the 1 MiB body limit): a real sample talk
 * (test/fixtures/talks/en-build-cache.md) repeated, the input the local analyser takes longest on
 * per byte. `n` goes into the first line so that talks differ.
 */
export function bigTalk(n, bytes = 2 ** 20 - 1024) {
  const sample = readFileSync(join(ROOT, 'test/fixtures/talks/en-build-cache.md'), 'utf8');
  const head = `# Big talk ${n}\n\n`;
  return (head + `${sample}\n`.repeat(Math.ceil(bytes / (sample.length + 1)))).slice(0, bytes);
}
