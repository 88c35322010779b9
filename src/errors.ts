// One error type for everything the user can cause or fix: a stable code, an exit code and,
// where there is one, the fix. main() prints message + fix for these, a stack for anything else.
/** 3: `status` found the service not running (the LSB convention). */
export type ExitCode = 0 | 1 | 2 | 3;

export class PresenterError extends Error {
  readonly code: string;
  readonly exitCode: ExitCode;
  readonly fix: string | undefined;

  constructor(code: string, message: string, options: { exitCode?: ExitCode; fix?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PresenterError';
    this.code = code;
    this.exitCode = options.exitCode ?? 1;
    this.fix = options.fix;
  }
}

/** A usage or configuration problem: bad flag, invalid profile, unreadable file, port taken. Exit 2. */
export class ConfigError extends PresenterError {
  constructor(code: string, message: string, options: { fix?: string; cause?: unknown } = {}) {
    super(code, message, { ...options, exitCode: 2 });
    this.name = 'ConfigError';
  }
}

export function isPresenterError(error: unknown): error is PresenterError {
  return error instanceof PresenterError;
}

export function describeValue(value: unknown): string {
  const type = Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value;
  return `\`${JSON.stringify(value)}\` (${type})`;
}
