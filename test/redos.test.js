// ReDoS: every regular expression in src/ is checked by recheck (its pure-JavaScript backend, so
// the test needs neither Java nor a native binary nor the network), and a real server stays
// responsive while it parses the body that used to block a worker.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import test from 'node:test';
import { ROOT, startServer } from './helpers/cli.js';
import { api } from './helpers/http.js';
import { regexesIn, regexesUnder } from './helpers/regexes.js';

// recheck's default backend ('auto') looks for its native binary or Java first.
process.env.RECHECK_BACKEND = 'pure';
const { check } = await import('recheck');

// The automaton checker is exact and fast for what it supports; the fuzzer covers the rest
// (lookarounds, back-references). The fuzzer judges by counted steps only, not by wall-clock
// timeouts, so a loaded machine cannot change its answer. A check that runs out of its generous
// total time answers 'unknown', which fails the test.
async function checkRegex(source, flags) {
  const exact = await check(source, flags, { checker: 'automaton', timeout: 60_000 });
  if (exact.status !== 'unknown') return exact;
  return check(source, flags, { checker: 'fuzz', timeout: 120_000, attackTimeout: null, incubationTimeout: null });
}

test('the collector finds literals, folded new RegExp(…) and schema patterns, and flags what it cannot fold', () => {
  const source = [
    "const WORD = 'w(?:a|b)';",
    'const a = /^x+$/m;',
    'const b = new RegExp(`^${WORD}\\\\d`, "g");',
    "const c = { type: 'string', pattern: '^[0-9]+$' };",
    'function d(input: string) { return new RegExp(input); }',
  ].join('\n');
  const found = regexesIn(source, 'sample.ts');
  assert.deepEqual(
    found.map(({ where, source: s, flags, unresolved }) => (unresolved ? { where, unresolved } : { where, source: s, flags })),
    [
      { where: 'sample.ts:2', source: '^x+$', flags: 'm' },
      { where: 'sample.ts:3', source: '^w(?:a|b)\\d', flags: 'g' },
      { where: 'sample.ts:4', source: '^[0-9]+$', flags: 'u' },
      { where: 'sample.ts:5', unresolved: 'new RegExp(input)' },
    ],
  );
});

test('recheck (pure JavaScript backend) flags the Markdown title regex that froze the workers', async () => {
  const old = await checkRegex('^\\s{0,3}#{1,6}\\s+(.+?)\\s*#*\\s*$', 'm');
  assert.equal(old.status, 'vulnerable');
  assert.equal(old.complexity.type, 'polynomial');
});

test('every regular expression in src/ is safe from ReDoS', { timeout: 900_000 }, async (t) => {
  const regexes = regexesUnder(join(ROOT, 'src'), ROOT);
  // src/ has dozens; an empty list would mean the collector broke, not that all is well
  assert.ok(regexes.length > 20, `only ${regexes.length} regexes found under src/`);
  for (const regex of regexes) {
    await t.test(`${regex.where} ${regex.unresolved ?? `/${regex.source}/${regex.flags}`}`, async () => {
      assert.equal(regex.unresolved, undefined, `${regex.where}: the pattern of ${regex.unresolved} is not known at compile time, so it cannot be checked; build it from literals and same-file constants`);
      const result = await checkRegex(regex.source, regex.flags);
      const attack = result.attack ? `; attack string ${result.attack.pattern}` : '';
      const hotspot = result.hotspot?.length ? `; hot spot ${result.hotspot.map((h) => JSON.stringify(regex.source.slice(h.start, h.end))).join(' ')}` : '';
      assert.equal(result.status, 'safe', `${regex.where}: /${regex.source}/${regex.flags} is ${result.status}${result.complexity ? ` (${result.complexity.type})` : ''}${attack}${hotspot}${result.error ? `; ${result.error.kind}` : ''}`);
    });
  }
});

test('the attack body is answered and both workers of `advanced` stay responsive', { timeout: 90_000 }, async (t) => {
  const server = await startServer(t, { args: ['--profile', 'advanced'] });
  // 20,000 spaces: the old regex needed minutes for 8,000 (cubic); the issue froze both workers with two bodies
  const attack = `# a${' '.repeat(20_000)}b`;
  const posts = [1, 2].map(() => api(server, '/api/presentations', { method: 'POST', body: attack, headers: { 'content-type': 'text/markdown' } }));
  const health = await api(server, '/healthz');
  assert.equal(health.status, 200);
  const created = await Promise.all(posts);
  for (const res of created) {
    assert.equal(res.status, 201, JSON.stringify(res.data));
    const view = await api(server, res.data.url);
    assert.equal(view.data.title, 'a'); // the title is cut to 200 characters, then trimmed
  }
  // the same worker keeps serving after the attack
  assert.equal((await api(server, '/healthz')).status, 200);
});

test('the Markdown title follows CommonMark headings', async (t) => {
  const server = await startServer(t, { args: ['--profile', 'safe'] });
  const cases = [
    ['# Title\n\ntext', 'Title'],
    ['intro\n\n  ## Closed ##  \r\nmore', 'Closed'],
    ['# C#\n', 'C#'],
    ['#NoSpace\n# Real one', 'Real one'],
    ['#\n#   \n### ###\n#\tTabbed', 'Tabbed'],
  ];
  for (const [body, title] of cases) {
    const res = await api(server, '/api/presentations', { method: 'POST', body, headers: { 'content-type': 'text/markdown' } });
    assert.equal(res.status, 201, `${JSON.stringify(body)}: ${JSON.stringify(res.data)}`);
    assert.equal((await api(server, res.data.url)).data.title, title, JSON.stringify(body));
  }
  const none = await api(server, '/api/presentations', { method: 'POST', body: 'no heading\n    # indented code', headers: { 'content-type': 'text/markdown' } });
  assert.equal(none.status, 400);
  assert.equal(none.data.error.code, 'VALIDATION');
});
