import cluster, { type Worker } from 'node:cluster';
import type { Readable, Writable } from 'node:stream';
import { ACCESS_FD } from '../logging/access.js';
import type { AccessSink } from '../logging/access-sink.js';
import type { LogSink } from '../logging/sink.js';
import { isMessage, type FromWorker, type ToWorker } from './messages.js';

const READY_TIMEOUT_MS = 30_000;
const STDERR_TAIL_LINES = 30;

// One forked worker process as the supervisor sees it: its pid, times, the tail of its stderr
// (for the crash-loop message), and a promise that settles when it has exited.
export interface WorkerProcess {
  readonly worker: Worker;
  readonly id: number;
  readonly pid: number | undefined;
  readonly startedAt: number;
  readyAt: number | undefined;
  exit: { code: number | null; signal: string | null } | undefined;
  readonly stderrTail: string[];
  readonly exited: Promise<void>;
}

export interface WorkerEvents {
  ready(proc: WorkerProcess): void;
  exited(proc: WorkerProcess): void;
  message(proc: WorkerProcess, message: FromWorker): void;
  /** An IPC or process error; see `channelGone` for the ones a dying worker causes. */
  error(proc: WorkerProcess, error: NodeJS.ErrnoException): void;
}

// A message written to a worker the kernel has just killed, before its exit reached the event
// loop, fails with EPIPE (or ECONNRESET, or a closed channel). Its exit follows and is handled
// there. Without a listener, cluster re-emits the error on the Worker and the supervisor died of
// it: a SIGKILLed worker at the wrong moment took the whole server down.
const CHANNEL_GONE = new Set(['EPIPE', 'ECONNRESET', 'ERR_IPC_CHANNEL_CLOSED', 'ERR_IPC_DISCONNECTED']);
export const channelGone = (error: NodeJS.ErrnoException): boolean => error.code !== undefined && CHANNEL_GONE.has(error.code);

export function forkWorker(env: NodeJS.ProcessEnv, sink: LogSink, access: AccessSink | undefined, stderr: Writable, events: WorkerEvents): WorkerProcess {
  const worker = cluster.fork(env);
  let markExited!: () => void;
  const proc: WorkerProcess = {
    worker,
    id: worker.id,
    pid: worker.process.pid,
    startedAt: Date.now(),
    readyAt: undefined,
    exit: undefined,
    stderrTail: [],
    exited: new Promise<void>((resolve) => (markExited = resolve)),
  };
  if (worker.process.stdout) sink.forward(worker.process.stdout);
  const accessPipe = worker.process.stdio[ACCESS_FD] as Readable | null | undefined;
  if (access && accessPipe) access.forward(accessPipe);
  worker.process.stderr?.setEncoding('utf8');
  worker.process.stderr?.on('data', (chunk: string) => {
    stderr.write(chunk);
    proc.stderrTail.push(...chunk.split('\n').filter((l) => l.trim() !== ''));
    if (proc.stderrTail.length > STDERR_TAIL_LINES) proc.stderrTail.splice(0, proc.stderrTail.length - STDERR_TAIL_LINES);
  });
  worker.on('error', (error: NodeJS.ErrnoException) => events.error(proc, error));
  // A worker that hangs in start-up is killed; its exit is then handled like any other.
  const readyTimer = setTimeout(() => worker.process.kill('SIGKILL'), READY_TIMEOUT_MS);
  worker.on('message', (message: unknown) => {
    if (!isMessage<FromWorker>(message)) return;
    if (message.type === 'ready') {
      if (proc.readyAt !== undefined) return;
      clearTimeout(readyTimer);
      proc.readyAt = Date.now();
      events.ready(proc);
      return;
    }
    events.message(proc, message);
  });
  // `exited` settles once its last log lines are in too: stdout can end after the exit event.
  const closed = (stream: Readable | null | undefined) => (stream ? new Promise<void>((resolve) => stream.once('close', () => resolve())) : Promise.resolve());
  const stdoutDone = Promise.all([closed(worker.process.stdout), closed(access ? accessPipe : undefined)]);
  worker.on('exit', (code, signal) => {
    clearTimeout(readyTimer);
    proc.exit = { code, signal };
    events.exited(proc);
    void stdoutDone.then(markExited);
  });
  return proc;
}

export function sendTo(proc: WorkerProcess, message: ToWorker): void {
  // the callback takes a failed write's error, which would otherwise be emitted as 'error'
  if (proc.worker.isConnected()) proc.worker.send(message, undefined, (error) => error && proc.worker.emit('error', error));
}

/** Asks a worker to stop; kills it if it is still running `graceMs` + 5 s later. */
export function stopWorker(proc: WorkerProcess, graceMs: number, onKill: () => void): void {
  if (proc.exit) return;
  const timer = setTimeout(() => {
    onKill();
    proc.worker.process.kill('SIGKILL');
  }, graceMs + 5000);
  void proc.exited.then(() => clearTimeout(timer));
  sendTo(proc, { type: 'stop', timeoutMs: graceMs });
}

export function describeExit(proc: WorkerProcess): string {
  const how = proc.exit?.signal ? `signal ${proc.exit.signal}` : `code ${proc.exit?.code ?? '?'}`;
  const last = proc.stderrTail[proc.stderrTail.length - 1];
  return `${how}${last ? `: ${last}` : ''}`;
}
