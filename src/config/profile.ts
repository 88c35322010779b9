import { readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, describeValue } from '../errors.js';

export const BUILT_IN_PROFILES = ['safe', 'advanced', 'windows'] as const;
export const PROFILES_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../profiles');

/** The keys a profile file may set; anything else is a typo we refuse. */
export interface ProfileFile {
  description?: string;
  workers?: number;
  threads?: number;
  fork?: boolean;
  host?: string;
  port?: number;
  gracefulTimeout?: number;
  logLevel?: string;
  jobAttempts?: number;
}

type FieldCheck = (value: unknown) => string | undefined;
const positiveInt = (max: number): FieldCheck => (v) =>
  typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= max ? undefined : `a whole number from 1 to ${max}`;
const FIELDS: Record<keyof ProfileFile, FieldCheck> = {
  description: (v) => (typeof v === 'string' ? undefined : 'a string'),
  workers: positiveInt(64),
  threads: positiveInt(256),
  fork: (v) => (typeof v === 'boolean' ? undefined : 'true or false'),
  host: (v) => (typeof v === 'string' && v.length > 0 ? undefined : 'a non-empty host name or address'),
  port: (v) => (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 65535 ? undefined : 'a port number from 0 to 65535'),
  gracefulTimeout: (v) => (typeof v === 'number' && v >= 0 && v <= 3600 ? undefined : 'seconds from 0 to 3600'),
  logLevel: (v) => (typeof v === 'string' && ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'].includes(v) ? undefined : 'one of trace, debug, info, warn, error, fatal, silent'),
  jobAttempts: positiveInt(100),
};

export interface LoadedProfile {
  name: string;
  file: string;
  values: ProfileFile;
}

export function profilePath(nameOrPath: string, cwd: string): string {
  return (BUILT_IN_PROFILES as readonly string[]).includes(nameOrPath)
    ? join(PROFILES_DIR, `${nameOrPath}.json`)
    : resolve(cwd, nameOrPath);
}

export function validateProfile(raw: unknown, file: string): ProfileFile {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError('PROFILE_INVALID', `Profile ${file} must be a JSON object, got ${describeValue(raw)}.`, {
      fix: 'Write the profile as an object such as {"workers": 2, "threads": 2}.',
    });
  }
  for (const [key, value] of Object.entries(raw)) {
    const check = FIELDS[key as keyof ProfileFile];
    if (!check) {
      throw new ConfigError('PROFILE_INVALID', `Profile ${file}: unknown field \`${key}\`.`, {
        fix: `Allowed fields: ${Object.keys(FIELDS).join(', ')}.`,
      });
    }
    const expected = check(value);
    if (expected) {
      throw new ConfigError('PROFILE_INVALID', `Profile ${file}: field \`${key}\` must be ${expected}, got ${describeValue(value)}.`, {
        fix: `Correct \`${key}\` in ${file}.`,
      });
    }
  }
  return raw as ProfileFile;
}

export function loadProfile(nameOrPath: string, cwd: string): LoadedProfile {
  const file = profilePath(nameOrPath, cwd);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : `cannot be read (${(error as Error).message})`;
    throw new ConfigError('PROFILE_UNREADABLE', `Profile ${nameOrPath}: ${file} ${reason}.`, {
      fix: `Use one of ${BUILT_IN_PROFILES.join(', ')}, auto, or the path of a JSON profile file.`,
    });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ConfigError('PROFILE_INVALID', `Profile ${file} is not valid JSON: ${(error as Error).message}.`, {
      fix: 'Fix the JSON syntax (a validator such as `node -e "JSON.parse(require(\'fs\').readFileSync(process.argv[1]))" FILE` shows where).',
    });
  }
  const name = (BUILT_IN_PROFILES as readonly string[]).includes(nameOrPath) ? nameOrPath : basename(file, '.json');
  return { name, file, values: validateProfile(raw, file) };
}

export function listBuiltInProfiles(): LoadedProfile[] {
  return readdirSync(PROFILES_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => loadProfile(basename(f, '.json'), PROFILES_DIR));
}
