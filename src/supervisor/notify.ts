import { execa } from 'execa';
import type { Logger } from 'pino';

// systemd's notify protocol (sd_notify(3)): datagrams of `KEY=VALUE` lines to the unix socket
// named by NOTIFY_SOCKET (a path, or `@name` for an abstract one). Node has no unix datagram
// sockets and we take no native addon, so each message is sent by systemd's own
// `systemd-notify`, which is installed wherever systemd sets NOTIFY_SOCKET. Two consequences:
// - the datagram comes from the helper's pid, not ours: the unit says NotifyAccess=all. We pass
//   --pid=<our pid>, so READY carries MAINPID and, when we run as root, the helper sends our pid
//   as its credentials (sd_pid_notify falls back to its own pid when not allowed to);
// - a message from a process that has already exited cannot be attributed to the unit:
//   systemd-notify (since systemd 246) waits on a BARRIER=1 until systemd has read the message,
//   so we never pass --no-block.
// Messages go out one at a time, in order. A failure is logged once at warn; never fatal.

export interface Notifier {
  /** READY=1: every worker serves (also at the end of a reload). */
  ready(status: string): void;
  /** RELOADING=1 with MONOTONIC_USEC (systemd ≥ 253 wants it to match the reload). */
  reloading(status: string): void;
  stopping(status: string): void;
  status(status: string): void;
  /** Stops the watchdog and waits (bounded) for the messages still on their way. */
  close(): Promise<void>;
}

const NOOP: Notifier = { ready() {}, reloading() {}, stopping() {}, status() {}, close: async () => {} };
const SEND_TIMEOUT_MS = 10_000;
const CLOSE_WAIT_MS = 5_000;

export function createNotifier(env: NodeJS.ProcessEnv, logger: Logger, pid = process.pid): Notifier {
  const socket = env.NOTIFY_SOCKET;
  if (!socket) return NOOP;
  return new SystemdNotifier(socket, env, logger, pid);
}

/** The watchdog interval in ms when systemd asks us (and not another process) to ping; else undefined. */
export function watchdogIntervalMs(env: NodeJS.ProcessEnv, pid = process.pid): number | undefined {
  const usec = Number(env.WATCHDOG_USEC);
  if (!env.WATCHDOG_USEC || !Number.isSafeInteger(usec) || usec <= 0) return undefined;
  if (env.WATCHDOG_PID && Number(env.WATCHDOG_PID) !== pid) return undefined;
  // half the timeout, as sd_watchdog_enabled(3) advises
  return Math.max(1, Math.floor(usec / 2 / 1000));
}

// STATUS= is one line: a newline would start another assignment.
const oneLine = (text: string) => text.replace(/[\r\n]+/g, ' ');

class SystemdNotifier implements Notifier {
  private chain: Promise<void> = Promise.resolve();
  private warned = false;
  private missing = false;
  private pingPending = false;
  private readonly watchdog: NodeJS.Timeout | undefined;

  constructor(
    private readonly socket: string,
    private readonly env: NodeJS.ProcessEnv,
    private readonly logger: Logger,
    private readonly pid: number,
  ) {
    const interval = watchdogIntervalMs(env, pid);
    if (interval !== undefined) {
      this.watchdog = setInterval(() => this.ping(), interval);
      this.watchdog.unref();
      this.ping();
    }
  }

  ready(status: string): void {
    this.send(['READY=1', `STATUS=${oneLine(status)}`]);
  }

  reloading(status: string): void {
    // CLOCK_MONOTONIC, which libuv's hrtime reads on Linux
    this.send(['RELOADING=1', `MONOTONIC_USEC=${process.hrtime.bigint() / 1000n}`, `STATUS=${oneLine(status)}`]);
  }

  stopping(status: string): void {
    this.send(['STOPPING=1', `STATUS=${oneLine(status)}`]);
  }

  status(status: string): void {
    this.send([`STATUS=${oneLine(status)}`]);
  }

  async close(): Promise<void> {
    clearInterval(this.watchdog);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.chain, new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_WAIT_MS)))]);
    clearTimeout(timer);
  }

  // A ping still queued (systemd slow to read) is not doubled.
  private ping(): void {
    if (this.pingPending) return;
    this.pingPending = true;
    this.send(['WATCHDOG=1'], () => (this.pingPending = false));
  }

  private send(lines: string[], done?: () => void): void {
    this.chain = this.chain.then(async () => {
      try {
        if (!this.missing) await this.run(lines);
      } finally {
        done?.();
      }
    });
  }

  private async run(lines: string[]): Promise<void> {
    const result = await execa('systemd-notify', [`--pid=${this.pid}`, ...lines], {
      reject: false,
      timeout: SEND_TIMEOUT_MS,
      stdin: 'ignore',
      env: { NOTIFY_SOCKET: this.socket, PATH: this.env.PATH ?? '/usr/bin:/bin' },
      extendEnv: false,
    });
    if (!result.failed) return;
    const notFound = (result.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
    if (notFound) this.missing = true;
    if (this.warned) return;
    this.warned = true;
    const said = `${result.stderr ?? ''}`.trim().split('\n').pop() || result.shortMessage;
    const why = notFound ? 'systemd-notify is not installed (it comes with systemd)' : said;
    this.logger.warn(
      { event: 'supervisor.notify_failed', socket: this.socket, message: lines[0], reason: why },
      `Cannot notify systemd on NOTIFY_SOCKET=${this.socket}: ${why}. Serving on; if this runs under systemd with Type=notify, it will time out waiting for READY=1 (use the unit from \`presenter-serve systemd-unit\`, or unset NOTIFY_SOCKET)`,
    );
  }
}
