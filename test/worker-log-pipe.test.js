import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';

// A worker's log goes through a socket to its supervisor (its stdout, as cluster.fork makes it).
// That socket is made blocking (src/logging/blocking-pipe.ts): sonic-boom's writes then wait for
// the reader instead of meeting EAGAIN and trying again 100 ms later.

const O_NONBLOCK = 0o4000;
const LINES = 20_000;

const CHILD = `
import { readFileSync } from 'node:fs';
import { createWorkerLogger, drainLogger, flushLoggerSync } from ${JSON.stringify(new URL('../dist/logging/logger.js', import.meta.url).href)};
// Any module that asks process.stdout.isTTY (colour checks do) opens fd 1 as a libuv pipe, which
// makes it non-blocking: a real worker's fd 1 was (flags 02004002) before the logger fixed it.
if (process.stdout.isTTY) throw new Error('stdout must be the pipe here');
const logger = createWorkerLogger('info', 1);
const flags = parseInt(/^flags:\\s+(\\d+)/m.exec(readFileSync('/proc/self/fdinfo/1', 'utf8'))[1], 8);
process.stderr.write(JSON.stringify({ flags }) + '\\n');
const pad = 'x'.repeat(200);
let seq = 0;
// in turns of 1,000 lines, as a worker under load logs them: the reader is slower at first
function turn() {
  for (let i = 0; i < 1000 && seq < ${LINES}; i++) logger.info({ event: 'test.line', seq: seq++, pad }, 'line');
  if (seq < ${LINES}) setImmediate(turn);
  else {
    // what a stopping worker does before process.exit (src/worker/main.ts)
    drainLogger(logger, 5000).then(() => {
      flushLoggerSync(logger);
      process.exit(0);
    });
  }
}
turn();
`;

test('a worker\'s log pipe is blocking, and every line reaches a slow reader whole and in order before the worker exits', { skip: process.platform !== 'linux' && 'reads /proc/self/fdinfo' }, async () => {
  const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const chunks = [];
  let reads = 0;
  child.stdout.on('data', (chunk) => {
    chunks.push(chunk);
    // Slow at first: nothing read for 500 ms after the first chunk (the child logs all its lines
    // meanwhile and starts its exit with a write blocked on the full socket), then 20 reads 10 ms
    // apart: the socket fills and the writer must wait, again and again.
    reads += 1;
    if (reads <= 21) {
      child.stdout.pause();
      setTimeout(() => child.stdout.resume(), reads === 1 ? 500 : 10);
    }
  });
  const code = await new Promise((resolve) => child.on('close', resolve));
  assert.equal(code, 0, stderr);
  const { flags } = JSON.parse(stderr.split('\n')[0]);
  assert.equal(flags & O_NONBLOCK, 0, `fd 1 flags ${flags.toString(8)}: still non-blocking`);
  const lines = Buffer.concat(chunks).toString('utf8').split('\n');
  assert.equal(lines.pop(), '', 'the output ends with a whole line');
  const seqs = lines.map((line) => JSON.parse(line)).filter((l) => l.event === 'test.line').map((l) => l.seq);
  assert.equal(seqs.length, LINES, `${seqs.length} of ${LINES} lines arrived`);
  assert.ok(seqs.every((s, i) => s === i), 'in order, none twice');
  assert.ok(reads > 21, `the reader was slow for 21 of ${reads} reads`);
});
