import type { Context } from '../context.js';

export interface PlatformChoice {
  profile: 'safe' | 'windows';
  reason: string;
  wsl: boolean;
}

// WSL reports linux; it is detected only to say so, it runs the Linux profile.
export function detectPlatform(ctx: Pick<Context, 'platform' | 'env' | 'readSystemFile'>): PlatformChoice {
  if (ctx.platform === 'win32') {
    return { profile: 'windows', reason: 'platform is win32: the windows profile serves from the primary process, as waitress did', wsl: false };
  }
  const version = ctx.platform === 'linux' ? (ctx.readSystemFile('/proc/version') ?? '') : '';
  const wsl = Boolean(ctx.env.WSL_DISTRO_NAME) || /microsoft/i.test(version);
  if (wsl) return { profile: 'safe', reason: 'platform is linux under WSL (treated as Linux)', wsl: true };
  return { profile: 'safe', reason: `platform is ${ctx.platform}`, wsl: false };
}
