// A real nginx (Debian's /usr/sbin/nginx) run by the test: a temp prefix, a free port, in the foreground.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { freePort, makeDataDir, sleep } from './cli.js';

export const NGINX = '/usr/sbin/nginx';
export const noNginx = existsSync(NGINX) ? false : `nginx is not installed (${NGINX}): apt-get install -y nginx`;

/** Writes `render({ listen, prefix })` as nginx.conf under a temp prefix, runs nginx with it, waits until it accepts. */
export async function startNginx(t, render) {
  const prefix = makeDataDir(t, 'presenter-nginx-');
  const port = await freePort();
  const file = join(prefix, 'nginx.conf');
  writeFileSync(file, render({ listen: `127.0.0.1:${port}`, prefix }));
  const child = execa(NGINX, ['-c', file, '-p', prefix, '-g', 'daemon off;'], { reject: false, stdin: 'ignore', all: true });
  t.after(async () => {
    child.kill('SIGTERM');
    await child;
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 400; i++) {
    if (child.exitCode !== null) break;
    try {
      await fetch(`${url}/__nginx_ready`, { signal: AbortSignal.timeout(1000) });
      return { url, port, prefix, file, child };
    } catch {
      await sleep(25);
    }
  }
  child.kill('SIGKILL');
  const r = await child;
  throw new Error(`nginx did not start (exit ${r.exitCode}):\n${r.all}`);
}
