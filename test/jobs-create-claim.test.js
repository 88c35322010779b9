// #12: the runner claims inside the store's own write transactions while it has free slots
// (SqliteStore.setClaimer): the group commit of new talks, and the batch of completions. A talk
// created into an idle worker, or the next job after one finished, then costs no claim
// transaction of its own. The same guarantees as claimJobs': never more jobs at once than slots,
// each job run and marked once, the oldest due job first, nothing claimed once stop() began.
// Checked on a real SQLite file with a real JobRunner, by invariants over seeded random
// sequences of bursts, pauses and provider delays, and at the worst moment for a stop.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import pino from 'pino';
import { JobRunner } from '../dist/jobs/runner.js';
import { migrateDatabase, SqliteStore } from '../dist/store/sqlite.js';
import { makeDataDir, sleep } from './helpers/cli.js';
import { openSqliteRaw } from './helpers/stores.js';
import { waitUntil } from './helpers/http.js';
import { random } from './helpers/proc.js';

const FEEDBACK = { provider: 'counting', language: 'en', score: 50, summary: 's', strengths: [], improvements: [], slides: [], metrics: { slides: 1, words: 2, estimatedMinutes: 1, wordsPerSlideMax: 2, readability: 50 } };

/**
 * A real store, and the same store seen through a proxy that counts the jobs claimJobs handed
 * out. With `lateMs`, claimJobs' answer arrives that much later (as over a network), while the
 * store's own transactions go on claiming: the runner must not count a slot twice meanwhile.
 */
function countingStore(t, lateMs) {
  const file = join(makeDataDir(t), 'presenter.db');
  migrateDatabase(file);
  const real = new SqliteStore(file);
  const counts = { claimCalls: 0, jobsByClaimJobs: 0 };
  const store = new Proxy(real, {
    get(target, name) {
      const value = Reflect.get(target, name);
      if (name !== 'claimJobs') return typeof value === 'function' ? value.bind(target) : value;
      return async (...args) => {
        const result = await value.apply(target, args);
        if (lateMs) await sleep(lateMs());
        counts.claimCalls += 1;
        counts.jobsByClaimJobs += result.jobs.length;
        return result;
      };
    },
  });
  t.after(() => real.close());
  return { store, real, counts, file };
}

/**
 * A provider that records how many generations run at once and which (by `key`); each waits for
 * `work(request)`. gaugedProvider(delayMs) waits `delayMs()` ms (0: a microtask).
 */
function gaugedProvider(work, key = (request) => request.presentationId) {
  if (typeof work === 'function' && work.length === 0) {
    const delayMs = work;
    work = async () => {
      const ms = delayMs();
      if (ms > 0) await sleep(ms);
      else await null;
    };
  }
  const stats = { running: 0, max: 0, calls: [] };
  return {
    stats,
    provider: {
      name: 'counting',
      async generate(request) {
        stats.running += 1;
        stats.max = Math.max(stats.max, stats.running);
        stats.calls.push(key(request));
        try {
          await work(request);
          return { feedback: FEEDBACK, raw: `answer for ${request.presentationId}` };
        } finally {
          stats.running -= 1;
        }
      },
    },
  };
}

const quietLogger = () => pino({ level: 'silent' });
const talk = (i) => ({ title: `Talk ${i}`, content: `# Talk ${i}\n\nwords`, language: 'en', targetMinutes: undefined, idempotencyKey: undefined });

async function allDone(real, ids) {
  await waitUntil(`all ${ids.length} talks done`, async () => {
    for (const id of ids) if ((await real.getPresentation(id)).status !== 'done') return false;
    return true;
  }, 30_000, 20);
}

/** Every talk has one feedback row, its job one attempt, and the provider ran it once. */
async function assertOnce(file, ids, stats, label) {
  const db = await openSqliteRaw(file);
  try {
    const rows = db.prepare('SELECT j.presentation_id AS id, j.status, j.attempts, (SELECT COUNT(*) FROM feedback f WHERE f.presentation_id = j.presentation_id) AS feedback FROM jobs j').all();
    assert.equal(rows.length, ids.length, label);
    for (const row of rows) assert.deepEqual([row.status, row.attempts, row.feedback], ['done', 1, 1], `${label}: ${row.id}`);
  } finally {
    db.close();
  }
  const perTalk = new Map();
  for (const id of stats.calls) perTalk.set(id, (perTalk.get(id) ?? 0) + 1);
  assert.equal(perTalk.size, ids.length, label);
  for (const [id, n] of perTalk) assert.equal(n, 1, `${label}: ${id} generated ${n} times`);
}

test('talks created one by one into free slots are claimed in their create transaction: claimJobs hands out none of them', { timeout: 60_000 }, async (t) => {
  const { store, real, counts, file } = countingStore(t);
  const { provider, stats } = gaugedProvider(() => 5);
  const runner = new JobRunner({ store, provider, logger: quietLogger(), slots: 2, leaseMs: 60_000, idlePollMs: 50 });
  runner.start();
  t.after(() => runner.stop(2000));
  const ids = [];
  for (let i = 0; i < 20; i++) {
    const { id } = await store.createPresentation(talk(i), 3);
    ids.push(id);
    await allDone(real, ids); // the worker is idle again before the next talk
  }
  await assertOnce(file, ids, stats, 'one by one');
  assert.equal(counts.jobsByClaimJobs, 0, `claimJobs took ${counts.jobsByClaimJobs} of 20 jobs (${counts.claimCalls} calls): each should have been claimed by its create`);
  assert.ok(stats.max <= 2);
});

test('a burst larger than the free slots: the create claims what fits, each completion the next, never more at once than slots, each job once', { timeout: 60_000 }, async (t) => {
  const { store, real, counts, file } = countingStore(t);
  const { provider, stats } = gaugedProvider(() => 10);
  const runner = new JobRunner({ store, provider, logger: quietLogger(), slots: 3, leaseMs: 60_000, idlePollMs: 50 });
  runner.start();
  t.after(() => runner.stop(2000));
  // 40 creates in one event-loop turn: one group-commit transaction, which claims 3 of them
  const ids = (await Promise.all(Array.from({ length: 40 }, (_, i) => store.createPresentation(talk(i), 3)))).map((r) => r.id);
  await allDone(real, ids);
  await assertOnce(file, ids, stats, 'burst');
  assert.equal(stats.max, 3, 'the slots were all used, and never more');
  // all 40 were stored before any finished: the create took 3 (the free slots), and each batch
  // of completions claimed the jobs that replace it; claimJobs had nothing left to hand out
  assert.equal(counts.jobsByClaimJobs, 0, `claimJobs took ${counts.jobsByClaimJobs} (${counts.claimCalls} calls)`);
});

test('the oldest due job first: a create into a free slot claims a talk already waiting before its own', { timeout: 30_000 }, async (t) => {
  const { store, real, file } = countingStore(t);
  const { provider, stats } = gaugedProvider(() => 20);
  // one slot, and no poll to speak of: only a create (or a finished job) makes this runner claim
  const runner = new JobRunner({ store, provider, logger: quietLogger(), slots: 1, leaseMs: 60_000, idlePollMs: 60_000 });
  runner.start();
  t.after(() => runner.stop(2000));
  await sleep(50); // its first claim found nothing
  // a talk stored by another worker's connection: due, but this runner was not told
  const other = new SqliteStore(file);
  const { id: waiting } = await other.createPresentation(talk('waiting'), 3);
  await other.close();
  await sleep(20);
  const { id: mine } = await store.createPresentation(talk('mine'), 3);
  await allDone(real, [waiting, mine]);
  assert.deepEqual(stats.calls, [waiting, mine], 'the waiting talk ran first, then the new one');
  await assertOnce(file, [waiting, mine], stats, 'fifo');
});

test('random sequences of bursts, pauses, wake-ups, provider delays and late claim answers (5 seeds): at most `slots` at once, every talk marked once', { timeout: 120_000 }, async (t) => {
  for (const seed of [7, 42, 1129, 3, 99]) {
    const rnd = random(seed);
    // seeds 3 and 99: claimJobs answers 0-4 ms late, and wake-ups claim while completions do
    const late = seed === 3 || seed === 99;
    const { store, real, counts, file } = countingStore(t, late ? () => Math.floor(rnd() * 5) : undefined);
    const slots = 1 + Math.floor(rnd() * 4);
    const { provider, stats } = gaugedProvider(() => (rnd() < 0.3 ? 0 : Math.floor(rnd() * 25)));
    const runner = new JobRunner({ store, provider, logger: quietLogger(), slots, leaseMs: 60_000, idlePollMs: late ? 3 : 50 });
    runner.start();
    const ids = [];
    let n = 0;
    for (let step = 0; step < 40; step++) {
      const burst = Math.floor(rnd() * 8);
      const created = Promise.all(Array.from({ length: burst }, () => store.createPresentation(talk(`${seed}-${n++}`), 3)));
      if (late && rnd() < 0.5) runner.wake(); // as the service does after each create
      if (rnd() < 0.5) ids.push(...(await created).map((r) => r.id));
      else void created.then((rs) => ids.push(...rs.map((r) => r.id)));
      const pause = rnd();
      if (pause < 0.3) await null;
      else if (pause < 0.6) await new Promise((resolve) => setImmediate(resolve));
      else await sleep(Math.floor(rnd() * 30));
      assert.ok(stats.max <= slots, `seed ${seed} step ${step}: ${stats.max} at once with ${slots} slots`);
    }
    await waitUntil('every create answered', () => ids.length === n, 10_000, 10);
    await allDone(real, ids);
    await runner.stop(2000);
    await assertOnce(file, ids, stats, `seed ${seed}`);
    assert.ok(stats.max <= slots, `seed ${seed}: ${stats.max} at once with ${slots} slots`);
    t.diagnostic(`seed ${seed}: ${n} talks, ${slots} slots, at most ${stats.max} at once; claimJobs took ${counts.jobsByClaimJobs}, the store's own transactions ${n - counts.jobsByClaimJobs}`);
  }
});

test('creates in the same turn as stop(): nothing is claimed after stop began; the talks wait, queued, for the next worker', { timeout: 30_000 }, async (t) => {
  const { store, real, file } = countingStore(t);
  const { provider, stats } = gaugedProvider(() => 0);
  const runner = new JobRunner({ store, provider, logger: quietLogger(), slots: 4, leaseMs: 60_000, idlePollMs: 50 });
  runner.start();
  await allDone(real, [(await store.createPresentation(talk('before'), 3)).id]);
  // the creates are queued for this turn's group commit; stop() begins before it runs
  const creates = Promise.all(Array.from({ length: 5 }, (_, i) => store.createPresentation(talk(`late ${i}`), 3)));
  const stopped = runner.stop(2000);
  const late = (await creates).map((r) => r.id);
  await stopped;
  await sleep(100);
  for (const id of late) assert.equal((await real.getPresentation(id)).status, 'pending', 'not claimed by a stopping runner');
  assert.equal(stats.calls.length, 1, 'only the talk from before the stop was generated');
  const db = await openSqliteRaw(file);
  try {
    assert.deepEqual(db.prepare("SELECT status, attempts, lease_token FROM jobs WHERE status != 'done'").all(), late.map(() => ({ status: 'queued', attempts: 0, lease_token: null })));
  } finally {
    db.close();
  }
});

// The worst moment, made to happen: a claimJobs answer is on its way (late, as over a network)
// when a completion frees a slot. The completion's transaction must not claim for the slot that
// the late answer already fills, or three jobs would run in two slots.
test('a completion while a claimJobs answer is still on its way claims nothing: never more at once than slots', { timeout: 30_000 }, async (t) => {
  let openClaim;
  let holdClaims = false;
  const { store, real, file } = countingStore(t, () => 0);
  const held = new Proxy(store, {
    get(target, name) {
      const value = Reflect.get(target, name);
      if (name !== 'claimJobs') return value;
      return async (...args) => {
        const result = await value(...args);
        if (holdClaims && result.jobs.length > 0) await new Promise((resolve) => (openClaim = resolve));
        return result;
      };
    },
  });
  const gates = new Map();
  const { provider, stats } = gaugedProvider((request) => new Promise((resolve) => gates.set(request.title, resolve)), (request) => request.title);
  const runner = new JobRunner({ store: held, provider, logger: quietLogger(), slots: 2, leaseMs: 60_000, idlePollMs: 60_000 });
  runner.start();
  t.after(() => runner.stop(2000));
  await sleep(50);
  // A: claimed by its create, running (one slot of two)
  const { id: a } = await real.createPresentation(talk('A'), 3);
  await waitUntil('A runs', () => gates.has('Talk A'), 5000, 2);
  // B, C, D stored by another worker's connection: due, this runner not told
  const other = new SqliteStore(file);
  const others = [];
  for (const name of ['B', 'C', 'D']) others.push((await other.createPresentation(talk(name), 3)).id);
  await other.close();
  // a wake-up claims B for the free slot; its answer is held back
  holdClaims = true;
  runner.wake();
  await waitUntil('the claim of B is on its way', () => openClaim !== undefined, 5000, 2);
  holdClaims = false;
  // A finishes: its completion frees a slot, but B's claim already took it
  gates.get('Talk A')();
  await waitUntil('A done', async () => (await real.getPresentation(a)).status === 'done', 5000, 5);
  await sleep(50);
  assert.deepEqual(stats.calls, ['Talk A'], 'nothing else started while the answer for B was on its way');
  openClaim();
  await waitUntil('B runs', () => gates.has('Talk B'), 5000, 2);
  // from here the runner goes on by itself: open every gate as it comes
  const drain = setInterval(() => {
    for (const [title, open] of gates) {
      open();
      gates.delete(title);
    }
  }, 5);
  t.after(() => clearInterval(drain));
  await allDone(real, [a, ...others]);
  assert.ok(stats.max <= 2, `${stats.max} jobs ran at once in 2 slots`);
  assert.deepEqual(stats.calls.sort(), ['Talk A', 'Talk B', 'Talk C', 'Talk D']);
});

// A job claimed by its own create carries the talk from memory, not read back: it must be the
// talk as stored. The store keeps a lone surrogate (valid in a JS string, and in JSON as "\ud800")
// as U+FFFD, whichever driver writes it; the provider sees what any later claim would.
test('a job claimed by its create carries the talk exactly as stored, a lone surrogate included', { timeout: 30_000 }, async (t) => {
  const { store, real, file } = countingStore(t);
  const seen = new Map();
  const provider = {
    name: 'counting',
    async generate(request) {
      seen.set(request.presentationId, { title: request.title, content: request.content, language: request.language, targetMinutes: request.targetMinutes });
      return { feedback: FEEDBACK, raw: 'x' };
    },
  };
  const runner = new JobRunner({ store, provider, logger: quietLogger(), slots: 4, leaseMs: 60_000, idlePollMs: 50 });
  runner.start();
  t.after(() => runner.stop(2000));
  await sleep(50);
  const inputs = [
    { title: 'Plain', content: '# Plain\n\nwords 🎤 ü', language: 'de', targetMinutes: 12, idempotencyKey: undefined },
    { title: 'Lone \ud800 title', content: '# Lone\n\na \udc00 b \ud83c', language: 'en', targetMinutes: undefined, idempotencyKey: undefined },
  ];
  const ids = (await Promise.all(inputs.map((input) => store.createPresentation(input, 3)))).map((r) => r.id);
  await allDone(real, ids);
  const db = await openSqliteRaw(file);
  try {
    for (const id of ids) {
      const row = db.prepare('SELECT title, content, language, target_minutes FROM presentations WHERE id = ?').get(id);
      assert.deepEqual(seen.get(id), { title: row.title, content: row.content, language: row.language, targetMinutes: row.target_minutes ?? undefined }, id);
    }
  } finally {
    db.close();
  }
  assert.match(seen.get(ids[1]).content, /\ufffd/, 'the stored form, not the sent one');
});

// The claim rides in a transaction that has committed when the runner gets it: a runner that
// throws then must not turn a stored talk into a failed create. The throw surfaces on its own
// (an uncaught exception: a bug, which the supervisor answers with a restart).
test('a runner that throws on a claim made in a create: the create is answered and stored, the error surfaces afterwards', { timeout: 30_000 }, async (t) => {
  const dir = makeDataDir(t);
  const script = `
    import { migrateDatabase, SqliteStore } from ${JSON.stringify(new URL('../dist/store/sqlite.js', import.meta.url).href)};
    const file = ${JSON.stringify(join(dir, 'presenter.db'))};
    migrateDatabase(file);
    const store = new SqliteStore(file);
    const seen = [];
    process.on('uncaughtException', (error) => { seen.push('uncaught: ' + error.message); });
    store.setClaimer({ pid: process.pid, leaseMs: 60000, wanted: () => 1, claimed: () => { throw new Error('runner bug'); } });
    const created = await store.createPresentation({ title: 'T', content: 'x', language: 'en', targetMinutes: undefined, idempotencyKey: undefined }, 3);
    seen.push('created: ' + created.status);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const view = await store.getPresentation(created.id);
    seen.push('stored: ' + view.status);
    console.log(JSON.stringify(seen));
    await store.close();
  `;
  const { execFileSync } = await import('node:child_process');
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  // the create was answered, the throw surfaced (outside the transaction), the claim stands
  const seen = JSON.parse(out);
  assert.deepEqual(seen.slice(0, 2).sort(), ['created: pending', 'uncaught: runner bug']);
  assert.equal(seen[2], 'stored: processing');
});
