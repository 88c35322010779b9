import { isIP } from 'node:net';
import { existsSync, statSync, type Stats } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Context } from '../context.js';
import { ConfigError } from '../errors.js';
import { defaultSettings, LOG_LEVELS, type LogLevel, type ProviderName, type Settings } from './defaults.js';
import { detectPlatform } from './platform.js';
import { loadProfile } from './profile.js';
import { parseDatabaseUrl } from '../store/database-url.js';
import { parseDriverPreference, SQLITE_DRIVER_ENV } from '../store/sqlite-driver.js';

/** What the command line can set; undefined means "not given". */
export interface SettingFlags {
  profile?: string;
  host?: string;
  port?: number;
  workers?: number;
  threads?: number;
  dataDir?: string;
  gracefulTimeout?: number;
  timeout?: number;
  maxMemory?: number;
  maxRequests?: number;
  maxRequestsJitter?: number;
  logLevel?: string;
  trustProxy?: string[];
  databaseUrl?: string;
  accessLog?: string;
}

export function parseIntFlag(name: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\s*\d+\s*$/.test(value) || !Number.isInteger(n) || n < min || n > max) {
      throw new ConfigError('BAD_FLAG', `Expected ${name} to be a whole number from ${min} to ${max}, got \`${value}\`.`);
    }
    return n;
  };
}

/** `--access-log FILE|-`: '-' is stdout; a file's directory must exist (nothing is created outside the data dir). */
export function accessLogTarget(value: string, source: string, cwd: string): string {
  if (value === '-') return value;
  const file = resolve(cwd, value);
  const fix = 'Name a file in an existing directory, e.g. --access-log /var/log/presenter/access.log, or - for stdout.';
  let dir: Stats | undefined;
  try {
    dir = statSync(dirname(file));
  } catch {
    dir = undefined;
  }
  if (!dir?.isDirectory()) throw new ConfigError(source === '--access-log' ? 'BAD_FLAG' : 'BAD_ENV', `${source}: the directory ${dirname(file)} does not exist.`, { fix });
  if (existsSync(file) && statSync(file).isDirectory()) throw new ConfigError(source === '--access-log' ? 'BAD_FLAG' : 'BAD_ENV', `${source}: ${file} is a directory.`, { fix });
  return file;
}

const PROXY_NAMES = ['loopback', 'linklocal', 'uniquelocal'];

/** `--trust-proxy 127.0.0.1,10.0.0.0/8`: addresses, CIDR ranges or proxy-addr's names. */
export function parseTrustProxy(value: string, source = '--trust-proxy'): string[] {
  const entries = value.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '');
  for (const entry of entries) {
    const [address = '', prefix, extra] = entry.split('/');
    const family = isIP(address);
    const prefixOk = prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 6 ? 128 : 32));
    if (!PROXY_NAMES.includes(entry) && (family === 0 || !prefixOk || extra !== undefined)) {
      throw new ConfigError('BAD_FLAG', `Expected ${source} to list IP addresses or CIDR ranges separated by commas, got \`${entry}\`.`, {
        fix: 'Name the proxies in front of the server, e.g. --trust-proxy 127.0.0.1 or --trust-proxy 10.0.0.0/8,::1 (or loopback).',
      });
    }
  }
  return entries;
}

function envInt(env: NodeJS.ProcessEnv, key: string, min: number, max: number): number | undefined {
  const value = env[key];
  if (value === undefined || value === '') return undefined;
  try {
    return parseIntFlag(key, min, max)(value);
  } catch {
    throw new ConfigError('BAD_ENV', `Expected ${key} to be a whole number from ${min} to ${max}, got \`${value}\`.`, { fix: `Correct or unset ${key}.` });
  }
}

function logLevel(value: string, source: string): LogLevel {
  if (!(LOG_LEVELS as readonly string[]).includes(value)) {
    throw new ConfigError('BAD_LOG_LEVEL', `Expected ${source} to be one of ${LOG_LEVELS.join(', ')}, got \`${value}\`.`);
  }
  return value as LogLevel;
}

/** The profile to use: flag > PRESENTER_PROFILE > auto, with the reason said at start-up. */
export function chooseProfile(flag: string | undefined, ctx: Pick<Context, 'platform' | 'env' | 'readSystemFile'>): { name: string; reason: string } {
  const requested = flag ?? ctx.env.PRESENTER_PROFILE ?? 'auto';
  if (requested !== 'auto') {
    return { name: requested, reason: flag !== undefined ? 'chosen with --profile' : 'chosen with PRESENTER_PROFILE' };
  }
  const platform = detectPlatform(ctx);
  return { name: platform.profile, reason: `auto: ${platform.reason}` };
}

export function resolveSettings(flags: SettingFlags, ctx: Pick<Context, 'platform' | 'env' | 'cwd' | 'readSystemFile'>): Settings {
  const s = defaultSettings();
  const env = ctx.env;
  const chosen = chooseProfile(flags.profile, ctx);
  const profile = loadProfile(chosen.name, ctx.cwd);
  s.profile = profile.name;
  s.profileReason = chosen.reason;

  // profile file
  const p = profile.values;
  if (p.workers !== undefined) s.workers = p.workers;
  if (p.threads !== undefined) s.threads = p.threads;
  if (p.fork !== undefined) s.fork = p.fork;
  if (p.host !== undefined) s.host = p.host;
  if (p.port !== undefined) s.port = p.port;
  if (p.gracefulTimeout !== undefined) s.gracefulTimeoutMs = p.gracefulTimeout * 1000;
  if (p.logLevel !== undefined) s.logLevel = p.logLevel as LogLevel;
  if (p.jobAttempts !== undefined) s.jobAttempts = p.jobAttempts;

  // environment
  if (env.PRESENTER_HOST) s.host = env.PRESENTER_HOST;
  s.port = envInt(env, 'PRESENTER_PORT', 0, 65535) ?? s.port;
  if (env.PRESENTER_DATA_DIR) s.dataDir = env.PRESENTER_DATA_DIR;
  if (env.PRESENTER_LOG_LEVEL) s.logLevel = logLevel(env.PRESENTER_LOG_LEVEL, 'PRESENTER_LOG_LEVEL');
  if (env.PRESENTER_ADMIN_TOKEN) s.adminToken = env.PRESENTER_ADMIN_TOKEN;
  s.rateLimit = envInt(env, 'PRESENTER_RATE_LIMIT', 0, 1_000_000) ?? s.rateLimit;
  s.maxQueue = envInt(env, 'PRESENTER_MAX_QUEUE', 0, 1_000_000_000) ?? s.maxQueue;
  if (env.PRESENTER_TRUST_PROXY) s.trustProxy = parseTrustProxy(env.PRESENTER_TRUST_PROXY, 'PRESENTER_TRUST_PROXY');
  if (env.PRESENTER_DATABASE_URL) s.databaseUrl = env.PRESENTER_DATABASE_URL;
  s.sqliteDriver = parseDriverPreference(env[SQLITE_DRIVER_ENV]);
  const timeout = envInt(env, 'PRESENTER_TIMEOUT', 0, 3600);
  if (timeout !== undefined) s.heartbeatTimeoutMs = timeout * 1000;
  const maxMemory = envInt(env, 'PRESENTER_MAX_MEMORY', 0, 1024 * 1024);
  if (maxMemory !== undefined) s.maxMemoryBytes = maxMemory * 1024 * 1024;
  s.maxRequests = envInt(env, 'PRESENTER_MAX_REQUESTS', 0, 1_000_000_000) ?? s.maxRequests;
  s.maxRequestsJitter = envInt(env, 'PRESENTER_MAX_REQUESTS_JITTER', 0, 1_000_000_000) ?? s.maxRequestsJitter;
  if (env.PRESENTER_ACCESS_LOG) s.accessLog = accessLogTarget(env.PRESENTER_ACCESS_LOG, 'PRESENTER_ACCESS_LOG', ctx.cwd);
  s.bodyLimit = envInt(env, 'PRESENTER_BODY_LIMIT', 1024, 1024 * 1024 * 1024) ?? s.bodyLimit;
  s.leaseMs = envInt(env, 'PRESENTER_LEASE_MS', 100, 3_600_000) ?? s.leaseMs;
  s.logMaxBytes = envInt(env, 'PRESENTER_LOG_MAX_BYTES', 4096, 1024 ** 4) ?? s.logMaxBytes;
  s.logMaxFiles = envInt(env, 'PRESENTER_LOG_FILES', 1, 1000) ?? s.logMaxFiles;
  const provider = env.PRESENTER_AI_PROVIDER;
  if (provider) {
    // 'noop' is the benchmark's provider (src/feedback/providers.ts), not a user setting.
    if (provider !== 'local' && provider !== 'openai' && provider !== 'noop') {
      throw new ConfigError('BAD_ENV', `Expected PRESENTER_AI_PROVIDER to be \`local\` or \`openai\`, got \`${provider}\`.`);
    }
    s.ai.provider = provider === 'noop' ? 'local' : (provider as ProviderName);
  }
  s.ai.baseUrl = env.PRESENTER_AI_BASE_URL || undefined;
  s.ai.apiKey = env.PRESENTER_AI_API_KEY || undefined;
  s.ai.model = env.PRESENTER_AI_MODEL || undefined;
  s.ai.timeoutMs = envInt(env, 'PRESENTER_AI_TIMEOUT_MS', 100, 600_000) ?? s.ai.timeoutMs;

  // flags
  if (flags.host !== undefined) s.host = flags.host;
  if (flags.port !== undefined) s.port = flags.port;
  if (flags.workers !== undefined) s.workers = flags.workers;
  if (flags.threads !== undefined) s.threads = flags.threads;
  if (flags.dataDir !== undefined) s.dataDir = flags.dataDir;
  if (flags.gracefulTimeout !== undefined) s.gracefulTimeoutMs = flags.gracefulTimeout * 1000;
  if (flags.timeout !== undefined) s.heartbeatTimeoutMs = flags.timeout * 1000;
  if (flags.maxMemory !== undefined) s.maxMemoryBytes = flags.maxMemory * 1024 * 1024;
  if (flags.maxRequests !== undefined) s.maxRequests = flags.maxRequests;
  if (flags.maxRequestsJitter !== undefined) s.maxRequestsJitter = flags.maxRequestsJitter;
  if (flags.logLevel !== undefined) s.logLevel = logLevel(flags.logLevel, '--log-level');
  if (flags.trustProxy !== undefined) s.trustProxy = flags.trustProxy;
  if (flags.databaseUrl !== undefined) s.databaseUrl = flags.databaseUrl;
  if (flags.accessLog !== undefined) s.accessLog = accessLogTarget(flags.accessLog, '--access-log', ctx.cwd);
  if (s.databaseUrl !== undefined) {
    try {
      parseDatabaseUrl(s.databaseUrl);
    } catch (error) {
      const source = flags.databaseUrl !== undefined ? '--database-url' : 'PRESENTER_DATABASE_URL';
      throw new ConfigError('BAD_DATABASE_URL', `${source}: ${(error as Error).message}.`);
    }
  }

  if (!s.fork && s.workers > 1) {
    throw new ConfigError('CONFLICT', `Profile ${profile.name} serves from one process (fork: false), but ${flags.workers !== undefined ? '--workers' : 'workers'} is ${s.workers}.`, {
      fix: 'Drop --workers, or use a profile that forks workers (safe, advanced).',
    });
  }
  if (s.ai.provider === 'openai' && !s.ai.baseUrl) {
    throw new ConfigError('BAD_ENV', 'PRESENTER_AI_PROVIDER is `openai` but PRESENTER_AI_BASE_URL is not set.', {
      fix: 'Set PRESENTER_AI_BASE_URL to an OpenAI-compatible endpoint such as https://api.openai.com/v1 or http://127.0.0.1:11434/v1.',
    });
  }
  s.dataDir = resolve(ctx.cwd, s.dataDir);
  return s;
}
