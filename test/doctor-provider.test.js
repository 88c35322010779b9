import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { test } from 'node:test';
import { checkProvider, maskKey } from '../dist/doctor/check-provider.js';
import { freePort } from './helpers/cli.js';
import { doctorEnv, settings } from './helpers/doctor.js';

const KEY = 'sk-test-0123456789abcdefSECRET';
const openai = (baseUrl, extra = {}) => doctorEnv({ settings: settings({ ai: { provider: 'openai', baseUrl, apiKey: KEY, model: 'gpt-test', ...extra } }) });

async function endpoint(t, handler) {
  const seen = [];
  const server = createServer((req, res) => {
    seen.push({ url: req.url, authorization: req.headers.authorization });
    handler(req, res);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise((r) => server.close(r)));
  return { base: `http://127.0.0.1:${server.address().port}/v1`, seen };
}

test('local passes without network', async () => {
  const r = await checkProvider(doctorEnv());
  assert.equal(r.status, 'pass');
  assert.match(r.detail, /^local: the built-in offline analyser/);
});

test('an unreachable endpoint (closed port on 127.0.0.1) fails fast; the key is masked', async () => {
  const port = await freePort();
  const started = Date.now();
  const r = await checkProvider(openai(`http://127.0.0.1:${port}/v1`));
  assert.equal(r.status, 'fail');
  assert.match(r.detail, new RegExp(`openai at http://127\\.0\\.0\\.1:${port}/v1, model gpt-test, key sk-…ET \\(30 chars\\): the endpoint is unreachable \\(ECONNREFUSED\\)`));
  assert.ok(!JSON.stringify(r).includes(KEY));
  assert.ok(Date.now() - started < 10_000, "refused, not waited for");
});

test('an endpoint that never answers times out after ~1.5 s', async (t) => {
  const { base } = await endpoint(t, () => {});
  const started = Date.now();
  const r = await checkProvider(openai(base));
  assert.equal(r.status, 'fail');
  assert.match(r.detail, /unreachable \(no answer within 1\.5 s\)/);
  assert.ok(Date.now() - started < 2500);
});

test('401 → key refused; the key is sent as a bearer token and never printed', async (t) => {
  const { base, seen } = await endpoint(t, (_req, res) => res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":{"message":"Incorrect API key"}}'));
  const r = await checkProvider(openai(base));
  assert.equal(r.status, 'fail');
  assert.match(r.detail, /the endpoint answered 401, key refused\./);
  assert.match(r.fix, /PRESENTER_AI_API_KEY/);
  assert.deepEqual(seen, [{ url: '/v1/models', authorization: `Bearer ${KEY}` }]);
  assert.ok(!JSON.stringify(r).includes(KEY));
});

test('200 listing the model passes; a model it does not list warns', async (t) => {
  const { base } = await endpoint(t, (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"data":[{"id":"gpt-test"},{"id":"other"}]}'));
  const ok = await checkProvider(openai(base));
  assert.equal(ok.status, 'pass');
  assert.match(ok.detail, /: reachable\.$/);
  const missing = await checkProvider(openai(base, { model: 'nope' }));
  assert.equal(missing.status, 'warn');
  assert.match(missing.fix, /gpt-test, other/);
});

test('any other HTTP answer counts as reachable; no key is noted', async (t) => {
  const { base } = await endpoint(t, (_req, res) => res.writeHead(404).end('not found'));
  const r = await checkProvider(openai(base, { apiKey: undefined }));
  assert.equal(r.status, 'pass');
  assert.match(r.detail, /reachable \(HTTP 404 on \/models\); no PRESENTER_AI_API_KEY is set/);
});

test('no model named fails', async () => {
  const r = await checkProvider(openai('http://127.0.0.1:9/v1', { model: undefined }));
  assert.equal(r.status, 'fail');
  assert.match(r.detail, /PRESENTER_AI_MODEL is not set/);
});

test('maskKey never shows more than five characters', () => {
  assert.equal(maskKey('short'), '*** (5 chars)');
  assert.equal(maskKey('sk-abcdefghijklmnopqrstuvwxyz'), 'sk-…yz (29 chars)');
});
