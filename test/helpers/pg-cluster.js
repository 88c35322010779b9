// A throwaway PostgreSQL server of the test's own (initdb in a temp dir, a free port), for tests
// that stop and restart PostgreSQL: restarting the machine's shared server would break every other
// test using it at that moment (npm test runs two files at once, other work runs on the machine).
// Same binaries, same restart as `pg_ctlcluster … restart` (which calls pg_ctl), nobody else on it.
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { freePort } from './cli.js';

function findBindir() {
  const fromConfig = spawnSync('pg_config', ['--bindir'], { encoding: 'utf8' });
  const dirs = [];
  if (fromConfig.status === 0) dirs.push(fromConfig.stdout.trim());
  try {
    for (const v of readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a))) dirs.push(`/usr/lib/postgresql/${v}/bin`);
  } catch {
    // not Debian's layout
  }
  return dirs.find((d) => existsSync(join(d, 'initdb')) && existsSync(join(d, 'pg_ctl')));
}

const BINDIR = findBindir();
// initdb refuses to run as root: as root the cluster belongs to the `postgres` user.
const asRoot = process.getuid?.() === 0;
const postgresUser = asRoot ? spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }) : undefined;
const owner = asRoot && postgresUser?.status === 0 ? { uid: Number(postgresUser.stdout), gid: Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout) } : undefined;

export const noPrivateCluster = !BINDIR
  ? 'the PostgreSQL server binaries (initdb, pg_ctl) are not installed: apt-get install -y postgresql'
  : asRoot && !owner
    ? 'running as root and there is no `postgres` user to own a throwaway cluster (initdb refuses root)'
    : asRoot && !existsSync('/usr/sbin/runuser') && !existsSync('/sbin/runuser')
      ? 'running as root without runuser (util-linux) to run initdb as postgres'
      : false;

function run(args) {
  const [cmd, ...rest] = args;
  const full = asRoot ? ['runuser', '-u', 'postgres', '--', join(BINDIR, cmd), ...rest] : [join(BINDIR, cmd), ...rest];
  return execa(full[0], full.slice(1), { reject: false, all: true, stdin: 'ignore', timeout: 60_000 });
}

/**
 * Starts a fresh cluster on 127.0.0.1 and a free port (trust auth, role postgres); removed when the
 * test ends. `stop()`, `start()` and `restart()` are pg_ctl's, in fast mode as pg_ctlcluster uses.
 */
export async function startPrivateCluster(t) {
  const dir = mkdtempSync(join(tmpdir(), 'presenter-pg-'));
  if (owner) {
    chownSync(dir, owner.uid, owner.gid);
    chmodSync(dir, 0o700);
  }
  const data = join(dir, 'data');
  const port = await freePort();
  const options = `-c listen_addresses=127.0.0.1 -c port=${port} -c unix_socket_directories=${dir} -c fsync=off -c max_connections=60 -c shared_buffers=16MB`;
  const logFile = join(dir, 'server.log');
  const cluster = {
    port,
    dir,
    url: (database = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${database}`,
    async start() {
      const r = await run(['pg_ctl', '-D', data, '-o', options, '-l', logFile, '-w', '-t', '30', 'start']);
      if (r.exitCode !== 0) throw new Error(`pg_ctl start failed (${r.exitCode}):\n${r.all}`);
    },
    async stop(mode = 'fast') {
      const r = await run(['pg_ctl', '-D', data, '-m', mode, '-w', '-t', '30', 'stop']);
      if (r.exitCode !== 0) throw new Error(`pg_ctl stop failed (${r.exitCode}):\n${r.all}`);
    },
    async restart() {
      const r = await run(['pg_ctl', '-D', data, '-o', options, '-l', logFile, '-m', 'fast', '-w', '-t', '30', 'restart']);
      if (r.exitCode !== 0) throw new Error(`pg_ctl restart failed (${r.exitCode}):\n${r.all}`);
    },
  };
  t.after(async () => {
    await run(['pg_ctl', '-D', data, '-m', 'immediate', '-w', '-t', '30', 'stop']);
    rmSync(dir, { recursive: true, force: true });
  });
  const init = await run(['initdb', '-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--locale=C', '--no-sync']);
  if (init.exitCode !== 0) throw new Error(`initdb failed (${init.exitCode}):\n${init.all}`);
  await cluster.start();
  return cluster;
}
