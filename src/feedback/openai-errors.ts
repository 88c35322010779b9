// Maps HTTP statuses and network failures of a chat-completions call to ProviderError,
// never letting the API key into a message or a cause.
import { makeRedactor as redactWith, secretsOf } from '../jobs/redact.js';
import { ProviderError } from './types.js';

/** A Retry-After longer than this is treated as this: the job runner retries, and its lease is renewed meanwhile. */
export const RETRY_AFTER_MAX_MS = 5 * 60_000;

export interface CallContext {
  /** The base URL without credentials or query, safe to print. */
  where: string;
  model: string;
  hasKey: boolean;
  timeoutMs: number;
  connectTimeoutMs: number;
  /** Removes the API key from any text that may have echoed it. */
  redact: (text: string) => string;
}

export function makeRedactor(apiKey: string | undefined): (text: string) => string {
  return redactWith(secretsOf({ apiKey }));
}

// A cause with only name, message and code: the original error may carry request details.
export function safeCause(error: unknown, redact: (text: string) => string): Error {
  const original = error instanceof Error ? error : new Error(String(error));
  const cause = new Error(redact(original.message));
  cause.name = original.name;
  const { code } = original as { code?: unknown };
  if (typeof code === 'string' || typeof code === 'number') Object.assign(cause, { code });
  return cause;
}

/** Milliseconds from a Retry-After (seconds or HTTP date) or OpenAI's retry-after-ms header, capped. */
export function parseRetryAfter(headers: Record<string, string | string[] | undefined>, now = Date.now()): number | undefined {
  const first = (name: string) => {
    const value = headers[name];
    return (Array.isArray(value) ? value[0] : value)?.trim();
  };
  let ms: number | undefined;
  const exact = first('retry-after-ms');
  const header = first('retry-after');
  if (exact !== undefined && /^\d+(\.\d+)?$/.test(exact)) ms = Number(exact);
  else if (header !== undefined && /^\d+(\.\d+)?$/.test(header)) ms = Number(header) * 1000;
  else if (header !== undefined && header !== '') {
    const date = Date.parse(header);
    if (!Number.isNaN(date)) ms = date - now;
  }
  return ms === undefined ? undefined : Math.round(Math.min(RETRY_AFTER_MAX_MS, Math.max(0, ms)));
}

function errorDetail(body: string): { message: string | undefined; code: string | undefined } {
  try {
    const parsed = JSON.parse(body) as { error?: unknown; message?: unknown };
    const error = parsed.error;
    if (typeof error === 'string') return { message: error, code: undefined };
    if (typeof error === 'object' && error !== null) {
      const { message, code } = error as { message?: unknown; code?: unknown };
      return { message: typeof message === 'string' ? message : undefined, code: typeof code === 'string' ? code : undefined };
    }
    if (typeof parsed.message === 'string') return { message: parsed.message, code: undefined };
  } catch {
    // an HTML error page from a proxy says nothing useful
  }
  return { message: undefined, code: undefined };
}

export function statusError(status: number, headers: Record<string, string | string[] | undefined>, body: string, ctx: CallContext): ProviderError {
  const detail = errorDetail(body);
  const said = detail.message ? `: ${ctx.redact(detail.message).slice(0, 300)}` : '';
  const prefix = `The model server at ${ctx.where} answered ${status}`;
  if (status === 401) {
    const fix = ctx.hasKey ? 'check PRESENTER_AI_API_KEY' : 'no API key is set; set PRESENTER_AI_API_KEY';
    return new ProviderError(`${prefix}: the API key was refused (${fix}).`, { retryable: false, status });
  }
  if (status === 403) {
    return new ProviderError(`${prefix}: access denied for this API key or model \`${ctx.model}\`.`, { retryable: false, status });
  }
  if (status === 404) {
    return new ProviderError(`${prefix} (not found)${said}. Check that the base URL ends in /v1 and that the model \`${ctx.model}\` exists.`, { retryable: false, status });
  }
  if (status === 429 && detail.code === 'insufficient_quota') {
    return new ProviderError(`${prefix}: the account has no quota left (insufficient_quota).`, { retryable: false, status });
  }
  const retryable = status === 408 || status === 409 || status === 425 || status === 429 || status >= 500;
  const retryAfterMs = retryable ? parseRetryAfter(headers) : undefined;
  const what = status === 429 ? ' (rate limited)' : status >= 500 ? ' (server error)' : status === 400 ? ' (bad request)' : '';
  return new ProviderError(`${prefix}${what}${said}.`, {
    retryable,
    status,
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  });
}

const CONNECTION_LOST = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED']);

export function networkError(error: unknown, ctx: CallContext, state: { aborted: boolean; timedOut: boolean }): ProviderError {
  const cause = safeCause(error, ctx.redact);
  const code = (cause as { code?: unknown }).code;
  if (state.aborted) return new ProviderError(`The call to the model at ${ctx.where} was aborted.`, { cause });
  if (state.timedOut || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
    return new ProviderError(`The model at ${ctx.where} did not answer within ${ctx.timeoutMs} ms (timeout).`, { cause });
  }
  if (code === 'UND_ERR_CONNECT_TIMEOUT') {
    return new ProviderError(`Could not connect to the model at ${ctx.where} within ${ctx.connectTimeoutMs} ms.`, { cause });
  }
  if (code === 'ECONNREFUSED') {
    return new ProviderError(`Could not connect to the model at ${ctx.where}: connection refused. Is the server running?`, { cause });
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return new ProviderError(`Could not resolve the host of ${ctx.where} (${code}).`, { cause });
  }
  if (typeof code === 'string' && CONNECTION_LOST.has(code)) {
    return new ProviderError(`The connection to ${ctx.where} closed before the answer was complete (${code}).`, { cause });
  }
  if (code === 'UND_ERR_RES_EXCEEDED_MAX_SIZE') {
    return new ProviderError(`The answer from ${ctx.where} is too large.`, { cause });
  }
  return new ProviderError(`The call to the model at ${ctx.where} failed: ${cause.message}${typeof code === 'string' ? ` (${code})` : ''}.`, { cause });
}
