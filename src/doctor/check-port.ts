import { join } from 'node:path';
import { isDataDirLocked, LOCK_FILE } from '../supervisor/lock.js';
import type { CheckResult, DoctorEnv } from './types.js';

const ID = 'port';
const TITLE = 'Port free';

function holderHint(platform: NodeJS.Platform, port: number): string {
  if (platform === 'win32') return `netstat -ano | findstr :${port}`;
  if (platform === 'darwin') return `lsof -nP -iTCP:${port} -sTCP:LISTEN`;
  return `ss -ltnp 'sport = :${port}'`;
}

/**
 * The server running on this data dir, if one is: decided by the data dir's lock, which only a
 * live server holds (as status and stop do), not by the pid file — that can name a live program
 * that reused a dead server's pid. The pid, from the pid file, is only for the message.
 */
export async function runningServer(env: Pick<DoctorEnv, 'settings' | 'fs'>): Promise<{ pid: number | undefined } | undefined> {
  if (!isDataDirLocked(env.settings.dataDir)) return undefined;
  const text = await env.fs.readText(join(env.settings.dataDir, 'presenter.pid'));
  const pid = Number.parseInt(text?.trim() ?? '', 10);
  return { pid: Number.isInteger(pid) && pid > 0 ? pid : undefined };
}

// Tries to listen where the profile binds, as serve will.
export async function checkPort(env: Pick<DoctorEnv, 'settings' | 'platform' | 'fs' | 'listen'>): Promise<CheckResult> {
  const { host, port } = env.settings;
  const bind = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  if (port === 0) return { id: ID, title: TITLE, status: 'pass', detail: `Port 0: the system picks a free port at start-up.` };
  const code = await env.listen(host, port);
  if (code === undefined) return { id: ID, title: TITLE, status: 'pass', detail: `${bind} is free.` };
  if (code === 'EADDRINUSE') {
    const server = await runningServer(env);
    if (server) {
      return { id: ID, title: TITLE, status: 'pass', detail: `${bind} is in use by the presenter-serve of this data dir (pid ${server.pid ?? 'unknown'}, holding ${LOCK_FILE}): it is running.` };
    }
    return {
      id: ID,
      title: TITLE,
      status: 'fail',
      detail: `${bind} is already in use by another process.`,
      fix: `Find the holder with \`${holderHint(env.platform, port)}\` and stop it, or choose another port with --port or PRESENTER_PORT.`,
    };
  }
  if (code === 'EACCES' || code === 'EPERM') {
    const low = port < 1024;
    return {
      id: ID,
      title: TITLE,
      status: 'fail',
      detail: low ? `Listening on ${bind} is not allowed: ports below 1024 need privileges.` : `Listening on ${bind} is not allowed (${code}).`,
      fix: low
        ? 'Use a port from 1024 up (the default is 5000) behind a reverse proxy, or allow it: `sudo setcap cap_net_bind_service=+ep "$(command -v node)"`.'
        : 'Check firewall or security policy (SELinux, AppArmor) for this port, or choose another with --port.',
    };
  }
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return { id: ID, title: TITLE, status: 'fail', detail: `Cannot listen on ${bind}: ${host} is not an address of this machine (${code}).`, fix: 'Set PRESENTER_HOST / --host to an address of this machine, 0.0.0.0 (all IPv4) or 127.0.0.1 (local only).' };
  }
  return { id: ID, title: TITLE, status: 'fail', detail: `Cannot listen on ${bind}: ${code}.`, fix: 'Choose another host or port with --host / --port.' };
}
