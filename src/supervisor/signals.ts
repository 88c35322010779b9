import type { Logger } from 'pino';

// The supervisor's POSIX signals (DESIGN.md, "Signals"): every signal an operator may send has
// one defined effect and one `supervisor.signal` log line saying what is done.
//   TERM/INT (BREAK on Windows)  graceful stop; a second one forces
//   QUIT                         quick stop: in-flight work gets no grace period
//   HUP                          reload
//   USR1                         reopen the log files (logrotate's postrotate); never the inspector
//   USR2, WINCH                  logged and ignored
//   TTIN, TTOU                   one worker more / less (as `presenter-serve scale`)
// Windows has none of these but INT and BREAK: the control channel does the same there.
export interface SignalHandlers {
  stop(signal: string): void;
  quickStop(signal: string): void;
  reload(): void;
  reopenLogs(): void;
  /** One worker more (TTIN) or less (TTOU). */
  scale(delta: 1 | -1, signal: string): void;
}

type Action = { action: string; run?: () => void };

function on(signal: NodeJS.Signals, listener: () => void): void {
  try {
    process.on(signal, listener);
  } catch {
    // not on this platform (Windows has no HUP, QUIT, USR1, …)
  }
}

// Node starts its inspector on 127.0.0.1:9229 at SIGUSR1 unless a JavaScript listener is
// installed (Node 20 has no --disable-sigusr1): in a server that may run as root, an open debug
// port is a way in. This listener is installed as early as possible, and for good: removing the
// last SIGUSR1 listener gives the signal back to the inspector.
let usr1 = (): void => {};
let usr1Installed = false;
export function disableInspectorSignal(): void {
  if (usr1Installed) return;
  usr1Installed = true;
  on('SIGUSR1', () => usr1());
}

export function installSignals(handlers: SignalHandlers, logger: Logger): void {
  const actions: Partial<Record<NodeJS.Signals, Action>> = {
    SIGINT: { action: 'graceful stop (a second one forces)', run: () => handlers.stop('SIGINT') },
    SIGTERM: { action: 'graceful stop (a second one forces)', run: () => handlers.stop('SIGTERM') },
    SIGBREAK: { action: 'graceful stop (a second one forces)', run: () => handlers.stop('SIGBREAK') },
    SIGQUIT: { action: 'quick stop', run: () => handlers.quickStop('SIGQUIT') },
    SIGHUP: { action: 'reload', run: () => handlers.reload() },
    SIGUSR1: { action: 'reopen the log files', run: () => handlers.reopenLogs() },
    SIGUSR2: { action: 'ignored' },
    SIGWINCH: { action: 'ignored' },
    // gunicorn's: one worker more / less (their default would stop a background process)
    SIGTTIN: { action: 'one worker more', run: () => handlers.scale(1, 'SIGTTIN') },
    SIGTTOU: { action: 'one worker less', run: () => handlers.scale(-1, 'SIGTTOU') },
  };
  const handle = (signal: NodeJS.Signals, { action, run }: Action): void => {
    logger.info({ event: 'supervisor.signal', signal, action }, `${signal}: ${action}`);
    run?.();
  };
  for (const [signal, action] of Object.entries(actions) as [NodeJS.Signals, Action][]) {
    if (signal === 'SIGUSR1') {
      disableInspectorSignal();
      usr1 = () => handle(signal, action);
    } else {
      on(signal, () => handle(signal, action));
    }
  }
}

/** A worker's signals: the supervisor decides, over IPC. These only keep their defaults away. */
export function ignoreWorkerSignals(): void {
  // The terminal sends Ctrl-C, Ctrl-\ and window changes to the whole process group; TTIN/TTOU
  // would stop the worker; USR1 would open the inspector; USR2's default ends the process.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'SIGQUIT', 'SIGUSR2', 'SIGWINCH', 'SIGTTIN', 'SIGTTOU'] as const) on(signal, () => {});
  disableInspectorSignal();
}
