import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { Context } from '../context.js';
import { PresenterError } from '../errors.js';
import { sendControl, type ControlCommand } from '../supervisor/control.js';
import { readPidFile, removePidFile } from '../supervisor/pidfile.js';
import type { SupervisorStatus } from '../supervisor/supervisor.js';

function dataDirOf(flag: string | undefined, ctx: Context): string {
  return resolve(ctx.cwd, flag ?? ctx.env.PRESENTER_DATA_DIR ?? './data');
}

/** Finds the running server through the pid file and asks it over the control channel. */
async function ask(dataDir: string, command: ControlCommand): Promise<unknown> {
  const pid = readPidFile(dataDir);
  if (pid.state === 'none') {
    throw new PresenterError('NOT_RUNNING', `presenter-serve is not running on ${dataDir} (no pid file).`, { fix: 'Start it with `presenter-serve serve`, or pass the --data-dir it runs with.' });
  }
  if (pid.state === 'stale') {
    if (command === 'stop') removePidFile(dataDir);
    throw new PresenterError('STALE_PID', `The pid file ${pid.file} is stale: pid ${pid.pid ?? '(unreadable)'} is not running.${command === 'stop' ? ' Removed it.' : ''}`, {
      fix: command === 'stop' ? 'Nothing to stop.' : 'The server is not running (it was killed or crashed): start it with `presenter-serve serve`.',
    });
  }
  try {
    return await sendControl(dataDir, command);
  } catch (error) {
    throw new PresenterError('NO_ANSWER', `pid ${pid.pid} is alive but did not answer on the control channel: ${(error as Error).message}.`, {
      fix: `If pid ${pid.pid} is not presenter-serve, the pid file is stale: remove ${resolve(dataDir, 'presenter.pid')}.`,
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
      ctx.stdout.write(`data dir ${status.dataDir}\n\n`);
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
      while (Date.now() < deadline && readPidFile(dataDir).state === 'running') await new Promise((r) => setTimeout(r, 100));
      if (readPidFile(dataDir).state === 'running') {
        throw new PresenterError('STOP_TIMEOUT', `pid ${answer.pid} is still running after ${opts.wait} s.`, { fix: 'It may be finishing long jobs; check `presenter-serve status`, or run `stop` again.' });
      }
      ctx.stdout.write(`stopped presenter-serve (pid ${answer.pid})\n`);
    });
}
