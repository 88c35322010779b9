// The presenter's web page, end to end in headless Chromium, plus the headers of its assets.
/* global window, document, getComputedStyle, MutationObserver */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { test } from 'node:test';
import { CONTENT_SECURITY_POLICY } from '../dist/http/web.js';
import { chromiumMissing, launchBrowser, openPage, unexpectedProblems } from './helpers/browser.js';
import { ROOT, startServer } from './helpers/cli.js';

const ARTIFACTS = join(ROOT, 'test/artifacts');
const PPTX_TYPE = 'application/vnd.openxmlformats-officedocument.presentationml.presentation';

// The server under test is the real one: the built CLI's `serve` (supervisor, worker, SQLite
// store, job runner) on 127.0.0.1 with its own data dir and port; see test/helpers/cli.js.
async function startApp(t, env = {}) {
  return startServer(t, { env });
}

/**
 * A fake OpenAI-compatible model server on 127.0.0.1: each POST /v1/chat/completions is handed
 * to the next function in `answers` (the last one repeats), which gets the parsed request body
 * and returns { status, body }; `calls` records the request bodies.
 */
async function startModelServer(t, answers) {
  const calls = [];
  const server = createServer((request, response) => {
    let raw = '';
    request.setEncoding('utf8');
    request.on('data', (chunk) => {
      raw += chunk;
    });
    request.on('end', async () => {
      if (request.method !== 'POST' || request.url !== '/v1/chat/completions') {
        response.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: 'no such route' } }));
        return;
      }
      const body = JSON.parse(raw);
      calls.push(body);
      const answer = answers[Math.min(calls.length, answers.length) - 1];
      const { status, body: reply } = await answer(body);
      response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(reply));
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise((resolve) => server.close(resolve)));
  return { baseUrl: `http://127.0.0.1:${server.address().port}/v1`, calls };
}

function chatCompletion(content) {
  return {
    id: 'chatcmpl-test',
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: 'test',
    choices: [{ index: 0, message: { role: 'assistant', content: JSON.stringify(content) }, finish_reason: 'stop' }],
  };
}

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
    strengths: [...document.querySelectorAll('#strengths li:not(.empty)')].map((li) => li.textContent),
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
    assert.equal(await page.locator('#submit-heading').textContent(), 'Feedback zu Ihrem Vortrag');
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
    // The local analyser names the slide it means, in German.
    assert.ok(feedback.improvements.some((text) => /\bFolie \d+\b/.test(text)), `an improvement names a slide: ${feedback.improvements}`);
    assert.deepEqual(feedback.slides, ['Warum wir testen', 'Wie wir testen', 'Fazit']);
    assert.match(feedback.summary, /\S/);
    assert.match(await page.locator('#provider').textContent(), /^Feedback von local/);
    assert.equal(await page.locator('#improvements-heading').textContent(), 'Verbesserungen');
    assert.equal(await page.locator('#status-text').textContent(), 'Das Feedback ist fertig.');
    assert.equal(await page.locator('#spinner').isHidden(), true);
    assert.ok((await page.locator('#slides > li').count()) >= 3, 'one entry per slide');
    // No speaker notes: the length is a range from the slide count, and even its low end is over 1 minute.
    assert.match(await page.locator('#metrics').textContent(), /Geschätzte Länge3–6 Min\., aus der Folienzahlüber dem Ziel von 1 Min\./);
    const statuses = await page.evaluate(() => window.__statuses);
    // The page shows `pending` from the POST's answer at once; the real job is too quick to
    // catch `processing` reliably (the failed-feedback scenario below holds a model call to see it).
    assert.equal(statuses[0], 'Wartet auf einen freien Platz…', `pending shown first: ${statuses}`);
    assert.equal(statuses.at(-1), 'Das Feedback ist fertig.', `done shown last: ${statuses}`);
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
    // The page checks everything the API's schema checks (title, content, language, a target
    // within 1..600) before sending, so the real rejection a presenter can still meet is the
    // body limit (1 MiB by default): a pasted talk has no size check in the page.
    const answers = [];
    page.on('response', (response) => response.url().endsWith('/api/presentations') && answers.push(response.status()));
    await page.goto(`${app.url}/`);
    await page.fill('#title', 'A very long talk');
    await page.fill('#content', `# Hello\n\n${'Worte über Worte. '.repeat(60_000)}`);
    await page.click('#submit');
    await page.locator('#form-errors').waitFor({ state: 'visible' });
    assert.deepEqual(answers, [413]);
    assert.equal(await page.locator('#form-errors-title').textContent(), 'The server did not accept the talk:');
    assert.deepEqual(await page.locator('#form-errors-list li').allTextContents(), ['the request body is larger than the limit of 1048576 bytes']);
    assert.equal(new URL(page.url()).search, '', 'stays on the form');
    assert.equal(await page.inputValue('#title'), 'A very long talk', 'keeps the input');
    assert.equal(await page.locator('#submit').isEnabled(), true, 'the button can be used again');
    await page.screenshot({ path: join(ARTIFACTS, 'web-desktop-server-error.png') });
    assert.deepEqual(await unexpectedProblems(page, problems, [/status of 413/]), []);
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
    // The local analyser reduces a slide heading to its plain words; whatever the API says is
    // what the page shows, as text.
    const id = new URL(page.url()).searchParams.get('id');
    const api = await (await fetch(`${app.url}/api/presentations/${id}`)).json();
    assert.equal(api.title, XSS);
    assert.equal(shown.slides[0], api.feedback.slides[0].title);
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

  await t.test('a failed feedback shows the error, and "Request new feedback" resumes polling', async (t) => {
    // The real `openai` provider against a fake model server: a 401 first (not retryable, so
    // the presentation fails at once), then, after "Request new feedback", a valid answer that
    // the test holds back until it has seen the page show `processing`.
    let release;
    const held = new Promise((resolve) => {
      release = resolve;
    });
    const modelFeedback = {
      language: 'en',
      score: 81,
      summary: 'A short talk with a clear message.',
      strengths: ['Slide 1 (Why): states the problem in one sentence.'],
      improvements: ['Slide 2 (How): replace "various tools" with the two tools you actually use.'],
      slides: [{ index: 2, title: 'How', notes: ['Name the tools.'] }],
      metrics: { readability: 70 },
    };
    const model = await startModelServer(t, [
      () => ({ status: 401, body: { error: { message: 'Incorrect API key provided', type: 'invalid_request_error', code: 'invalid_api_key' } } }),
      async () => {
        await held;
        return { status: 200, body: chatCompletion(modelFeedback) };
      },
    ]);
    const ai = await startApp(t, { PRESENTER_AI_PROVIDER: 'openai', PRESENTER_AI_BASE_URL: model.baseUrl, PRESENTER_AI_MODEL: 'test' });

    const { page, problems } = await openPage(browser, t);
    await page.goto(`${ai.url}/`);
    await page.fill('#title', 'Flaky model');
    await page.fill('#content', '# Why\n\nOur builds are slow.\n\n# How\n\nWe use various tools to make them faster.');
    await page.click('#submit');
    const failure = page.locator('#failure');
    await failure.waitFor({ state: 'visible', timeout: 20_000 });
    assert.equal(model.calls.length, 1, 'a 401 is not retried');
    assert.equal(model.calls[0].model, 'test');
    assert.match(model.calls[0].messages.at(-1).content, /^Title: Flaky model$/m);
    assert.equal(await page.locator('#failure-title').textContent(), 'Feedback failed after 1 attempt.');
    assert.equal(
      await page.locator('#failure-message').textContent(),
      'The feedback model refused the server’s credentials: the operator needs to fix its configuration.',
    );
    // the operator's detail (internal URL, setting names) is not shown to presenters
    assert.doesNotMatch(await page.locator('#failure-message').textContent(), /127\.0\.0\.1|PRESENTER_/);
    assert.equal(await page.locator('#status-text').textContent(), 'Feedback could not be generated.');
    assert.equal(await page.locator('#spinner').isHidden(), true);
    assert.equal(await page.locator('#feedback').isHidden(), true);
    await page.screenshot({ path: join(ARTIFACTS, 'web-desktop-failed.png'), fullPage: true });

    const requested = page.waitForResponse((r) => r.url().endsWith('/feedback') && r.request().method() === 'POST');
    await page.click('#retry');
    assert.equal((await requested).status(), 202);
    // The job runner has claimed the job and is waiting for the (held) model answer.
    await page.locator('#status-text', { hasText: 'Generating feedback (attempt 1)…' }).waitFor();
    assert.equal(await failure.isHidden(), true);
    assert.equal(await page.locator('#spinner').isVisible(), true);
    await page.screenshot({ path: join(ARTIFACTS, 'web-desktop-processing.png'), fullPage: true });
    release();

    await waitForFeedback(page);
    assert.equal(model.calls.length, 2);
    assert.equal(await failure.isHidden(), true);
    assert.equal(await page.locator('#status-text').textContent(), 'Feedback is ready.');
    const shown = await readFeedback(page);
    assert.equal(shown.score, 81);
    assert.equal(shown.summary, modelFeedback.summary);
    assert.deepEqual(shown.improvements, modelFeedback.improvements);
    assert.deepEqual(shown.slides, ['How']);
    assert.equal(await page.locator('#provider').textContent(), 'Feedback by openai (test)');
    await page.screenshot({ path: join(ARTIFACTS, 'web-desktop-feedback-openai.png'), fullPage: true });
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
    assert.deepEqual(await page.locator('#form-errors-list li').allTextContents(), ['slides.pdf is not a .pptx, .md or .txt file.']);
    assert.equal(await page.inputValue('#content'), GERMAN_TALK, 'a rejected file leaves the talk alone');
    assert.deepEqual(await unexpectedProblems(page, problems), []);
  });

  await t.test('uploading a .pptx sends the deck itself: slides, bullets and speaker notes come back as feedback', async (t) => {
    const { page, problems } = await openPage(browser, t, { locale: 'de-DE' });
    await page.goto(`${app.url}/`);
    // One German register: the page says "Sie", as the feedback does.
    const pageText = await page.locator('body').innerText();
    assert.match(pageText, /\bIhre[mn]?\b/);
    assert.doesNotMatch(pageText, /\b(?:du|dein|deine|deinen|deinem|dir|dich)\b/i);
    await page.fill('#targetMinutes', '5');
    await page.setInputFiles('#file', { name: 'formulare.pptx', mimeType: PPTX_TYPE, buffer: readFileSync(new URL('./fixtures/pptx/de-notes.pptx', import.meta.url)) });
    assert.equal(await page.locator('#file-name').textContent(), 'formulare.pptx wird gesendet: Folien und Sprechernotizen werden auf dem Server gelesen.');
    assert.equal(await page.inputValue('#content'), '', 'a deck is not pasted into the textarea');
    await page.click('#submit');
    await page.waitForURL(/\/\?id=[\w-]+$/);
    await waitForFeedback(page);
    const feedback = await readFeedback(page);
    assert.equal(feedback.title, 'Formulare, die niemand hasst', 'the title comes from the first slide');
    assert.deepEqual(feedback.slides, ['Formulare, die niemand hasst', 'Warum das wichtig ist', 'Was wir geändert haben', 'Fazit', 'Fangen Sie mit einem Formular an']);
    assert.ok(feedback.strengths.some((s) => s.startsWith('Klarer Abschluss auf Folie 5')), feedback.strengths.join('\n'));
    assert.match(await page.locator('#metrics').textContent(), /Geschätzte Länge[\d,]+ Min\. Sprechernotizen/);
    const all = [feedback.summary, ...feedback.strengths, ...feedback.improvements].join('\n');
    assert.doesNotMatch(all, /\b(?:du|dein|deine|deinen|dir|dich)\b/i, 'the feedback says "Sie" too');
    await page.screenshot({ path: join(ARTIFACTS, 'web-desktop-feedback-pptx.png'), fullPage: true });
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
    await waitForFeedback(page);
    assert.equal(await noHorizontalScroll(page), true);
    await page.screenshot({ path: join(ARTIFACTS, 'web-phone-feedback.png'), fullPage: true });
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.screenshot({ path: join(ARTIFACTS, 'web-phone-feedback-dark.png'), fullPage: true });
    assert.deepEqual(await unexpectedProblems(page, problems), []);
  });
});
