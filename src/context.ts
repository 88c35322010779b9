import type { Writable } from 'node:stream';

// Side effects come in through this object so that most code can be tested in-process
// with an injected platform, environment, clock and output.
export interface Context {
  readonly stdout: Writable & { isTTY?: boolean };
  readonly stderr: Writable & { isTTY?: boolean };
  readonly env: NodeJS.ProcessEnv;
  readonly platform: NodeJS.Platform;
  readonly cwd: string;
  readonly now: () => number;
  /** Reads a file used for platform detection (e.g. /proc/version); undefined when absent. */
  readonly readSystemFile: (path: string) => string | undefined;
}

export async function defaultContext(): Promise<Context> {
  const { readFileSync } = await import('node:fs');
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    platform: process.platform,
    cwd: process.cwd(),
    now: () => Date.now(),
    readSystemFile: (path) => {
      try {
        return readFileSync(path, 'utf8');
      } catch {
        return undefined;
      }
    },
  };
}
