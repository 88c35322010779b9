// The openai provider against a fake OpenAI-compatible server (node:http on 127.0.0.1, port 0).
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, test } from 'node:test';
import pino from 'pino';
import { createOpenAIProvider } from '../dist/feedback/openai.js';
import { makeRedactor, networkError, parseRetryAfter, RETRY_AFTER_MAX_MS } from '../dist/feedback/openai-errors.js';
import { ProviderError } from '../dist/feedback/types.js';

const KEY = 'sk-test-SECRET-0123456789abcdef';

const CONTENT = `# Why caching matters
Caching saves time and money for every request we serve.

# Results
- Latency dropped from 120 ms to 15 ms
- Costs went down by a third

# Next steps
We roll it out to all regions next quarter.`;

const REQUEST = { presentationId: 'p1', title: 'Caching at scale', content: CONTENT, language: 'en', targetMinutes: 10 };

const warnings = [];
process.on('warning', (warning) => warnings.push(warning));
after(() => assert.deepEqual(warnings.map(String), [], 'no Node warning'));

/** A fake server answering with `handler(req, res, record)`; closed (with its sockets) when the test ends. */
async function fakeServer(t, handler) {
  const requests = [];
  const server = createServer(async (req, res) => {
    let body = '';
    for await (const chunk of req) body += chunk;
    const record = { method: req.method, url: req.url, headers: req.headers, body: body ? JSON.parse(body) : undefined };
    requests.push(record);
    handler(req, res, record);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return { baseUrl: `http://127.0.0.1:${server.address().port}/v1`, requests };
}

function provider(t, options) {
  const p = createOpenAIProvider({ apiKey: KEY, model: 'test-model', ...options });
  t.after(() => p.close());
  return p;
}

function json(res, status, body, headers = {}) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

function completion(content, extra = {}) {
  return { id: 'chatcmpl-1', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }], ...extra };
}

const GOOD = {
  language: 'en',
  score: 87.6,
  summary: 'A clear, short talk about caching.',
  strengths: ['Concrete numbers on slide 2 (Results).', '  '],
  improvements: ['Slide 1 (Why caching matters): say who "we" are.', 'Slide 3 (Next steps): name the regions.'],
  slides: [
    { index: 3, notes: ['Name the regions.'] },
    { index: 1, title: 'Why caching matters', notes: ['Open with the latency number.'] },
  ],
  metrics: { readability: 140, words: 9999 },
};

/** The API key must not leak through the message, the error's JSON, its cause or pino's error serialiser. */
function assertNoKey(error) {
  assert.ok(error instanceof ProviderError, `expected a ProviderError, got ${error}`);
  assert.ok(!error.message.includes(KEY), 'key in message');
  assert.ok(!JSON.stringify(error).includes(KEY), 'key in JSON');
  assert.ok(!String(error.cause).includes(KEY), 'key in cause');
  assert.ok(!JSON.stringify(pino.stdSerializers.err(error)).includes(KEY), 'key in serialised error');
  assert.ok(!error.message.includes('SECRET'), 'part of the key in message');
}

async function failure(promise) {
  try {
    await promise;
  } catch (error) {
    assertNoKey(error);
    return error;
  }
  assert.fail('expected a rejection');
}

test('success: sends one chat-completions request and normalises the answer', async (t) => {
  const server = await fakeServer(t, (_req, res) => json(res, 200, completion(JSON.stringify(GOOD), { model: 'test-model-2024-06' })));
  const result = await provider(t, { baseUrl: `${server.baseUrl}/` }).generate(REQUEST, new AbortController().signal);

  assert.equal(server.requests.length, 1);
  const [sent] = server.requests;
  assert.equal(sent.method, 'POST');
  assert.equal(sent.url, '/v1/chat/completions');
  assert.equal(sent.headers.authorization, `Bearer ${KEY}`);
  assert.match(sent.headers['content-type'], /^application\/json/);
  assert.equal(sent.body.model, 'test-model');
  assert.deepEqual(sent.body.response_format, { type: 'json_object' });
  assert.equal(sent.body.temperature, 0.2);
  assert.deepEqual(sent.body.messages.map((m) => m.role), ['system', 'user']);
  assert.match(sent.body.messages[0].content, /JSON/);
  assert.match(sent.body.messages[0].content, /"slides": \[\{"index"/);
  const user = sent.body.messages[1].content;
  // The model sees the slides as the local analyser parsed them: same numbers, shown text apart from notes.
  assert.ok(user.includes('## Slide 2: Results\nShown:\nResults\n- Latency dropped from 120 ms to 15 ms\n- Costs went down by a third\n'), user);
  assert.match(user, /Speaker notes: none/);
  assert.match(user, /Title: Caching at scale/);
  assert.match(user, /Target minutes: 10/);
  assert.match(user, /Language: en/);
  assert.match(user, /Slides: 3/);

  assert.equal(result.raw, JSON.stringify(GOOD));
  assert.deepEqual(result.feedback, {
    provider: 'openai',
    model: 'test-model-2024-06',
    language: 'en',
    score: 88,
    summary: 'A clear, short talk about caching.',
    strengths: ['Concrete numbers on slide 2 (Results).'],
    improvements: GOOD.improvements,
    slides: [
      { index: 1, title: 'Why caching matters', notes: ['Open with the latency number.'] },
      { index: 3, title: 'Next steps', notes: ['Name the regions.'] },
    ],
    // 39 words in three slides (13, 15, 11 with their headings), counted from the content, not the model's 9999
    // no notes: the length is 1–2 min per slide, as the local analyser says
    metrics: { slides: 3, words: 39, estimatedMinutes: 4.5, timeBasis: 'slides', estimatedMinutesRange: [3, 6], targetMinutes: 10, wordsPerSlideMax: 15, readability: 100 },
  });
});

test('no API key: no Authorization header; the configured model is used when the answer names none', async (t) => {
  const server = await fakeServer(t, (_req, res) => json(res, 200, completion(JSON.stringify({ ...GOOD, language: 'de' }))));
  const p = provider(t, { baseUrl: server.baseUrl, apiKey: undefined, model: 'llama3.1' });
  const { feedback } = await p.generate({ ...REQUEST, language: 'auto', targetMinutes: undefined }, new AbortController().signal);
  assert.equal(server.requests[0].headers.authorization, undefined);
  assert.equal(feedback.model, 'llama3.1');
  assert.equal(feedback.language, 'de', "language 'auto' takes the model's answer");
  assert.equal('targetMinutes' in feedback.metrics, false);
});

test('JSON inside a ```json fence with prose around it is accepted', async (t) => {
  const content = `Here is the feedback:\n\n\`\`\`json\n${JSON.stringify(GOOD, null, 2)}\n\`\`\`\nHope this helps!`;
  const server = await fakeServer(t, (_req, res) => json(res, 200, completion(content)));
  const result = await provider(t, { baseUrl: server.baseUrl }).generate(REQUEST, new AbortController().signal);
  assert.equal(result.feedback.score, 88);
  assert.equal(result.raw, content);
});

test('429 with Retry-After: 2 is retryable with retryAfterMs 2000', async (t) => {
  const server = await fakeServer(t, (_req, res) => json(res, 429, { error: { message: 'Rate limit reached', type: 'requests' } }, { 'retry-after': '2' }));
  const error = await failure(provider(t, { baseUrl: server.baseUrl }).generate(REQUEST, new AbortController().signal));
  assert.equal(error.retryable, true);
  assert.equal(error.status, 429);
  assert.equal(error.retryAfterMs, 2000);
  assert.match(error.message, /429 \(rate limited\): Rate limit reached/);
});

test('429 insufficient_quota is not retryable', async (t) => {
  const server = await fakeServer(t, (_req, res) => json(res, 429, { error: { message: 'You exceeded your current quota', code: 'insufficient_quota' } }));
  const error = await failure(provider(t, { baseUrl: server.baseUrl }).generate(REQUEST, new AbortController().signal));
  assert.equal(error.retryable, false);
  assert.match(error.message, /no quota left/);
});

test('503 is retryable; a Retry-After HTTP date becomes milliseconds', async (t) => {
  const server = await fakeServer(t, (_req, res) => {
    res.writeHead(503, { 'content-type': 'text/html', 'retry-after': new Date(Date.now() + 30_000).toUTCString() });
    res.end('<html><body>Service Unavailable</body></html>');
  });
  const error = await failure(provider(t, { baseUrl: server.baseUrl }).generate(REQUEST, new AbortController().signal));
  assert.equal(error.retryable, true);
  assert.equal(error.status, 503);
  assert.ok(error.retryAfterMs > 27_000 && error.retryAfterMs <= 30_000, `retryAfterMs ${error.retryAfterMs}`);
  assert.match(error.message, new RegExp(`The model server at ${server.baseUrl} answered 503 \\(server error\\)\\.$`));
});

test('Retry-After parsing: seconds, dates, garbage and the cap', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  assert.equal(parseRetryAfter({ 'retry-after': '2' }, now), 2000);
  assert.equal(parseRetryAfter({ 'retry-after': '0.5' }, now), 500);
  assert.equal(parseRetryAfter({ 'retry-after-ms': '1234', 'retry-after': '2' }, now), 1234);
  assert.equal(parseRetryAfter({ 'retry-after': 'Thu, 01 Jan 2026 00:00:10 GMT' }, now), 10_000);
  assert.equal(parseRetryAfter({ 'retry-after': 'Wed, 31 Dec 2025 23:59:00 GMT' }, now), 0);
  assert.equal(parseRetryAfter({ 'retry-after': '86400' }, now), RETRY_AFTER_MAX_MS);
  assert.equal(parseRetryAfter({ 'retry-after': 'soon' }, now), undefined);
  assert.equal(parseRetryAfter({}, now), undefined);
});

test('401 is not retryable, says the key was refused and never shows the key, even when the server echoes it', async (t) => {
  const server = await fakeServer(t, (req, res) => json(res, 401, { error: { message: `Incorrect API key provided: ${req.headers.authorization}` } }));
  const error = await failure(provider(t, { baseUrl: server.baseUrl }).generate(REQUEST, new AbortController().signal));
  assert.equal(error.retryable, false);
  assert.equal(error.status, 401);
  assert.match(error.message, /the API key was refused/);
});

for (const status of [400, 403, 404]) {
  test(`${status} is not retryable and a key echoed by the server is redacted`, async (t) => {
    const server = await fakeServer(t, (req, res) => json(res, status, { error: `bad: ${req.headers.authorization} / ${KEY}` }));
    const error = await failure(provider(t, { baseUrl: server.baseUrl }).generate(REQUEST, new AbortController().signal));
    assert.equal(error.retryable, false);
    assert.equal(error.status, status);
    assert.match(error.message, new RegExp(`answered ${status}`));
    if (status === 404) assert.match(error.message, /ends in \/v1 and that the model `test-model` exists/);
  });
}

test('a server that never answers: timeoutMs 300 rejects as a retryable timeout, not before', async (t) => {
  const server = await fakeServer(t, () => {});
  const started = performance.now();
  const error = await failure(provider(t, { baseUrl: server.baseUrl, timeoutMs: 300 }).generate(REQUEST, new AbortController().signal));
  const elapsed = performance.now() - started;
  // the lower bound proves the timeout, not an early error, ended it; the upper one only catches a hang
  assert.ok(elapsed >= 250 && elapsed < 10_000, `rejected after ${Math.round(elapsed)} ms`);
  assert.equal(error.retryable, true);
  assert.match(error.message, /did not answer within 300 ms \(timeout\)/);
});

test("the caller's signal aborts the call", async (t) => {
  // aborted once the request has reached the server (the first call also loads undici first)
  const controller = new AbortController();
  const server = await fakeServer(t, () => controller.abort(new Error(`lease lost ${KEY}`)));
  const p = provider(t, { baseUrl: server.baseUrl });
  const started = performance.now();
  const error = await failure(p.generate(REQUEST, controller.signal));
  assert.ok(performance.now() - started < 10_000, 'the abort ended the call, not the 60 s timeout');
  assert.equal(error.retryable, true);
  assert.match(error.message, /was aborted/);

  const already = await failure(p.generate(REQUEST, AbortSignal.abort()));
  assert.match(already.message, /was aborted/);
  assert.equal(server.requests.length, 1, 'an already aborted signal sends nothing');
});

test('connection refused is retryable and names the base URL', async (t) => {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const baseUrl = `http://127.0.0.1:${server.address().port}/v1`;
  await new Promise((resolve) => server.close(resolve));
  const error = await failure(provider(t, { baseUrl }).generate(REQUEST, new AbortController().signal));
  assert.equal(error.retryable, true);
  assert.ok(error.message.includes(baseUrl), error.message);
  assert.match(error.message, /connection refused/);
  assert.equal(error.cause.code, 'ECONNREFUSED');
});

test('network failures that are hard to provoke map to retryable errors with a clean cause', () => {
  const ctx = { where: 'https://llm.example/v1', model: 'm', hasKey: true, timeoutMs: 60_000, connectTimeoutMs: 5000, redact: makeRedactor(KEY) };
  const fail = (code, message = `boom Authorization: Bearer ${KEY}`) => {
    const error = networkError(Object.assign(new Error(message), { code, request: { headers: { authorization: `Bearer ${KEY}` } } }), ctx, { aborted: false, timedOut: false });
    assertNoKey(error);
    assert.equal(error.retryable, true);
    assert.deepEqual(Object.keys(error.cause).sort(), ['code', 'name'], 'the cause carries no request details');
    return error.message;
  };
  assert.equal(fail('UND_ERR_CONNECT_TIMEOUT'), 'Could not connect to the model at https://llm.example/v1 within 5000 ms.');
  assert.equal(fail('UND_ERR_HEADERS_TIMEOUT'), 'The model at https://llm.example/v1 did not answer within 60000 ms (timeout).');
  assert.equal(fail('ENOTFOUND'), 'Could not resolve the host of https://llm.example/v1 (ENOTFOUND).');
  assert.equal(fail('ECONNRESET'), 'The connection to https://llm.example/v1 closed before the answer was complete (ECONNRESET).');
  assert.equal(fail('EWHATEVER'), 'The call to the model at https://llm.example/v1 failed: boom Authorization: Bearer [redacted] (EWHATEVER).');
});

test('content that is not JSON is a retryable invalid answer', async (t) => {
  const server = await fakeServer(t, (_req, res) => json(res, 200, completion('Great talk! I would change a few things.')));
  const error = await failure(provider(t, { baseUrl: server.baseUrl }).generate(REQUEST, new AbortController().signal));
  assert.equal(error.retryable, true);
  assert.match(error.message, /the model's answer is not valid feedback JSON: the answer is not JSON/);
});

for (const [name, answer, field] of [
  ['missing summary', { ...GOOD, summary: undefined }, /`summary` must be a string, got `undefined`/],
  ['score as a string', { ...GOOD, score: 'high' }, /`score` must be a number from 0 to 100, got `"high"` \(string\)/],
  ['notes not an array', { ...GOOD, slides: [{ index: 1, notes: 'shorter' }] }, /`slides\[0\]\.notes` must be an array of strings/],
  ['slide index 0', { ...GOOD, slides: [{ index: 0, notes: [] }] }, /`slides\[0\]\.index` must be a slide number from 1/],
  ['an array instead of an object', [GOOD], /`\(answer\)` must be a JSON object/],
]) {
  test(`invalid feedback JSON (${name}) is retryable and names the field`, async (t) => {
    const server = await fakeServer(t, (_req, res) => json(res, 200, completion(JSON.stringify(answer))));
    const error = await failure(provider(t, { baseUrl: server.baseUrl }).generate(REQUEST, new AbortController().signal));
    assert.equal(error.retryable, true);
    assert.match(error.message, /the model's answer is not valid feedback JSON: /);
    assert.match(error.message, field);
  });
}

test('a body that is not a chat completion is retryable', async (t) => {
  const server = await fakeServer(t, (_req, res) => json(res, 200, { choices: [] }));
  const error = await failure(provider(t, { baseUrl: server.baseUrl }).generate(REQUEST, new AbortController().signal));
  assert.equal(error.retryable, true);
  assert.match(error.message, /not a chat completion: `choices\[0\]\.message\.content` is missing/);
});

test('a base URL that is not http(s) is a configuration error', () => {
  assert.throws(() => createOpenAIProvider({ baseUrl: 'localhost:11434/v1' }), { name: 'ConfigError', code: 'BAD_AI_BASE_URL', exitCode: 2 });
  assert.throws(() => createOpenAIProvider({ baseUrl: 'http://x/v1', timeoutMs: -1 }), { code: 'BAD_AI_OPTION', message: /`timeoutMs`.*`-1`/ });
});

test('speaker notes reach the model as notes, with the same slide numbers the local analyser uses', async (t) => {
  const server = await fakeServer(t, (_req, res) => json(res, 200, completion(JSON.stringify(GOOD))));
  const content = `# Why caching matters\n\n- 120 ms → 15 ms\n\n<!-- Every request we serve waits on the database. -->\n\n---\n\n# Results\n\nNote:\nLatency dropped eightfold.\n\n---\n\n# Next steps\n\n???\nWe roll it out next quarter.`;
  const result = await provider(t, { baseUrl: server.baseUrl }).generate({ ...REQUEST, content, language: 'de' }, new AbortController().signal);
  const [system, user] = server.requests[0].body.messages.map((m) => m.content);
  assert.match(system, /"Sie"/);
  assert.match(system, /Notes \(spoken\)/);
  assert.match(user, /Speaker notes: yes, 17 spoken words/);
  assert.ok(user.includes('## Slide 1: Why caching matters\nShown:\nWhy caching matters\n- 120 ms → 15 ms\nNotes (spoken):\nEvery request we serve waits on the database.\n'), user);
  assert.ok(user.includes('## Slide 3: Next steps\nShown:\nNext steps\nNotes (spoken):\nWe roll it out next quarter.'), user);
  assert.ok(!user.includes('<!--'), 'comments are not sent as slide text');
  assert.equal(result.feedback.metrics.timeBasis, 'notes');
  assert.equal(result.feedback.metrics.spokenWords, 17);
});
