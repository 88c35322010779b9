// The `openai` provider: one chat-completions call per generate() to any OpenAI-compatible
// server (OpenAI, Ollama, vLLM, llama.cpp). Retries belong to the job runner, not here.
import type { Agent, request } from 'undici';
import { ConfigError } from '../errors.js';
import { slideTexts, guessLanguage } from './metrics.js';
import { makeRedactor, networkError, statusError } from './openai-errors.js';
import type { CallContext } from './openai-errors.js';
import { buildMessages, parseModelJson } from './openai-prompt.js';
import { ProviderError } from './types.js';
import type { FeedbackProvider, FeedbackRequest, FeedbackResult } from './types.js';
import { FeedbackShapeError, validateFeedback } from './validate.js';

export interface OpenAIProviderOptions {
  /** An OpenAI-compatible API root, e.g. `https://api.openai.com/v1` or `http://127.0.0.1:11434/v1`. */
  baseUrl: string;
  /** Sent as `Authorization: Bearer …`; local servers usually need none. Never logged or put in an error. */
  apiKey?: string;
  /** @default 'gpt-4o-mini' */
  model?: string;
  /** The whole call, from connecting to the last byte of the answer. @default 60000 */
  timeoutMs?: number;
  /** @default 5000 */
  connectTimeoutMs?: number;
}

export interface OpenAIProvider extends FeedbackProvider {
  /** Closes the provider's keep-alive connections (worker shutdown). */
  close(): Promise<void>;
}

export const DEFAULT_MODEL = 'gpt-4o-mini';
const MAX_RESPONSE_BYTES = 8 * 1024 * 1024;

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value <= 0) {
    throw new ConfigError('BAD_AI_OPTION', `Expected the \`${name}\` option to be a positive whole number, got \`${value}\`.`);
  }
  return value;
}

function parseBaseUrl(baseUrl: string): { endpoint: URL; where: string } {
  let url: URL | undefined;
  try {
    url = new URL(baseUrl);
  } catch {
    // reported below
  }
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new ConfigError('BAD_AI_BASE_URL', `Expected the AI base URL to be an http(s) URL, got \`${baseUrl}\`.`, {
      fix: 'Set PRESENTER_AI_BASE_URL to e.g. https://api.openai.com/v1 or http://127.0.0.1:11434/v1.',
    });
  }
  const path = url.pathname.replace(/^([\s\S]*[^/])?\/*$/, '$1');
  const endpoint = new URL(url.href);
  endpoint.pathname = `${path}/chat/completions`;
  endpoint.hash = '';
  // Printed in messages: no user:password, no query (some gateways put tokens there).
  return { endpoint, where: `${url.origin}${path}` };
}

function invalidAnswer(ctx: CallContext, problem: string): ProviderError {
  return new ProviderError(`Model \`${ctx.model}\` at ${ctx.where}: the model's answer is not valid feedback JSON: ${problem}.`);
}

interface Completion {
  content: string;
  model: string | undefined;
}

function readCompletion(body: string, ctx: CallContext): Completion {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new ProviderError(`The answer from ${ctx.where} is not a chat completion: the body is not JSON.`);
  }
  const { choices, model } = (parsed ?? {}) as { choices?: unknown; model?: unknown };
  const choice = Array.isArray(choices) ? (choices[0] as { message?: { content?: unknown }; finish_reason?: unknown } | undefined) : undefined;
  const content = choice?.message?.content;
  if (typeof content !== 'string' || content.trim() === '') {
    throw new ProviderError(`The answer from ${ctx.where} is not a chat completion: \`choices[0].message.content\` is missing or empty.`);
  }
  if (choice?.finish_reason === 'length' && parseModelJson(content).ok === false) {
    throw invalidAnswer(ctx, 'the answer was cut off (finish_reason `length`)');
  }
  return { content, model: typeof model === 'string' && model !== '' ? model : undefined };
}

export function createOpenAIProvider(options: OpenAIProviderOptions): OpenAIProvider {
  const { endpoint, where } = parseBaseUrl(options.baseUrl);
  const model = options.model || DEFAULT_MODEL;
  const apiKey = options.apiKey || undefined;
  const timeoutMs = positiveInteger('timeoutMs', options.timeoutMs, 60_000);
  const connectTimeoutMs = positiveInteger('connectTimeoutMs', options.connectTimeoutMs, 5_000);
  const ctx: CallContext = { where, model, hasKey: apiKey !== undefined, timeoutMs, connectTimeoutMs, redact: makeRedactor(apiKey) };
  // undici (~110 modules) is loaded at the first call, not when a worker starts
  let client: Promise<{ agent: Agent; send: typeof request }> | undefined;
  const connect = () =>
    (client ??= import('undici').then((undici) => ({
      agent: new undici.Agent({
        connect: { timeout: connectTimeoutMs },
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        maxResponseSize: MAX_RESPONSE_BYTES,
      }),
      send: undici.request,
    })));
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
  if (apiKey !== undefined) headers.authorization = `Bearer ${apiKey}`;

  async function generate(request: FeedbackRequest, signal: AbortSignal): Promise<FeedbackResult> {
    const slides = slideTexts(request.content);
    const body = JSON.stringify({
      model,
      messages: buildMessages(request, slides),
      response_format: { type: 'json_object' },
      temperature: 0.2,
    });
    const timeout = AbortSignal.timeout(timeoutMs);
    let status: number;
    let responseHeaders: Record<string, string | string[] | undefined>;
    let text: string;
    const { agent, send } = await connect();
    try {
      const response = await send(endpoint, { method: 'POST', headers, body, dispatcher: agent, signal: AbortSignal.any([signal, timeout]) });
      status = response.statusCode;
      responseHeaders = response.headers;
      text = await response.body.text();
    } catch (error) {
      throw networkError(error, ctx, { aborted: signal.aborted, timedOut: timeout.aborted });
    }
    if (status < 200 || status >= 300) throw statusError(status, responseHeaders, text, ctx);

    const completion = readCompletion(text, ctx);
    // A model may echo the key it was called with: mask it before the answer is validated
    // (error messages quote a cut-off value, which a later redaction would no longer match) and stored.
    const parsed = parseModelJson(ctx.redact(completion.content));
    if (!parsed.ok) throw invalidAnswer(ctx, 'the answer is not JSON');
    try {
      const feedback = validateFeedback(parsed.value, {
        provider: 'openai',
        model: completion.model ?? model,
        language: request.language,
        fallbackLanguage: request.language === 'auto' ? guessLanguage(request.content) : request.language,
        ...(request.targetMinutes === undefined ? {} : { targetMinutes: request.targetMinutes }),
        slides,
      });
      return { feedback, raw: completion.content };
    } catch (error) {
      if (error instanceof FeedbackShapeError) throw invalidAnswer(ctx, error.message);
      throw error;
    }
  }

  return { name: 'openai', generate, close: async () => (client ? (await client).agent.close() : undefined) };
}
