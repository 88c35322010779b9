// The presenter's web page, end to end in headless Chromium, plus the headers of its assets.
/* global window, document, getComputedStyle, MutationObserver */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import Fastify from 'fastify';
import { webRoutes, CONTENT_SECURITY_POLICY } from '../dist/http/web.js';
import { chromiumMissing, launchBrowser, openPage, unexpectedProblems } from './helpers/browser.js';
import { ROOT } from './helpers/cli.js';

const ARTIFACTS = join(ROOT, 'test/artifacts');

// ---------------------------------------------------------------------------------------------
// The server under test. Until the HTTP API lands this is webRoutes plus an in-memory fake of
// DESIGN.md's four presentation routes; switch the body to
//   const server = await startServer(t); return { url: server.url, fake: false };
// (test/helpers/cli.js) once `serve` answers them. `fake` only gates the checks that need the
// fake's scripted behaviour (forced failure, a visible pending → processing sequence).
// ---------------------------------------------------------------------------------------------
async function startApp(t) {
  const app = Fastify({ logger: false });
  await app.register(webRoutes);
  await app.register(fakePresentationsApi);
  await app.listen({ host: '127.0.0.1', port: 0 });
  t.after(() => app.close());
  const { port } = app.server.address();
  return { url: `http://127.0.0.1:${port}`, fake: true };
}

// Content containing this marker fails once in the fake (after 3 attempts), then succeeds.
const FAIL_ONCE = 'FAIL-ONCE';

async function fakePresentationsApi(app) {
  const presentations = new Map();
  const apiError = (reply, status, code, message) => reply.code(status).send({ error: { code, message } });

  app.setErrorHandler((error, _request, reply) => {
    const status = error.statusCode ?? 500;
    apiError(reply, status, status === 400 ? 'BAD_REQUEST' : 'INTERNAL', status < 500 ? error.message : 'Internal error');
  });
  app.setNotFoundHandler((request, reply) => apiError(reply, 404, 'NOT_FOUND', `Route ${request.method} ${request.url} not found`));

  app.post('/api/presentations', (request, reply) => {
    const body = request.body ?? {};
    const invalid = (message) => apiError(reply, 400, 'VALIDATION', message);
    if (typeof body.title !== 'string' || body.title.trim() === '') return invalid('title: must not be empty');
    if (body.title.length > 200) return invalid('title: must be at most 200 characters');
    if (typeof body.content !== 'string' || body.content.trim() === '') return invalid('content: must not be empty');
    const language = body.language ?? 'auto';
    if (!['auto', 'de', 'en'].includes(language)) return invalid('language: must be one of "auto", "de", "en"');
    const target = body.targetMinutes;
    if (target !== undefined && (!Number.isInteger(target) || target < 1 || target > 600)) {
      return invalid('targetMinutes: must be an integer from 1 to 600');
    }
    const id = randomUUID();
    presentations.set(id, {
      id,
      title: body.title.trim(),
      content: body.content,
      language,
      targetMinutes: target,
      createdAt: new Date().toISOString(),
      status: 'pending',
      attempts: 0,
      feedback: null,
      polls: 0,
      failNext: body.content.includes(FAIL_ONCE),
    });
    const url = `/api/presentations/${id}`;
    return reply.code(201).header('location', url).send({ id, status: 'pending', url });
  });

  // Each GET moves the fake job one step: pending → processing → done (or failed).
  app.get('/api/presentations/:id', (request, reply) => {
    const p = presentations.get(request.params.id);
    if (!p) return apiError(reply, 404, 'NOT_FOUND', `presentation ${request.params.id} not found`);
    if (p.status === 'pending' || p.status === 'processing') {
      p.polls += 1;
      if (p.polls === 2) {
        p.status = 'processing';
        p.attempts += 1;
      } else if (p.polls >= 3 && p.failNext) {
        p.status = 'failed';
        p.attempts = 3;
        p.error = 'model endpoint answered HTTP 503 three times';
        p.failNext = false;
      } else if (p.polls >= 3) {
        p.status = 'done';
        p.feedback = fakeFeedback(p);
      }
    }
    const { id, title, language, createdAt, status, attempts, feedback, error } = p;
    return { id, title, language, createdAt, status, attempts, feedback, ...(status === 'failed' ? { error } : {}) };
  });

  app.post('/api/presentations/:id/feedback', (request, reply) => {
    const p = presentations.get(request.params.id);
    if (!p) return apiError(reply, 404, 'NOT_FOUND', `presentation ${request.params.id} not found`);
    Object.assign(p, { status: 'pending', attempts: 0, polls: 0, error: undefined });
    return reply.code(202).send({ id: p.id, status: 'pending' });
  });

  app.get('/api/presentations', (_request, reply) => apiError(reply, 401, 'UNAUTHORIZED', 'an admin token is required'));
}

// A deterministic stand-in for the local provider, in DESIGN.md's Feedback shape.
function fakeFeedback(p) {
  const language = p.language === 'auto' ? (/\b(und|der|die|das|nicht)\b/i.test(p.content) ? 'de' : 'en') : p.language;
  const slides = [];
  for (const line of p.content.split('\n')) {
    const heading = /^#{1,6}\s+(.*)$/.exec(line);
    if (heading || slides.length === 0) slides.push({ title: heading ? heading[1].trim() : '', words: 0 });
    if (!heading) slides.at(-1).words += line.split(/\s+/).filter(Boolean).length;
  }
  const words = p.content.split(/\s+/).filter(Boolean).length;
  const de = language === 'de';
  return {
    provider: 'local',
    language,
    score: 72,
    summary: de ? `Ein klar gegliederter Vortrag mit ${slides.length} Folien.` : `A clearly structured talk with ${slides.length} slides.`,
    strengths: [de ? 'Jede Folie hat eine Überschrift.' : 'Every slide has a heading.'],
    improvements: [de ? 'Kürze die längste Folie auf höchstens 40 Wörter.' : 'Cut the longest slide to at most 40 words.'],
    slides: slides.map((s, i) => ({
      index: i + 1,
      title: s.title,
      notes: s.words > 40 ? [de ? `${s.words} Wörter sind zu viel für eine Folie.` : `${s.words} words are too many for one slide.`] : [],
    })),
    metrics: {
      slides: slides.length,
      words,
      estimatedMinutes: Math.round((words / 130) * 10) / 10,
      ...(p.targetMinutes === undefined ? {} : { targetMinutes: p.targetMinutes }),
      wordsPerSlideMax: Math.max(...slides.map((s) => s.words)),
      readability: 61.5,
    },
  };
}

// ---------------------------------------------------------------------------------------------

const GERMAN_TALK = `# Warum wir testen

Tests geben uns Sicherheit. Sie zeigen, dass der Code das tut, was er soll, und dass er es auch
morgen noch tut, wenn jemand anderes ihn ändert.

# Wie wir testen

Wir schreiben kleine Tests für jede Funktion und einige große Tests, die das ganze System von
außen prüfen, so wie es eine Nutzerin oder ein Nutzer tun würde. Dabei achten wir darauf, dass
jeder Test unabhängig läuft, seine eigenen Daten hat und nichts von anderen Tests erwartet. Das
macht die Tests langsamer, aber viel verlässlicher, und Fehler lassen sich leichter finden.

# Fazit

Testen lohnt sich.
`;

const XSS = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2">';

async function waitForFeedback(page) {
  await page.locator('#feedback').waitFor({ state: 'visible', timeout: 20_000 });
}

async function readFeedback(page) {
  return page.evaluate(() => ({
    title: document.getElementById('result-title').textContent,
    score: document.getElementById('score-meter').value,
    scoreText: document.getElementById('score-text').textContent,
    summary: document.getElementById('summary').textContent,
    improvements: [...document.querySelectorAll('#improvements li:not(.empty)')].map((li) => li.textContent),
    slides: [...document.querySelectorAll('#slides .slide-title')].map((s) => s.textContent),
    lang: document.getElementById('summary').lang,
  }));
}

async function noHorizontalScroll(page) {
  return page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
}

test('the page and its assets carry the security headers and revalidate by ETag', async (t) => {
  const app = await startApp(t);
  const types = { '/': 'text/html', '/app.js': 'text/javascript', '/app.css': 'text/css' };
  for (const [path, type] of Object.entries(types)) {
    const res = await fetch(app.url + path);
    assert.equal(res.status, 200, path);
    assert.equal(res.headers.get('content-type'), `${type}; charset=utf-8`, path);
    assert.equal(res.headers.get('content-security-policy'), CONTENT_SECURITY_POLICY, path);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff', path);
    assert.equal(res.headers.get('referrer-policy'), 'no-referrer', path);
    assert.equal(res.headers.get('cache-control'), 'no-cache', path);
    const etag = res.headers.get('etag');
    assert.match(etag, /^"[\w-]+"$/, path);
    const again = await fetch(app.url + path, { headers: { 'if-none-match': etag } });
    assert.equal(again.status, 304, path);
  }
  const html = await (await fetch(`${app.url}/?id=anything`)).text();
  assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script');
  assert.doesNotMatch(html, /<style|\sstyle=/, 'no inline style');
});

test('the presenter page in Chromium', { skip: chromiumMissing }, async (t) => {
  mkdirSync(ARTIFACTS, { recursive: true });
  const browser = await launchBrowser(t);
  const app = await startApp(t);

  await t.test('a German talk: German interface, status while polling, then the feedback', async (t) => {
    const { page, problems } = await openPage(browser, t, { locale: 'de-DE' });
    const response = await page.goto(`${app.url}/`);
    assert.equal(response.headers()['content-security-policy'], CONTENT_SECURITY_POLICY);
    assert.equal(await page.locator('html').getAttribute('lang'), 'de');
    assert.equal(await page.locator('#submit-heading').textContent(), 'Feedback zu deinem Vortrag');
    assert.equal(await page.locator('label[for=title]').textContent(), 'Titel');

    await page.fill('#title', 'Warum wir testen');
    await page.fill('#targetMinutes', '1');
    await page.selectOption('#language', 'de');
    await page.fill('#content', GERMAN_TALK);
    await page.screenshot({ path: join(ARTIFACTS, 'web-desktop-form.png'), fullPage: true });

    // Record every status the live region announces.
    await page.evaluate(() => {
      window.__statuses = [];
      new MutationObserver(() => window.__statuses.push(document.getElementById('status-text').textContent))
        .observe(document.getElementById('status'), { subtree: true, childList: true, characterData: true });
    });
    await page.click('#submit');
    await page.waitForURL(/\/\?id=[\w-]+$/);
    await waitForFeedback(page);

    const url = page.url();
    const feedback = await readFeedback(page);
    assert.equal(feedback.title, 'Warum wir testen');
    assert.ok(feedback.score >= 0 && feedback.score <= 100, `score ${feedback.score}`);
    assert.match(feedback.scoreText, /^\d+(,\d+)? \/ 100$/);
    assert.ok(feedback.improvements.length >= 1, 'at least one improvement');
    assert.ok(feedback.improvements.every((text) => text.trim() !== ''));
    assert.equal(feedback.lang, 'de');
    assert.equal(await page.locator('#improvements-heading').textContent(), 'Verbesserungen');
    assert.equal(await page.locator('#status-text').textContent(), 'Das Feedback ist fertig.');
    assert.equal(await page.locator('#spinner').isHidden(), true);
    assert.ok((await page.locator('#slides > li').count()) >= 3, 'one entry per slide');
    assert.match(await page.locator('#metrics').textContent(), /Geschätzte Länge[\d,]+ Min\.Ziel 1 Min\./);
    const statuses = await page.evaluate(() => window.__statuses);
    if (app.fake) {
      assert.ok(statuses.some((s) => s.startsWith('Wartet')), `pending shown: ${statuses}`);
      assert.ok(statuses.includes('Feedback wird erstellt (Versuch 1)…'), `processing shown: ${statuses}`);
    }
    await page.screenshot({ path: join(ARTIFACTS, 'web-desktop-feedback.png'), fullPage: true });

    // The bookmarked URL shows the same feedback, after a reload and in a fresh page.
    await page.reload();
    await waitForFeedback(page);
    assert.deepEqual(await readFeedback(page), feedback);
    const fresh = await openPage(browser, t, { locale: 'de-DE' });
    await fresh.page.goto(url);
    await waitForFeedback(fresh.page);
    assert.deepEqual(await readFeedback(fresh.page), feedback);

    // The toggle switches the interface, not the feedback, and is remembered.
    await page.click('#lang-toggle');
    assert.equal(await page.locator('#improvements-heading').textContent(), 'Improvements');
    assert.equal(await page.locator('#status-text').textContent(), 'Feedback is ready.');
    assert.deepEqual((await readFeedback(page)).improvements, feedback.improvements);
    await page.reload();
    await waitForFeedback(page);
    assert.equal(await page.locator('#improvements-heading').textContent(), 'Improvements');

    // Back to the form by the link, and the browser's back button returns to the feedback.
    await page.click('#new-talk');
    assert.equal(new URL(page.url()).search, '');
    await page.locator('#talk-form').waitFor({ state: 'visible' });
    await page.goBack();
    await waitForFeedback(page);

    assert.deepEqual(await unexpectedProblems(page, problems), []);
    assert.deepEqual(await unexpectedProblems(fresh.page, fresh.problems), []);
  });

  await t.test('an empty form shows what is missing and sends nothing', async (t) => {
    const { page, problems } = await openPage(browser, t);
    const posts = [];
    page.on('request', (request) => request.method() === 'POST' && posts.push(request.url()));
    await page.goto(`${app.url}/`);
    await page.click('#submit');
    const errors = page.locator('#form-errors');
    await errors.waitFor({ state: 'visible' });
    assert.equal(await page.locator('#form-errors-title').textContent(), 'Please check your input:');
    assert.deepEqual(await page.locator('#form-errors-list li').allTextContents(), ['Enter a title.', 'Paste your talk or upload a file.']);
    assert.equal(await page.locator('#title').getAttribute('aria-invalid'), 'true');
    assert.equal(await page.locator('#content').getAttribute('aria-invalid'), 'true');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'title');
    assert.equal(await errors.getAttribute('role'), 'alert');

    await page.fill('#title', 'x'.repeat(201));
    await page.fill('#content', 'Hello');
    await page.click('#submit');
    assert.deepEqual(await page.locator('#form-errors-list li').allTextContents(), ['The title is too long: 201 characters, at most 200.']);
    await page.screenshot({ path: join(ARTIFACTS, 'web-desktop-errors.png'), fullPage: true });
    assert.deepEqual(posts, []);
    assert.deepEqual(await unexpectedProblems(page, problems), []);
  });

  await t.test("the server's error message is shown next to the form", async (t) => {
    const { page, problems } = await openPage(browser, t);
    // The real API's validation may differ from the page's; force a rejection to test the display.
    await page.route('**/api/presentations', (route) => route.fulfill({
      status: 400,
      contentType: 'application/json',
      body: JSON.stringify({ error: { code: 'VALIDATION', message: 'content: must be at most 200000 characters' } }),
    }));
    await page.goto(`${app.url}/`);
    await page.fill('#title', 'A talk');
    await page.fill('#content', '# Hello\n\nWorld');
    await page.click('#submit');
    await page.locator('#form-errors').waitFor({ state: 'visible' });
    assert.equal(await page.locator('#form-errors-title').textContent(), 'The server did not accept the talk:');
    assert.deepEqual(await page.locator('#form-errors-list li').allTextContents(), ['content: must be at most 200000 characters']);
    assert.equal(new URL(page.url()).search, '', 'stays on the form');
    assert.equal(await page.inputValue('#title'), 'A talk', 'keeps the input');
    assert.deepEqual(await unexpectedProblems(page, problems, [/status of 400/]), []);
  });

  await t.test('markup in the title and the talk is shown as text, never run', async (t) => {
    const { page, problems } = await openPage(browser, t);
    await page.goto(`${app.url}/`);
    await page.fill('#title', XSS);
    await page.fill('#content', `# ${XSS}\n\nSome words about <b>bold</b> claims.\n\n# Second\n\nMore.`);
    await page.click('#submit');
    await waitForFeedback(page);
    const shown = await readFeedback(page);
    assert.equal(shown.title, XSS);
    if (app.fake) assert.equal(shown.slides[0], XSS);
    assert.equal(await page.title(), `${XSS} – Presentation feedback`);
    assert.equal(await page.evaluate(() => window.__xss), undefined);
    assert.equal(await page.locator('img').count(), 0);
    assert.equal(await page.locator('script').count(), 1, 'only /app.js');
    await page.reload();
    await waitForFeedback(page);
    assert.equal(await page.evaluate(() => window.__xss), undefined);
    assert.deepEqual(await unexpectedProblems(page, problems), []);
  });

  await t.test('an unknown id says "not found"', async (t) => {
    const { page, problems } = await openPage(browser, t);
    await page.goto(`${app.url}/?id=${randomUUID()}`);
    await page.locator('#result-title', { hasText: 'Presentation not found' }).waitFor();
    assert.match(await page.locator('#status-text').textContent(), /No presentation with this link exists/);
    assert.equal(await page.locator('#feedback').isHidden(), true);
    assert.equal(await page.locator('#spinner').isHidden(), true);
    assert.deepEqual(await unexpectedProblems(page, problems, [/status of 404/]), []);
  });

  await t.test('a failed feedback shows the error, and "Request new feedback" resumes polling', { skip: !app.fake && 'needs the fake API to force a failure' }, async (t) => {
    const { page, problems } = await openPage(browser, t);
    await page.goto(`${app.url}/`);
    await page.fill('#title', 'Flaky model');
    await page.fill('#content', `# One\n\n${FAIL_ONCE} words on a slide.`);
    await page.click('#submit');
    const failure = page.locator('#failure');
    await failure.waitFor({ state: 'visible', timeout: 20_000 });
    assert.equal(await page.locator('#failure-title').textContent(), 'Feedback failed after 3 attempts.');
    assert.equal(await page.locator('#failure-message').textContent(), 'model endpoint answered HTTP 503 three times');
    assert.equal(await page.locator('#status-text').textContent(), 'Feedback could not be generated.');
    await page.screenshot({ path: join(ARTIFACTS, 'web-desktop-failed.png'), fullPage: true });
    const requested = page.waitForResponse((r) => r.url().endsWith('/feedback') && r.request().method() === 'POST');
    await page.click('#retry');
    assert.equal((await requested).status(), 202);
    await waitForFeedback(page);
    assert.equal(await failure.isHidden(), true);
    assert.equal(await page.locator('#status-text').textContent(), 'Feedback is ready.');
    assert.deepEqual(await unexpectedProblems(page, problems), []);
  });

  await t.test('uploading a .md file fills the talk, shows the filename and suggests a title', async (t) => {
    const { page, problems } = await openPage(browser, t);
    await page.goto(`${app.url}/`);
    await page.setInputFiles('#file', { name: 'vortrag.md', mimeType: 'text/markdown', buffer: Buffer.from(GERMAN_TALK) });
    await page.locator('#file-name', { hasText: 'vortrag.md' }).waitFor();
    assert.equal(await page.locator('#file-name').textContent(), 'Loaded vortrag.md');
    assert.equal(await page.inputValue('#content'), GERMAN_TALK);
    assert.equal(await page.inputValue('#title'), 'Warum wir testen');

    await page.setInputFiles('#file', { name: 'slides.pdf', mimeType: 'application/pdf', buffer: Buffer.from('%PDF-1.7') });
    assert.deepEqual(await page.locator('#form-errors-list li').allTextContents(), ['slides.pdf is not a .md or .txt file.']);
    assert.equal(await page.inputValue('#content'), GERMAN_TALK, 'a rejected file leaves the talk alone');
    assert.deepEqual(await unexpectedProblems(page, problems), []);
  });

  await t.test('keyboard: Tab reaches every field and the submit button, with a visible focus ring', async (t) => {
    const { page, problems } = await openPage(browser, t);
    await page.goto(`${app.url}/`);
    const order = [];
    for (let i = 0; i < 9; i += 1) {
      await page.keyboard.press('Tab');
      order.push(await page.evaluate(() => {
        const el = document.activeElement;
        const ring = el.type === 'file' ? el.nextElementSibling : el;
        return { id: el.id || el.className, outline: getComputedStyle(ring).outlineStyle };
      }));
    }
    assert.deepEqual(order.map((o) => o.id), ['skip-link', 'home-link', 'lang-toggle', 'title', 'targetMinutes', 'language', 'content', 'file', 'submit']);
    for (const { id, outline } of order) assert.notEqual(outline, 'none', `focus ring on ${id}`);
    // Enter on the focused submit button submits (and the empty form is rejected).
    await page.keyboard.press('Enter');
    await page.locator('#form-errors').waitFor({ state: 'visible' });
    assert.deepEqual(await unexpectedProblems(page, problems), []);
  });

  await t.test('phone width: one column, nothing wider than the screen', async (t) => {
    const { page, problems } = await openPage(browser, t, { viewport: { width: 390, height: 844 } });
    await page.goto(`${app.url}/`);
    assert.equal(await noHorizontalScroll(page), true);
    const inputFont = await page.evaluate(() => getComputedStyle(document.getElementById('title')).fontSize);
    assert.equal(inputFont, '16px', 'no zoom-on-focus on phones');
    await page.fill('#title', 'Warum wir testen');
    await page.fill('#targetMinutes', '1');
    await page.fill('#content', GERMAN_TALK);
    await page.screenshot({ path: join(ARTIFACTS, 'web-phone-form.png'), fullPage: true });
    await page.click('#submit');
    if (app.fake) {
      await page.locator('#status-text', { hasText: 'Generating feedback' }).waitFor();
      assert.equal(await page.locator('#spinner').isVisible(), true);
      await page.screenshot({ path: join(ARTIFACTS, 'web-phone-processing.png'), fullPage: true });
    }
    await waitForFeedback(page);
    assert.equal(await noHorizontalScroll(page), true);
    await page.screenshot({ path: join(ARTIFACTS, 'web-phone-feedback.png'), fullPage: true });
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.screenshot({ path: join(ARTIFACTS, 'web-phone-feedback-dark.png'), fullPage: true });
    assert.deepEqual(await unexpectedProblems(page, problems), []);
  });
});
