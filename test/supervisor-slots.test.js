// The slot state machine (dist/supervisor/slots.js) driven in-process by generated sequences of
// events — a worker becomes ready, crashes, is killed while starting, a restart timer fires, a
// reload step, stop — against a simulated set of live processes. After every event the live
// processes are exactly the workers the table lists; when everything has settled every slot has
// one ready worker; after stop nothing is left and nothing new was forked.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SlotTable } from '../dist/supervisor/slots.js';
import { random } from './helpers/proc.js';

// A small seeded generator (mulberry32), so that a failing sequence can be replayed by its seed.
// The world the supervisor lives in: processes that start, become ready, die, and timers.
function world(slots) {
  let next = 1;
  const w = {
    live: new Map(), // id → { ready, askedToStop }
    armed: new Set(),
    forkedAfterStop: 0,
    stopped: false,
    replaceOutcomes: [],
    pendingReplaces: 0,
    doubleOutcome: 0,
  };
  const replaceWaiting = new Set();
  w.table = new SlotTable(slots, {
    fork: () => {
      if (w.stopped) w.forkedAfterStop++;
      const id = next++;
      w.live.set(id, { ready: false, askedToStop: false });
      return id;
    },
    stop: (id) => {
      const p = w.live.get(id);
      assert.ok(p, `stop of a dead worker ${id}`);
      p.askedToStop = true;
    },
    crashed: (slot) => {
      assert.ok(!w.armed.has(slot), `restart armed twice for slot ${slot}`);
      w.armed.add(slot);
    },
    cancelRestart: (slot) => w.armed.delete(slot),
    replaced: (slot, outcome) => {
      if (!replaceWaiting.delete(slot)) w.doubleOutcome++;
      w.pendingReplaces--;
      w.replaceOutcomes.push(outcome.ok ? 'ok' : outcome.reason);
    },
  });
  w.replace = (slot) => {
    if (replaceWaiting.has(slot)) return; // the supervisor runs one reload at a time
    replaceWaiting.add(slot);
    w.pendingReplaces++;
    w.table.replace(slot);
  };
  w.exit = (id) => {
    w.live.delete(id);
    w.table.exited(id);
  };
  return w;
}

function checkInvariants(w, _slots, context) {
  const listed = w.table.workers().map((x) => x.worker);
  assert.equal(new Set(listed).size, listed.length, `a worker is listed twice ${context}`);
  assert.deepEqual(new Set(listed), new Set(w.live.keys()), `live processes ≠ listed workers ${context}`);
  assert.ok(w.stopped || w.table.openCount >= 1, `no slot left open ${context}`);
  for (let s = 0; s < w.table.size; s++) {
    const own = w.table.workers().filter((x) => x.slot === s);
    if (!w.table.isOpen(s)) {
      // a removed slot (scale down): only workers draining, nothing started or armed for it
      assert.ok(own.every((x) => x.role === 'retiring'), `removed slot ${s} has a serving worker ${context}`);
      assert.ok(!w.armed.has(s), `restart armed for removed slot ${s} ${context}`);
      continue;
    }
    assert.ok(own.filter((x) => x.role === 'current').length <= 1, `two current workers in slot ${s} ${context}`);
    assert.ok(own.filter((x) => x.role === 'incoming').length <= 1, `two incoming workers in slot ${s} ${context}`);
    // a restart is armed only for a slot that has nobody to serve or to take over
    if (w.armed.has(s)) assert.ok(!own.some((x) => x.role !== 'retiring'), `restart armed while slot ${s} has a worker ${context}`);
    // and a running server never leaves a slot with nobody and nothing armed
    if (!w.stopped) assert.ok(w.armed.has(s) || own.some((x) => x.role !== 'retiring'), `slot ${s} abandoned ${context}`);
  }
  for (const x of w.table.workers()) if (x.role === 'retiring') assert.ok(w.live.get(x.worker).askedToStop, `retiring worker ${x.worker} never asked to stop ${context}`);
  assert.equal(w.forkedAfterStop, 0, `forked after stop ${context}`);
  assert.equal(w.doubleOutcome, 0, `a replace answered twice ${context}`);
}

const EVENTS = ['ready', 'ready', 'crash', 'killStarting', 'stopDone', 'timer', 'timer', 'replace', 'replace', 'grow', 'shrink', 'stop'];

function runSequence(seed, length) {
  const rnd = random(seed);
  const pick = (list) => list[Math.floor(rnd() * list.length)];
  const slots = 1 + Math.floor(rnd() * 3);
  const w = world(slots);
  const trace = [];
  w.table.start();
  checkInvariants(w, slots, `(seed ${seed}, start)`);
  for (let i = 0; i < length; i++) {
    const event = pick(EVENTS);
    const ids = [...w.live.keys()];
    const starting = ids.filter((id) => !w.live.get(id).ready);
    const stopping = ids.filter((id) => w.live.get(id).askedToStop);
    switch (event) {
      case 'ready': {
        if (starting.length === 0) continue;
        const id = pick(starting);
        w.live.get(id).ready = true;
        w.table.ready(id);
        trace.push(`ready ${id}`);
        break;
      }
      case 'crash': // any live process dies: serving, starting, replacement or retiring
      case 'killStarting': {
        const pool = event === 'crash' ? ids : starting;
        if (pool.length === 0) continue;
        const id = pick(pool);
        w.exit(id);
        trace.push(`${event} ${id}`);
        break;
      }
      case 'stopDone': {
        if (stopping.length === 0) continue;
        const id = pick(stopping);
        w.exit(id);
        trace.push(`stopped ${id}`);
        break;
      }
      case 'timer': {
        if (w.armed.size === 0) continue;
        const slot = pick([...w.armed]);
        w.armed.delete(slot);
        w.table.restartDue(slot);
        trace.push(`timer ${slot}`);
        break;
      }
      case 'replace': {
        const slot = Math.floor(rnd() * w.table.size);
        w.replace(slot);
        trace.push(`replace ${slot}`);
        break;
      }
      case 'grow': {
        // `scale` and TTIN run only while the server runs
        if (w.stopped || w.table.openCount >= 5) continue;
        trace.push(`grow ${w.table.grow()}`);
        break;
      }
      case 'shrink': {
        if (w.stopped) continue;
        const serving = new Set(w.table.workers().filter((x) => x.role === 'current' && x.ready).map((x) => x.slot));
        const hadIdle = w.table.openCount > serving.size;
        const removed = w.table.shrink();
        trace.push(removed === undefined ? 'shrinkRefused' : `shrink ${removed}`);
        // scaling down takes a slot that serves nobody (starting, restarting) before one that serves
        if (removed !== undefined && hadIdle) assert.ok(!serving.has(removed), `shrink removed serving slot ${removed} while an open slot served nobody (seed ${seed})`);
        break;
      }
      case 'stop':
        if (rnd() < 0.7) continue; // stop ends a sequence: let most run longer
        w.stopped = true;
        w.table.stop();
        trace.push('stop');
        break;
    }
    checkInvariants(w, slots, `(seed ${seed}, after ${trace.slice(-6).join(', ')})`);
  }
  // Drain: processes start and stop, timers fire, until nothing is left to happen.
  for (let round = 0; round < 100; round++) {
    let acted = false;
    for (const [id, p] of [...w.live]) {
      if (p.askedToStop) {
        w.exit(id);
        acted = true;
      } else if (!p.ready) {
        p.ready = true;
        w.table.ready(id);
        acted = true;
      }
    }
    for (const slot of [...w.armed]) {
      w.armed.delete(slot);
      w.table.restartDue(slot);
      acted = true;
    }
    checkInvariants(w, slots, `(seed ${seed}, draining)`);
    if (!acted) break;
  }
  assert.equal(w.pendingReplaces, 0, `a reload step never got an answer (seed ${seed})`);
  if (w.stopped) {
    assert.equal(w.live.size, 0, `processes left after stop (seed ${seed})`);
    assert.deepEqual(w.table.workers(), []);
  } else {
    assert.ok(w.table.settled(), `not settled after draining (seed ${seed}): ${JSON.stringify(w.table.workers())}`);
    assert.equal(w.live.size, w.table.openCount, `seed ${seed}: ${w.live.size} processes for ${w.table.openCount} open slots`);
  }
  return { trace, outcomes: w.replaceOutcomes };
}

test('slot table: live workers = listed workers over 5,000 generated sequences of events', () => {
  const seen = new Set();
  for (let seed = 1; seed <= 5000; seed++) {
    const { trace, outcomes } = runSequence(seed, 60);
    for (const entry of trace) seen.add(entry.split(' ')[0]);
    for (const o of outcomes) seen.add(`replace:${o}`);
  }
  // the generator reached every kind of event and every reload outcome
  for (const kind of ['ready', 'crash', 'killStarting', 'stopped', 'timer', 'replace', 'grow', 'shrink', 'shrinkRefused', 'stop', 'replace:ok', 'replace:exited', 'replace:stopping', 'replace:removed']) assert.ok(seen.has(kind), `never generated: ${kind}`);
});

test('slot table: a replacement that dies before ready keeps the old worker and arms no restart', () => {
  const w = world(1);
  w.table.start();
  const [old] = w.live.keys();
  w.live.get(old).ready = true;
  w.table.ready(old);
  w.replace(0);
  const incoming = [...w.live.keys()].find((id) => id !== old);
  w.exit(incoming);
  assert.deepEqual(w.replaceOutcomes, ['exited']);
  assert.equal(w.armed.size, 0);
  assert.deepEqual(w.table.workers(), [{ slot: 0, worker: old, role: 'current', ready: true }]);
});

test('slot table: a reload during a restart backoff fills the slot once, and cancels the restart', () => {
  const w = world(1);
  w.table.start();
  const [first] = w.live.keys();
  w.exit(first);
  assert.deepEqual([...w.armed], [0]);
  w.replace(0);
  assert.equal(w.armed.size, 0);
  assert.equal(w.table.isRestartArmed(0), false);
  w.table.restartDue(0); // a timer that fires anyway must not fork a second worker
  assert.equal(w.live.size, 1);
  const [replacement] = w.live.keys();
  w.live.get(replacement).ready = true;
  w.table.ready(replacement);
  assert.deepEqual(w.replaceOutcomes, ['ok']);
  assert.ok(w.table.settled());
});
