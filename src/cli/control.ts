import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { Context } from '../context.js';
import { PresenterError } from '../errors.js';
import { ControlRefused, controlPath, sendControl, type ControlArgs, type ControlCommand } from '../supervisor/control.js';
import { parseIntFlag } from '../config/resolve.js';
import { pidFromFile, readPidFile, removePidFile } from '../supervisor/pidfile.js';
import { describeDriver, type SupervisorStatus } from '../supervisor/status.js';

function dataDirOf(flag: string | undefined, ctx: Context): string {
  return resolve(ctx.cwd, flag ?? ctx.env.PRESENTER_DATA_DIR ?? './data');
}

/**
 * Finds the running server and asks it over the control channel. Whether a server runs is the
 * data dir's lock (held by a live server, released by the kernel when it dies), not the pid
 * file: a pid file can name a dead process, or a live one that reused its pid.
 */
async function ask(dataDir: string, command: ControlCommand, args: ControlArgs = {}): Promise<unknown> {
  // loaded here, not at start: better-sqlite3 is for these commands only (cli/main.ts loads every command's options)
  const { isDataDirLocked } = await import('../supervisor/lock.js');
  if (!isDataDirLocked(dataDir)) {
    const pid = readPidFile(dataDir);
    // not running: `status` exits 3 (the LSB convention, what systemd and init scripts test), the others 1
    const exitCode = command === 'status' ? 3 : 1;
    if (pid.state === 'none') {
      throw new PresenterError('NOT_RUNNING', `presenter-serve is not running on ${dataDir} (no pid file).`, { exitCode, fix: 'Start it with `presenter-serve serve`, or pass the --data-dir it runs with.' });
    }
    if (command === 'stop') removePidFile(dataDir);
    const why = pid.pid === undefined ? 'it names no pid' : pid.state === 'running' ? `pid ${pid.pid} is another program, not a server holding this data dir` : `pid ${pid.pid} is not running`;
    throw new PresenterError('STALE_PID', `The pid file ${resolve(dataDir, 'presenter.pid')} is stale: ${why}.${command === 'stop' ? ' Removed it.' : ''}`, {
      exitCode,
      fix: command === 'stop' ? 'Nothing to stop.' : 'The server is not running (it was killed or crashed): start it with `presenter-serve serve`.',
    });
  }
  const pid = pidFromFile(dataDir);
  const who = `presenter-serve (pid ${pid ?? 'unknown'})`;
  try {
    return await sendControl(dataDir, command, 60_000 + (command === 'scale' ? 30_000 : 0), args);
  } catch (error) {
    if (error instanceof ControlRefused) throw new PresenterError('REFUSED', `${who} refused \`${command}\`: ${error.message}.`);
    throw new PresenterError('NO_ANSWER', `${who} holds ${dataDir} but did not answer on its control socket ${controlPath(dataDir)}: ${(error as Error).message}.`, {
      fix: 'It may be starting or stopping: try again in a few seconds. If it stays so, its log says why; `kill -TERM` the pid stops it.',
    });
  }
}

function formatStatus(status: SupervisorStatus): string {
  const out: string[] = [];
  out.push(`presenter-serve running: pid ${status.pid}, profile ${status.profile}, ${status.host}:${status.port}, up ${formatUptime(status.uptimeSec)}`);
  out.push(`data dir ${status.dataDir}, store ${status.store === 'sqlite' ? `SQLite in the data dir (sqlite driver: ${status.sqliteDriver ? describeDriver(status.sqliteDriver) : 'unknown'})` : `PostgreSQL ${status.store}`}, queue ${status.queueDepth ?? '-'} job(s) waiting`);
  out.push('');
  const num = (n: number | null, unit = ''): string => (n === null ? '-' : `${n}${unit}`);
  const rows = [
    ['WORKER', 'PID', 'STATE', 'UPTIME', 'RESTARTS', 'CPU', 'REQ/S', 'ELD P99', 'RSS', 'JOBS', 'LAST EXIT'],
    ...status.workers.map((w) => [
      String(w.id),
      String(w.pid ?? '-'),
      w.state,
      formatUptime(w.uptimeSec),
      String(w.restarts),
      num(w.cpuPercent, '%'),
      num(w.requestsPerSec),
      num(w.eventLoopDelayMs, ' ms'),
      formatBytes(w.rssBytes),
      String(w.activeJobs ?? '-'),
      w.lastExit ?? '-',
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows) out.push(r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd());
  if (status.mode === 'single') out.push('', 'windows profile: the primary serves by itself; no worker to replace, recycle, scale or hand connections to');
  return `${out.join('\n')}\n`;
}

function formatBytes(bytes: number | null): string {
  return bytes === null ? '-' : `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function formatUptime(sec: number): string {
  if (sec < 60) return `${sec}s`;
  if (sec < 3600) return `${Math.floor(sec / 60)}m${sec % 60}s`;
  return `${Math.floor(sec / 3600)}h${Math.floor((sec % 3600) / 60)}m`;
}

export function registerControl(program: Command, ctx: Context): void {
  program
    .command('status')
    .description('Show the running server: supervisor, profile, uptime and each worker')
    .option('--data-dir <dir>', 'the data dir the server runs with (PRESENTER_DATA_DIR, default ./data)')
    .option('--json', 'print JSON')
    .option('--watch', 'refresh every 2 s (in place on a terminal, like pm2 monit; a block of lines each time when piped) until Ctrl-C')
    .action(async (opts: { dataDir?: string; json?: boolean; watch?: boolean }) => {
      const dataDir = dataDirOf(opts.dataDir, ctx);
      const show = async (): Promise<void> => {
        const status = (await ask(dataDir, 'status')) as SupervisorStatus;
        ctx.stdout.write(opts.json ? `${JSON.stringify(status, null, opts.watch ? undefined : 2)}\n` : formatStatus(status));
      };
      if (!opts.watch) return show();
      const tty = (ctx.stdout as { isTTY?: boolean }).isTTY === true && !opts.json;
      let stopped = false;
      process.once('SIGINT', () => (stopped = true));
      while (!stopped) {
        if (tty) ctx.stdout.write('\x1b[H\x1b[2J'); // home, clear: refreshed in place
        else if (!opts.json) ctx.stdout.write(`--- ${new Date().toISOString()}\n`);
        await show(); // a server that stops meanwhile ends the watch with exit 3
        for (let i = 0; i < 20 && !stopped; i++) await new Promise((r) => setTimeout(r, 100));
      }
    });

  program
    .command('scale')
    .description('Run N workers: new ones start, removed ones drain as in a reload, with no failed request (also: SIGTTIN/SIGTTOU, one more/less)')
    .argument('<workers>', 'the number of workers, 1 to 64', parseIntFlag('workers', 1, 64))
    .option('--data-dir <dir>', 'the data dir the server runs with')
    .action(async (workers: number, opts: { dataDir?: string }) => {
      const result = (await ask(dataDirOf(opts.dataDir, ctx), 'scale', { workers })) as { from: number; to: number; pids: number[] };
      ctx.stdout.write(`scaled from ${result.from} to ${result.to} worker(s); pids ${result.pids.join(', ')}\n`);
    });

  program
    .command('reload')
    .description('Replace the workers one at a time with no dropped request (also: SIGHUP to the supervisor)')
    .option('--data-dir <dir>', 'the data dir the server runs with')
    .action(async (opts: { dataDir?: string }) => {
      const result = (await ask(dataDirOf(opts.dataDir, ctx), 'reload')) as { reloaded: number; pids: number[]; changed?: string[]; notLive?: string[] };
      ctx.stdout.write(`reloaded ${result.reloaded} worker(s); new pids ${result.pids.join(', ')}\n`);
      if (result.changed?.length) ctx.stdout.write(`settings changed: ${result.changed.join(', ')}\n`);
      if (result.notLive?.length) ctx.stdout.write(`not applied until a restart (the supervisor's own): ${result.notLive.join(', ')}\n`);
      if (!result.changed?.length && !result.notLive?.length) ctx.stdout.write('no setting changed\n');
    });

  program
    .command('stop')
    .description('Stop the running server gracefully')
    .option('--data-dir <dir>', 'the data dir the server runs with')
    .option('--wait <seconds>', 'wait until it has exited (default 60)', '60')
    .action(async (opts: { dataDir?: string; wait: string }) => {
      const dataDir = dataDirOf(opts.dataDir, ctx);
      const answer = (await ask(dataDir, 'stop')) as { pid: number };
      const { isDataDirLocked } = await import('../supervisor/lock.js');
      const deadline = Date.now() + Number(opts.wait) * 1000;
      while (Date.now() < deadline && isDataDirLocked(dataDir)) await new Promise((r) => setTimeout(r, 100));
      if (isDataDirLocked(dataDir)) {
        throw new PresenterError('STOP_TIMEOUT', `pid ${answer.pid} is still running after ${opts.wait} s.`, { fix: 'It may be finishing long jobs; check `presenter-serve status`, or run `stop` again.' });
      }
      ctx.stdout.write(`stopped presenter-serve (pid ${answer.pid})\n`);
    });
}
