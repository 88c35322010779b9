import { detectPlatform } from '../config/platform.js';
import type { CheckResult, DoctorEnv } from './types.js';

const ID = 'platform';
const TITLE = 'Platform and profile';

// The platform, what `--profile auto` picks on it, and whether the chosen profile fits.
export async function checkPlatform(env: Pick<DoctorEnv, 'settings' | 'platform' | 'arch' | 'env' | 'readSystemFile'>): Promise<CheckResult> {
  const auto = detectPlatform({ platform: env.platform, env: env.env, readSystemFile: env.readSystemFile });
  const { profile, profileReason, fork, workers } = env.settings;
  const where = `${auto.wsl ? 'linux under WSL' : env.platform} (${env.arch})`;
  const facts = `${where}; profile ${profile} (${profileReason}); auto picks ${auto.profile} here`;
  if (env.platform === 'win32' && fork && workers > 1) {
    return {
      id: ID,
      title: TITLE,
      status: 'warn',
      detail: `${facts}. Profile ${profile} forks ${workers} workers on Windows, where the tested set-up is the windows profile (the primary serves, no fork).`,
      fix: 'Use --profile windows (or auto).',
    };
  }
  const wslNote = auto.wsl ? ' Under WSL keep the data dir in the Linux file system (not /mnt/c) and start serve from a WSL shell.' : '';
  return { id: ID, title: TITLE, status: 'pass', detail: `${facts}.${wslNote}` };
}
