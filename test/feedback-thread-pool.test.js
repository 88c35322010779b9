// The local analyser's worker-thread pool (src/feedback/thread-pool.ts): the same feedback as the
// inline analyser, the event loop free meanwhile, abort at once, threads kept, and a thread that
// throws, exits or dies failing only its own task. Real threads throughout.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { test } from 'node:test';
import { execa } from 'execa';
import { createLocalProvider } from '../dist/feedback/local.js';
import { ThreadPool } from '../dist/feedback/thread-pool.js';
import { ROOT } from './helpers/cli.js';

const TALKS = new URL('./fixtures/talks/', import.meta.url);
const talks = readdirSync(TALKS).map((name) => ({ name, content: readFileSync(new URL(name, TALKS), 'utf8') }));
const EN = readFileSync(new URL('en-build-cache.md', TALKS), 'utf8');
const mib = (n) => (EN + '\n').repeat(Math.ceil((n * 2 ** 20) / (EN.length + 1))).slice(0, n * 2 ** 20);
const request = (content, extra = {}) => ({ presentationId: 'p1', title: 'Talk', content, language: 'auto', ...extra });
const never = () => new AbortController().signal;
const fixturePool = (size) => new ThreadPool({ size, filename: new URL('./fixtures/threads/task.cjs', import.meta.url) });

test('the pool gives exactly the inline analyser’s feedback, as the JSON text of its raw answer and that text’s SHA-256', { timeout: 120_000 }, async (t) => {
  const pooled = createLocalProvider({ threads: 2 });
  t.after(() => pooled.close());
  const inline = createLocalProvider();
  const inputs = [];
  for (const { name, content } of talks) {
    for (const extra of [{}, { language: 'de' }, { language: 'en', targetMinutes: 7 }]) inputs.push([`${name} ${JSON.stringify(extra)}`, request(content, extra)]);
  }
  inputs.push(['1 MiB', request(mib(1))]);
  // hostile Markdown (as in feedback-local.test.js) and the empty talk
  for (const content of ['!['.repeat(2 ** 17), '[a]('.repeat(2 ** 16), '<!--'.repeat(2 ** 16), '']) inputs.push([`${content.slice(0, 4)}…`, request(content)]);
  for (const [label, input] of inputs) {
    const [a, b] = await Promise.all([pooled.generate(input, never()), inline.generate(input, never())]);
    // the thread sends the feedback as JSON text: one string to copy out, stored as it is
    assert.equal(a.feedbackJson, b.raw, label);
    assert.deepEqual(JSON.parse(a.feedbackJson), b.feedback, label);
    assert.equal(a.provider, 'local', label);
    assert.equal(a.responseHash, createHash('sha256').update(b.raw).digest('hex'), label);
  }
  assert.ok(pooled.threads >= 1 && pooled.threads <= 2, `threads: ${pooled.threads}`);
});

test('while a 4 MiB talk is analysed in a thread the event loop keeps turning', { timeout: 120_000 }, async (t) => {
  const provider = createLocalProvider({ threads: 1 });
  t.after(() => provider.close());
  await provider.generate(request(EN), never()); // the thread's start is not what is measured
  let last = performance.now();
  let maxGap = 0;
  const ticker = setInterval(() => {
    const now = performance.now();
    maxGap = Math.max(maxGap, now - last);
    last = now;
  }, 5);
  const started = performance.now();
  const feedback = JSON.parse((await provider.generate(request(mib(4)), never())).feedbackJson);
  clearInterval(ticker);
  const ms = performance.now() - started;
  assert.ok(feedback.metrics.words > 100_000);
  // inline, the longest gap would be the whole analysis (seconds)
  assert.ok(maxGap < Math.max(500, ms / 2), `longest event-loop gap ${maxGap.toFixed(0)} ms during a ${ms.toFixed(0)} ms analysis`);
  t.diagnostic(`4 MiB analysed in ${ms.toFixed(0)} ms; the longest event-loop gap meanwhile: ${maxGap.toFixed(1)} ms`);
});

test('abort stops a huge analysis at once, with the signal’s reason, and the next runs on a new thread', { timeout: 60_000 }, async (t) => {
  const provider = createLocalProvider({ threads: 1 });
  t.after(() => provider.close());
  await provider.generate(request(EN), never());
  assert.equal(provider.threads, 1);
  const controller = new AbortController();
  const running = provider.generate(request(mib(4)), controller.signal); // seconds of work
  await new Promise((r) => setTimeout(r, 300));
  const reason = new Error('lease lost');
  const abortedAt = performance.now();
  controller.abort(reason);
  await assert.rejects(running, (error) => error === reason);
  const ms = performance.now() - abortedAt;
  assert.ok(ms < 1000, `the abort took ${ms.toFixed(0)} ms`);
  assert.ok(provider.threads <= 1, 'the aborted thread is terminated (one new thread is kept ready)');
  const [again, inline] = await Promise.all([provider.generate(request(EN), never()), createLocalProvider().generate(request(EN), never())]);
  assert.equal(again.feedbackJson, inline.raw);
  assert.equal(provider.threads, 1);
  // an already aborted signal never reaches a thread
  const gone = new AbortController();
  gone.abort(reason);
  await assert.rejects(provider.generate(request(EN), gone.signal), (error) => error === reason);
  t.diagnostic(`aborted ${ms.toFixed(1)} ms after abort()`);
});

test('threads start on demand, are kept between tasks, and never exceed the size', { timeout: 60_000 }, async (t) => {
  const pool = fixturePool(2);
  t.after(() => pool.close());
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(pool.threads, 0, 'no thread before warm() or the first task');
  const first = await pool.run({ op: 'id' }, never());
  for (let i = 0; i < 5; i++) assert.equal(await pool.run({ op: 'id' }, never()), first, 'one task at a time reuses the thread');
  const ids = await Promise.all(Array.from({ length: 6 }, () => pool.run({ op: 'spin', ms: 100 }, never())));
  assert.ok(new Set(ids).size <= 2, `threads used: ${[...new Set(ids)]}`);
  assert.equal(pool.threads, 2);
});

test('warm() starts one thread, which the first task then uses; an aborted task’s thread is replaced', { timeout: 30_000 }, async (t) => {
  const pool = fixturePool(4);
  t.after(() => pool.close());
  pool.warm();
  pool.warm();
  const deadline = Date.now() + 20_000;
  while (pool.threads === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  assert.equal(pool.threads, 1);
  const id = await pool.run({ op: 'id' }, never());
  assert.equal(pool.threads, 1, 'the warm thread ran it');
  const controller = new AbortController();
  const spinning = pool.run({ op: 'spin', ms: 10_000 }, controller.signal);
  await new Promise((r) => setTimeout(r, 100));
  controller.abort(new Error('stop'));
  await assert.rejects(spinning, { message: 'stop' });
  const next = await pool.run({ op: 'id' }, never());
  assert.notEqual(next, id, 'the spinning thread was terminated, a new one answers');
  // the replacement starts at once; a task that comes before it is ready may start another
  assert.ok(pool.threads >= 1 && pool.threads <= 2, `threads: ${pool.threads}`);
});

test('a task that throws fails with its message; the thread is kept', { timeout: 30_000 }, async (t) => {
  const pool = fixturePool(1);
  t.after(() => pool.close());
  const id = await pool.run({ op: 'id' }, never());
  await assert.rejects(pool.run({ op: 'throw' }, never()), { message: `boom in thread ${id}` });
  assert.equal(await pool.run({ op: 'id' }, never()), id);
});

test('a thread that exits or dies fails its task cleanly and is replaced', { timeout: 30_000 }, async (t) => {
  const pool = fixturePool(2);
  t.after(() => pool.close());
  const id = await pool.run({ op: 'id' }, never());
  await assert.rejects(pool.run({ op: 'exit', code: 7 }, never()), { message: 'analysis thread stopped (exit code 7) before answering' });
  const next = await pool.run({ op: 'id' }, never());
  assert.notEqual(next, id, 'a new thread');
  await assert.rejects(pool.run({ op: 'uncaught', ms: 20 }, never()), { message: 'uncaught in thread' });
  // both at once: each failure is its own task's, the others go on
  const results = await Promise.allSettled([pool.run({ op: 'exit', code: 1 }, never()), pool.run({ op: 'spin', ms: 200 }, never())]);
  assert.equal(results[0].status, 'rejected');
  assert.equal(results[1].status, 'fulfilled');
  assert.equal(typeof (await pool.run({ op: 'id' }, never())), 'number');
  assert.ok(pool.threads <= 2);
});

test('threads that cannot start fail the waiting tasks instead of queueing them forever', { timeout: 60_000 }, async (t) => {
  const pool = new ThreadPool({ size: 2, filename: new URL('./fixtures/threads/broken.cjs', import.meta.url) });
  t.after(() => pool.close());
  for (let i = 0; i < 3; i++) {
    // piscina alone answered the first and kept the next queued: a job whose lease is renewed forever
    await assert.rejects(pool.run({ op: 'id' }, never()), /this module cannot load/, `task ${i + 1}`);
  }
  const both = await Promise.allSettled([pool.run({ op: 'id' }, never()), pool.run({ op: 'id' }, never())]);
  assert.deepEqual(both.map((r) => r.status), ['rejected', 'rejected']);
});

test('close fails the running task, ends every thread and refuses new tasks', { timeout: 30_000 }, async () => {
  const pool = fixturePool(2);
  await pool.run({ op: 'id' }, never());
  const running = assert.rejects(pool.run({ op: 'spin', ms: 10_000 }, never()), { message: 'analysis thread stopped: the pool is closing' });
  await new Promise((r) => setTimeout(r, 100));
  const started = performance.now();
  await pool.close();
  assert.ok(performance.now() - started < 5000, 'close does not wait for the 10 s task');
  await running;
  assert.equal(pool.threads, 0);
  await assert.rejects(pool.run({ op: 'id' }, never()), /pool is closed/);
});

test('a process whose provider analysed talks and was closed exits by itself (no thread left)', { timeout: 60_000 }, async () => {
  const script = `
    import { createLocalProvider } from './dist/feedback/local.js';
    const provider = createLocalProvider({ threads: 4 });
    const talk = { presentationId: 'p', title: 't', content: '# A\\n\\nSome words here.\\n\\n# B\\n\\nMore words.', language: 'auto' };
    await Promise.all([1, 2, 3, 4].map(() => provider.generate(talk, new AbortController().signal)));
    const slow = new AbortController();
    const pending = provider.generate({ ...talk, content: talk.content.repeat(20000) }, slow.signal).catch((e) => e.message);
    setTimeout(() => slow.abort(new Error('stop')), 50);
    console.log(provider.threads, await pending);
    await provider.close();
    console.log(provider.threads);
  `;
  const result = await execa(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, timeout: 30_000, reject: false });
  assert.equal(result.exitCode, 0, result.stderr);
  assert.equal(result.timedOut, false);
  const [during, after] = result.stdout.split('\n');
  assert.match(during, /^[1-4] stop$/);
  assert.equal(after, '0');
});
