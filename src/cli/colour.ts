import { Chalk, type ChalkInstance } from 'chalk';

// chalk decides from process.stdout; commands write to ctx.stdout, so every command decides for
// that stream here, with the same rules: NO_COLOR wins, FORCE_COLOR forces, otherwise only on a TTY.
export function useColour(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined) return env.FORCE_COLOR !== '0' && env.FORCE_COLOR !== 'false';
  return Boolean(stream.isTTY);
}

export function chalkFor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv): ChalkInstance {
  return new Chalk({ level: useColour(stream, env) ? 1 : 0 });
}
