import { createHash } from 'node:crypto';
import { chmodSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import { dirname, join } from 'node:path';
import { ensurePrivateDir, privateSocketDir, SOCKET_FILE } from './socket-dir.js';

// The control channel of `status`, `reload` and `stop`: a Unix socket (a named pipe on
// Windows) named after the data dir, speaking one JSON request and one JSON answer per line.
export type ControlCommand = 'status' | 'reload' | 'stop' | 'scale';
/** The arguments of a command: `scale` takes the number of workers. */
export interface ControlArgs {
  workers?: number;
}

/** The server answered, and said no (e.g. a reload is already running). */
export class ControlRefused extends Error {
  override readonly name = 'ControlRefused';
}

export function controlPath(dataDir: string, platform: NodeJS.Platform = process.platform): string {
  const hash = createHash('sha256').update(dataDir).digest('hex').slice(0, 16);
  if (platform === 'win32') return `\\\\.\\pipe\\presenter-serve-${hash}`;
  const local = join(dataDir, SOCKET_FILE);
  // Unix socket paths are limited to ~104 bytes: a long data dir puts it in a private directory.
  return Buffer.byteLength(local) < 100 ? local : join(privateSocketDir(), `${hash}.sock`);
}

/** The server's socket path, its private directory created and checked (throws a ConfigError). */
export function prepareControlPath(dataDir: string): string {
  const path = controlPath(dataDir);
  if (process.platform !== 'win32' && dirname(path) === privateSocketDir()) ensurePrivateDir(dirname(path));
  return path;
}

// Only the caller holds the data dir's lock, so a socket left at the path is a dead server's
// (kill -9) and is removed. The socket is 0600: another local user cannot stop the server.
export function listenControl(dataDir: string, handle: (command: ControlCommand, args: ControlArgs) => Promise<unknown>): Promise<Server> {
  const path = prepareControlPath(dataDir);
  if (process.platform !== 'win32') rmSync(path, { force: true });
  const server = createServer((socket) => {
    let buffer = '';
    socket.setEncoding('utf8');
    socket.on('error', () => {});
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      const end = buffer.indexOf('\n');
      if (end === -1) return;
      let command: ControlCommand | undefined;
      let args: ControlArgs = {};
      try {
        const request = JSON.parse(buffer.slice(0, end)) as { command?: ControlCommand; workers?: unknown };
        command = request.command;
        if (Number.isInteger(request.workers)) args = { workers: request.workers as number };
      } catch {
        // answered below
      }
      buffer = '';
      if (command !== 'status' && command !== 'reload' && command !== 'stop' && command !== 'scale') {
        socket.end(`${JSON.stringify({ ok: false, error: 'unknown command' })}\n`);
        return;
      }
      handle(command, args).then(
        (result) => socket.end(`${JSON.stringify({ ok: true, result })}\n`),
        (error: Error) => socket.end(`${JSON.stringify({ ok: false, error: error.message })}\n`),
      );
    });
  });
  server.unref();
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      if (process.platform !== 'win32') chmodSync(path, 0o600);
      resolve(server);
    });
  });
}

export function sendControl(dataDir: string, command: ControlCommand, timeoutMs = 60_000, args: ControlArgs = {}): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(controlPath(dataDir));
    let answer = '';
    const timer = setTimeout(() => socket.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(`${JSON.stringify({ command, ...args })}\n`));
    socket.on('data', (chunk: string) => {
      answer += chunk;
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on('end', () => {
      clearTimeout(timer);
      try {
        const parsed = JSON.parse(answer) as { ok: boolean; result?: unknown; error?: string };
        if (parsed.ok) resolve(parsed.result);
        else reject(new ControlRefused(parsed.error ?? 'the server refused the command'));
      } catch {
        reject(new Error('the server closed the control connection without an answer'));
      }
    });
  });
}
