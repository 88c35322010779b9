// The supervisor's POSIX signals (DESIGN.md): TERM/INT (BREAK on Windows) stop, a second one
// forces; HUP reloads. Windows has no HUP: the control channel does the same there.
export interface SignalHandlers {
  stop(signal: string): void;
  reload(): void;
}

export function installSignals(handlers: SignalHandlers): void {
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGBREAK'] as const) {
    try {
      process.on(signal, () => handlers.stop(signal));
    } catch {
      // not on this platform
    }
  }
  try {
    process.on('SIGHUP', () => handlers.reload());
  } catch {
    // no SIGHUP on Windows: use `presenter-serve reload`
  }
}
