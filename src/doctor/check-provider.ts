import type { CheckResult, DoctorEnv } from './types.js';

const ID = 'provider';
const TITLE = 'Feedback provider';
export const PROVIDER_TIMEOUT_MS = 1500;

/** Enough of a key to tell two apart, never enough to use it. */
export function maskKey(key: string): string {
  return key.length >= 16 ? `${key.slice(0, 3)}…${key.slice(-2)} (${key.length} chars)` : `*** (${key.length} chars)`;
}

/** The base URL without user:password. */
function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString().replace(/\/$/, '');
  } catch {
    return url;
  }
}

// local needs nothing; openai: key and model set, and the endpoint answers within ~1.5 s.
export async function checkProvider(env: Pick<DoctorEnv, 'settings' | 'http'>): Promise<CheckResult> {
  const { provider, baseUrl, apiKey, model } = env.settings.ai;
  if (provider === 'local') {
    return { id: ID, title: TITLE, status: 'pass', detail: 'local: the built-in offline analyser (no network, no key).' };
  }
  const base = safeUrl(baseUrl ?? '');
  const key = apiKey ? `key ${maskKey(apiKey)}` : 'no key';
  const facts = `openai at ${base}, model ${model ?? '(none)'}, ${key}`;
  const fail = (detail: string, fix: string): CheckResult => ({ id: ID, title: TITLE, status: 'fail', detail, fix });
  if (!model) return fail(`${facts}: PRESENTER_AI_MODEL is not set.`, 'Set PRESENTER_AI_MODEL to a model the endpoint serves (GET <base>/models lists them).');
  const url = `${(baseUrl ?? '').replace(/^([\s\S]*[^/])?\/*$/, '$1')}/models`;
  const answer = await env.http(url, apiKey ? { authorization: `Bearer ${apiKey}` } : {}, PROVIDER_TIMEOUT_MS);
  if ('error' in answer) {
    const timeout = answer.code === 'UND_ERR_CONNECT_TIMEOUT' || answer.code === 'UND_ERR_HEADERS_TIMEOUT' || answer.code === 'ABORT_ERR' || /timeout|aborted/i.test(answer.error);
    return fail(
      `${facts}: the endpoint is unreachable (${timeout ? `no answer within ${PROVIDER_TIMEOUT_MS / 1000} s` : (answer.code ?? answer.error)}).`,
      'Check PRESENTER_AI_BASE_URL (scheme, host, port, the /v1 suffix) and that the model server is running and reachable from this machine; or use PRESENTER_AI_PROVIDER=local.',
    );
  }
  if (answer.status === 401 || answer.status === 403) {
    return fail(`${facts}: the endpoint answered ${answer.status}, key refused${apiKey ? '' : ' (no key was sent)'}.`, 'Set PRESENTER_AI_API_KEY to a valid key for this endpoint.');
  }
  const notes: string[] = [];
  if (!apiKey) notes.push('no PRESENTER_AI_API_KEY is set (fine for local servers such as Ollama)');
  if (answer.status === 200) {
    try {
      const ids = ((JSON.parse(answer.body) as { data?: { id?: unknown }[] }).data ?? []).map((m) => m.id);
      if (ids.length > 0 && !ids.includes(model)) {
        return { id: ID, title: TITLE, status: 'warn', detail: `${facts}: reachable, but the endpoint does not list model ${model}.`, fix: `Set PRESENTER_AI_MODEL to one it serves: ${ids.slice(0, 5).map(String).join(', ')}${ids.length > 5 ? ', …' : ''}.` };
      }
    } catch {
      // Not every compatible server lists models as JSON; reachable is what counts.
    }
  }
  const status = answer.status === 200 ? 'reachable' : `reachable (HTTP ${answer.status} on /models)`;
  return { id: ID, title: TITLE, status: 'pass', detail: `${facts}: ${status}${notes.length ? `; ${notes.join('; ')}` : ''}.` };
}
