import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { Context } from '../context.js';
import { PresenterError } from '../errors.js';
import { ControlRefused, controlPath, sendControl, type ControlCommand } from '../supervisor/control.js';
import { isDataDirLocked } from '../supervisor/lock.js';
import { pidFromFile, readPidFile, removePidFile } from '../supervisor/pidfile.js';
import type { SupervisorStatus } from '../supervisor/status.js';

function dataDirOf(flag: string | undefined, ctx: Context): string {
  return resolve(ctx.cwd, flag ?? ctx.env.PRESENTER_DATA_DIR ?? './data');
}

/**
 * Finds the running server and asks it over the control channel. Whether a server runs is the
 * data dir's lock (held by a live server, released by the kernel when it dies), not the pid
 * file: a pid file can name a dead process, or a live one that reused its pid.
 */
async function ask(dataDir: string, command: ControlCommand): Promise<unknown> {
  if (!isDataDirLocked(dataDir)) {
    const pid = readPidFile(dataDir);
    if (pid.state === 'none') {
      throw new PresenterError('NOT_RUNNING', `presenter-serve is not running on ${dataDir} (no pid file).`, { fix: 'Start it with `presenter-serve serve`, or pass the --data-dir it runs with.' });
    }
    if (command === 'stop') removePidFile(dataDir);
    const why = pid.pid === undefined ? 'it names no pid' : pid.state === 'running' ? `pid ${pid.pid} is another program, not a server holding this data dir` : `pid ${pid.pid} is not running`;
    throw new PresenterError('STALE_PID', `The pid file ${resolve(dataDir, 'presenter.pid')} is stale: ${why}.${command === 'stop' ? ' Removed it.' : ''}`, {
      fix: command === 'stop' ? 'Nothing to stop.' : 'The server is not running (it was killed or crashed): start it with `presenter-serve serve`.',
    });
  }
  const pid = pidFromFile(dataDir);
  const who = `presenter-serve (pid ${pid ?? 'unknown'})`;
  try {
    return await sendControl(dataDir, command);
  } catch (error) {
    if (error instanceof ControlRefused) throw new PresenterError('REFUSED', `${who} refused \`${command}\`: ${error.message}.`);
    throw new PresenterError('NO_ANSWER', `${who} holds ${dataDir} but did not answer on its control socket ${controlPath(dataDir)}: ${(error as Error).message}.`, {
      fix: 'It may be starting or stopping: try again in a few seconds. If it stays so, its log says why; `kill -TERM` the pid stops it.',
    });
  }
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
    .action(async (opts: { dataDir?: string; json?: boolean }) => {
      const status = (await ask(dataDirOf(opts.dataDir, ctx), 'status')) as SupervisorStatus;
      if (opts.json) {
        ctx.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
        return;
      }
      ctx.stdout.write(`presenter-serve running: pid ${status.pid}, profile ${status.profile}, ${status.host}:${status.port}, up ${formatUptime(status.uptimeSec)}\n`);
      ctx.stdout.write(`data dir ${status.dataDir}, store ${status.store === 'sqlite' ? 'SQLite in the data dir' : `PostgreSQL ${status.store}`}\n\n`);
      const rows = [['WORKER', 'PID', 'STATE', 'UPTIME', 'RESTARTS', 'RSS', 'JOBS'], ...status.workers.map((w) => [String(w.id), String(w.pid ?? '-'), w.state, formatUptime(w.uptimeSec), String(w.restarts), formatBytes(w.rssBytes), String(w.activeJobs ?? '-')])];
      const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
      for (const r of rows) ctx.stdout.write(`${r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()}\n`);
    });

  program
    .command('reload')
    .description('Replace the workers one at a time with no dropped request (also: SIGHUP to the supervisor)')
    .option('--data-dir <dir>', 'the data dir the server runs with')
    .action(async (opts: { dataDir?: string }) => {
      const result = (await ask(dataDirOf(opts.dataDir, ctx), 'reload')) as { reloaded: number; pids: number[] };
      ctx.stdout.write(`reloaded ${result.reloaded} worker(s); new pids ${result.pids.join(', ')}\n`);
    });

  program
    .command('stop')
    .description('Stop the running server gracefully')
    .option('--data-dir <dir>', 'the data dir the server runs with')
    .option('--wait <seconds>', 'wait until it has exited (default 60)', '60')
    .action(async (opts: { dataDir?: string; wait: string }) => {
      const dataDir = dataDirOf(opts.dataDir, ctx);
      const answer = (await ask(dataDir, 'stop')) as { pid: number };
      const deadline = Date.now() + Number(opts.wait) * 1000;
      while (Date.now() < deadline && isDataDirLocked(dataDir)) await new Promise((r) => setTimeout(r, 100));
      if (isDataDirLocked(dataDir)) {
        throw new PresenterError('STOP_TIMEOUT', `pid ${answer.pid} is still running after ${opts.wait} s.`, { fix: 'It may be finishing long jobs; check `presenter-serve status`, or run `stop` again.' });
      }
      ctx.stdout.write(`stopped presenter-serve (pid ${answer.pid})\n`);
    });
}
