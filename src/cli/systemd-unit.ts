import { existsSync, statSync } from 'node:fs';
import { isAbsolute, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Option, type Command } from 'commander';
import type { Context } from '../context.js';
import { parseIntFlag } from '../config/resolve.js';
import { ConfigError } from '../errors.js';
import { withoutTrailingSlashes } from '../fs/trailing-slashes.js';

const DEFAULT_DATA_DIR = '/var/lib/presenter-serve';
// systemd's relaxed user/group names (letters, digits, _ . -), or a numeric id
const NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/;

interface UnitFlags {
  user?: string;
  group?: string;
  dataDir?: string;
  profile?: string;
  port?: number;
  workingDirectory?: string;
  envFile?: string;
  environmentFile?: string;
  gracefulTimeout?: number;
  watchdog: number;
}

function account(flag: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (NAME.test(value) || (/^\d+$/.test(value) && Number(value) < 4294967295)) return value;
  throw new ConfigError('BAD_FLAG', `Expected ${flag} to be a name (letters, digits, _ . -, starting with a letter or _, at most 32 characters) or a numeric id, got \`${value}\`.`, {
    fix: 'Create a system account, e.g. `useradd --system --home-dir /nonexistent --shell /usr/sbin/nologin presenter`, and pass its name.',
  });
}

// A unit file splits on spaces and has no way to say some characters at all: refuse them here.
function absolutePath(flag: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (!isAbsolute(value)) {
    throw new ConfigError('BAD_FLAG', `Expected ${flag} to be an absolute path (systemd starts the service from /), got \`${value}\`.`, { fix: `Pass the full path, e.g. ${flag} "$(realpath -m '${value}')".` });
  }
  if (/[\s"'\\;]/.test(value) || [...value].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f)) {
    throw new ConfigError('BAD_FLAG', `${flag} \`${value}\` holds a space, quote, backslash, semicolon or control character, which a unit file cannot hold in every setting.`, { fix: 'Choose a path without them (or a symbolic link without them to it).' });
  }
  const clean = normalize(value);
  return clean.length > 1 ? withoutTrailingSlashes(clean) || '/' : clean;
}

export function registerSystemdUnit(program: Command, ctx: Context): void {
  program
    .command('systemd-unit')
    .description('Print a systemd service unit for this install (Type=notify, sandboxed); redirect it to /etc/systemd/system/presenter-serve.service')
    .option('--user <name>', 'the account the service runs as (default: root, with a warning)')
    .option('--group <name>', 'its group (default: the user\'s primary group)')
    .option('--data-dir <dir>', `absolute path of the data dir (default ${DEFAULT_DATA_DIR}); the only writable path`)
    .option('--profile <name|file>', 'safe, advanced, auto, or the absolute path of a JSON profile')
    .addOption(new Option('--port <n>', 'port to bind').argParser(parseIntFlag('--port', 1, 65535)))
    .option('--working-directory <dir>', 'absolute path (default: the data dir)')
    .option('--env-file <file>', 'absolute path of an EnvironmentFile= for secrets such as PRESENTER_DATABASE_URL')
    // Node 20 checks any `--env-file` in its argv, even after the script, and exits 9 when the file is missing
    .option('--environment-file <file>', 'the same as --env-file (use it on Node 20 while the file does not exist yet)')
    .addOption(new Option('--graceful-timeout <seconds>', 'passed to serve; TimeoutStopSec is 15 s more').argParser(parseIntFlag('--graceful-timeout', 0, 3600)))
    .addOption(new Option('--watchdog <seconds>', 'WatchdogSec= (0: no watchdog)').argParser(parseIntFlag('--watchdog', 0, 3600)).default(30))
    .action(async (flags: UnitFlags) => {
      const note = (text: string) => ctx.stderr.write(`note: ${text}\n`);
      const user = account('--user', flags.user);
      const group = account('--group', flags.group);
      const dataDir = absolutePath('--data-dir', flags.dataDir) ?? DEFAULT_DATA_DIR;
      const workingDirectory = absolutePath('--working-directory', flags.workingDirectory) ?? dataDir;
      if (flags.envFile !== undefined && flags.environmentFile !== undefined && flags.envFile !== flags.environmentFile) {
        throw new ConfigError('BAD_FLAG', `--env-file ${flags.envFile} and --environment-file ${flags.environmentFile} contradict each other.`, { fix: 'Pass one of them.' });
      }
      const envFile = absolutePath(flags.envFile !== undefined ? '--env-file' : '--environment-file', flags.envFile ?? flags.environmentFile);
      if (dataDir === '/') throw new ConfigError('BAD_FLAG', 'The data dir cannot be / : it would be the one writable path of the sandbox.', { fix: `Use a directory of its own, e.g. --data-dir ${DEFAULT_DATA_DIR}.` });
      const { controlPath } = await import('../supervisor/control.js');
      if (!controlPath(dataDir, 'linux').startsWith(`${dataDir}/`)) {
        throw new ConfigError('BAD_FLAG', `The data dir path ${dataDir} is too long for its control socket (about 90 bytes at most): the socket would go to the temp dir, which PrivateTmp=yes hides from \`presenter-serve status\`.`, { fix: 'Choose a shorter --data-dir.' });
      }
      let profile = flags.profile;
      let profileValues: { port?: number; gracefulTimeout?: number } = {};
      if (profile !== undefined && profile !== 'auto') {
        const { BUILT_IN_PROFILES, loadProfile } = await import('../config/profile.js');
        if (!(BUILT_IN_PROFILES as readonly string[]).includes(profile)) profile = absolutePath('--profile', profile);
        // a profile that serve would refuse is refused now, not at the first start
        profileValues = loadProfile(profile!, '/').values;
      }
      const gracefulTimeoutSec = flags.gracefulTimeout ?? profileValues.gracefulTimeout ?? 30;
      const bin = fileURLToPath(new URL('../../bin/presenter-serve.js', import.meta.url));

      if (user === undefined || user === 'root' || user === '0') note('the service will run as root; pass --user with a system account that owns the data dir.');
      if (user !== undefined && user !== 'root' && !/^\d+$/.test(user) && !(ctx.readSystemFile('/etc/passwd') ?? '').split('\n').some((line) => line.startsWith(`${user}:`))) {
        note(`there is no user ${user} here yet: create it with \`useradd --system --home-dir /nonexistent --shell /usr/sbin/nologin ${user}\`.`);
      }
      if (!dataDir.startsWith('/var/lib/') && !existsSync(dataDir)) note(`${dataDir} does not exist: create it (owned by ${user ?? 'root'}, mode 0700) before starting the service.`);
      if (envFile !== undefined) {
        if (!existsSync(envFile)) note(`${envFile} does not exist yet: create it (owner root, mode 0600) with lines such as PRESENTER_AI_API_KEY=…`);
        else if ((statSync(envFile).mode & 0o077) !== 0) note(`${envFile} is readable by others: \`chmod 600 ${envFile}\` (it holds secrets).`);
      }
      const { renderUnit } = await import('../systemd/unit.js');
      const { readFileSync } = await import('node:fs');
      const version = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
      ctx.stdout.write(
        renderUnit({
          version,
          node: process.execPath,
          bin,
          dataDir,
          workingDirectory,
          user,
          group,
          profile,
          port: flags.port,
          effectivePort: flags.port ?? profileValues.port ?? 5000,
          gracefulTimeoutFlag: flags.gracefulTimeout,
          gracefulTimeoutSec,
          envFile,
          watchdogSec: flags.watchdog,
        }),
      );
    });
}
