import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { createLogger } from '../dist/logging/logger.js';

const BASE = ['level', 'time', 'pid', 'hostname', 'worker', 'event', 'msg'];

// A real pino logger writing into memory: every line parsed as it comes.
function capture() {
  const lines = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l));
      done();
    },
  });
  return { logger: createLogger('info', 3, destination), lines };
}

test('a line holds its own fields only, never those of an earlier line', () => {
  const { logger, lines } = capture();
  logger.info({ event: 'feedback.marked', presentationId: 'p1', jobId: 'j1', version: 2, responseHash: 'h' }, 'marked');
  logger.info({ event: 'http.request', method: 'GET', path: '/healthz', status: 200 }, 'GET /healthz 200');
  logger.info('Server listening'); // a line without an event of ours
  logger.info({ event: 'worker.ready' }, 'ready');
  logger.info({ reqId: 'r1' }, 'a foreign line with fields');
  logger.info('another foreign line');
  assert.deepEqual(lines.map((l) => Object.keys(l).sort()), [
    [...BASE, 'presentationId', 'jobId', 'version', 'responseHash'].sort(),
    [...BASE, 'method', 'path', 'status'].sort(),
    [...BASE].sort(),
    [...BASE].sort(),
    [...BASE, 'reqId'].sort(),
    [...BASE].sort(),
  ]);
  assert.deepEqual(lines.map((l) => l.event), ['feedback.marked', 'http.request', 'log', 'worker.ready', 'log', 'log']);
  assert.equal(lines[0].worker, 3);
  assert.equal(lines[0].pid, process.pid);
});

test('after an error line, the next lines carry no err and no stack', () => {
  const { logger, lines } = capture();
  const error = new Error('SQLITE_BUSY: database is locked');
  logger.error({ event: 'job.claim_failed', err: error }, 'Claiming jobs failed');
  logger.error(error); // an error on its own
  logger.info({ event: 'feedback.started', presentationId: 'p2', jobId: 'j2' }, 'started');
  logger.info('plain');
  assert.match(lines[0].err.stack, /SQLITE_BUSY/);
  assert.match(lines[1].err.stack, /SQLITE_BUSY/);
  assert.equal(lines[1].event, 'log');
  for (const l of lines.slice(2)) {
    assert.equal(l.err, undefined, JSON.stringify(l));
    assert.ok(!JSON.stringify(l).includes('SQLITE_BUSY'), JSON.stringify(l));
  }
  assert.deepEqual(Object.keys(lines[2]).sort(), [...BASE, 'presentationId', 'jobId'].sort());
});

test('the caller\'s object is not changed by logging it', () => {
  const { logger, lines } = capture();
  const fields = { presentationId: 'p3' };
  logger.info(fields, 'no event');
  assert.deepEqual(fields, { presentationId: 'p3' });
  assert.equal(lines[0].event, 'log');
});
