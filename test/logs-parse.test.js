import assert from 'node:assert/strict';
import { test } from 'node:test';
import { feedbackEventFromLine, GARBLED, parseLine } from '../dist/logs/parse.js';
import { classifyMessage, parseTextLine } from '../dist/logs/text.js';

const marked = '{"level":30,"time":1764350155123,"pid":123,"hostname":"h","worker":1,"event":"feedback.marked","presentationId":"p-1","jobId":"j-1","attempt":2,"lease":"l-1","feedbackId":"f","responseHash":"abc","provider":"local","durationMs":12,"msg":"Feedback for presentation p-1 marked"}';

test('a pino feedback.marked line gives the fields --duplicates needs, without JSON.parse', () => {
  const e = feedbackEventFromLine(marked);
  assert.equal(e.event, 'feedback.marked');
  assert.equal(e.time, 1764350155123);
  assert.equal(e.pid, 123);
  assert.equal(e.presentationId, 'p-1');
  assert.equal(e.jobId, 'j-1');
  assert.equal(e.attempt, 2);
  assert.equal(e.lease, 'l-1');
  assert.equal(e.responseHash, 'abc');
  assert.equal(e.final, false);
});

test('the fast scan and JSON.parse agree, also on escaped strings, ISO times and other key orders', () => {
  const lines = [
    '{"level":40,"time":"2026-11-28T17:15:55.123Z","pid":9,"event":"feedback.failed","presentationId":"p\\"q","jobId":"j","attempt":1,"error":"bad \\"x\\"","retryInMs":null,"final":true,"msg":"m"}',
    '{"msg":"Feedback for presentation \\"p\\" started","event":"feedback.started","pid":7,"time":5,"jobId":"j2","presentationId":"p","lease":"L"}',
    '{"level":40,"time":1,"pid":2,"event":"job.lease_expired","jobId":"j","presentationId":"p","previousLease":"a","previousPid":4101,"err":{"x":1}}',
  ];
  const expected = [
    { event: 'feedback.failed', time: Date.parse('2026-11-28T17:15:55.123Z'), presentationId: 'p"q', error: 'bad "x"', final: true },
    { event: 'feedback.started', time: 5, pid: 7, jobId: 'j2', lease: 'L' },
    { event: 'job.lease_expired', previousLease: 'a', previousPid: 4101 },
  ];
  lines.forEach((line, i) => {
    const e = feedbackEventFromLine(line);
    for (const [k, v] of Object.entries(expected[i])) assert.deepEqual(e[k], v, `${k} of line ${i}`);
  });
});

test('lines that are not feedback events are skipped, broken ones are GARBLED', () => {
  assert.equal(feedbackEventFromLine('{"level":30,"time":1,"event":"http.request","msg":"GET / 200"}'), undefined);
  assert.equal(feedbackEventFromLine(''), undefined);
  assert.equal(feedbackEventFromLine(marked.slice(0, 80)), GARBLED, 'cut off');
  assert.equal(feedbackEventFromLine(marked.slice(0, 100) + marked), GARBLED, 'cut off, then the next line appended');
  assert.equal(feedbackEventFromLine('not a log line'), GARBLED);
  assert.equal(parseLine('{"level":30,"time":1,"msg":"x"'), GARBLED);
  assert.equal(parseLine('   '), undefined);
});

test('the old stack: Python logging and gunicorn formats, German and English messages', () => {
  const py = parseTextLine('2026-11-28 17:15:55,123 12345 Feedback für Präsentation 17 markiert');
  assert.equal(py.pid, 12345);
  assert.equal(py.event, 'feedback.marked');
  assert.equal(py.presentationId, '17');
  assert.equal(py.time, new Date('2026-11-28T17:15:55.123').getTime(), 'asctime is local time');
  const gu = parseTextLine('[2026-11-28 17:15:55 +0100] [4242] [WARNING] Feedback generation for presentation 9 failed');
  assert.equal(gu.time, Date.parse('2026-11-28T16:15:55Z'));
  assert.equal(gu.level, 40);
  assert.equal(gu.event, 'feedback.failed');
  assert.equal(gu.presentationId, '9');
  assert.deepEqual(classifyMessage('Feedback for presentation 5 marked'), { event: 'feedback.marked', presentationId: '5' });
  assert.deepEqual(classifyMessage('Feedback-Generierung für Präsentation 6 fehlgeschlagen'), { event: 'feedback.failed', presentationId: '6' });
  assert.deepEqual(classifyMessage('Feedback-Generierung fehlgeschlagen: database is locked'), { event: 'feedback.failed', presentationId: undefined });
  assert.deepEqual(classifyMessage('Feedback f\uFFFDr Pr\uFFFDsentation 7 markiert'), { event: 'feedback.marked', presentationId: '7' }, 'a Latin-1 file read as UTF-8');
  assert.equal(classifyMessage('Booting worker with pid: 1'), undefined);
  assert.equal(parseTextLine('[2026-11-28 17:15:55 +0000] [1] [INFO] Booting worker with pid: 1').event, undefined);
});
