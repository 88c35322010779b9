// PowerPoint input: decks made by LibreOffice Impress (scripts/make-pptx-fixtures.sh), a deck laid
// out as PowerPoint does (placeholders), and hostile files, in-process and over real HTTP.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { test } from 'node:test';
import { PPTX_LIMITS, readPptx, readPptxIsolated } from '../dist/feedback/pptx/index.js';
import { analyse } from '../dist/feedback/analysis/analyse.js';
import { startServer } from './helpers/cli.js';
import { api, waitForStatus } from './helpers/http.js';
import { deckEntries, makeZip } from './helpers/zip.js';

const PPTX = 'application/vnd.openxmlformats-officedocument.presentationml.presentation';
const fixture = (name) => readFileSync(new URL(`./fixtures/pptx/${name}`, import.meta.url));

async function refused(buffer) {
  try {
    await readPptx(buffer);
  } catch (error) {
    return { status: error.statusCode, code: error.code, message: error.message };
  }
  return undefined;
}

// The hostile files, each with the answer it must get.
function hostile() {
  const deck = deckEntries([{ title: 'One', body: ['a'] }]);
  const zeros = Buffer.alloc(64 * 1024 * 1024);
  return [
    { name: 'not a zip', body: Buffer.from('just some text, not a presentation'), status: 400, code: 'PPTX_NOT_ZIP' },
    { name: 'a zip signature with garbage behind it', body: Buffer.concat([Buffer.from('PK\x03\x04'), Buffer.alloc(100, 7)]), status: 400, code: 'PPTX_NOT_ZIP' },
    { name: 'OLE2 (an encrypted deck or a .ppt)', body: Buffer.concat([Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]), Buffer.alloc(4096)]), status: 422, code: 'PPTX_ENCRYPTED' },
    { name: 'a zip entry with the encryption flag', body: makeZip(deck.map((e) => ({ ...e, encrypted: e.name.includes('slide1') }))), status: 422, code: 'PPTX_ENCRYPTED' },
    { name: '10,001 entries', body: makeZip(Array.from({ length: 10_001 }, (_, i) => ({ name: `x/${i}`, data: '', deflate: false }))), status: 413, code: 'PPTX_TOO_MANY_ENTRIES' },
    {
      name: 'a 64 MiB slide deflated to kilobytes (declared honestly)',
      body: makeZip(deck.map((e) => (e.name === 'ppt/slides/slide1.xml' ? { name: e.name, data: zeros } : e))),
      status: 413, code: 'PPTX_TOO_LARGE',
    },
    {
      name: 'a 64 MiB slide that declares 300 bytes',
      body: makeZip(deck.map((e) => (e.name === 'ppt/slides/slide1.xml' ? { name: e.name, data: zeros, declaredSize: 300 } : e))),
      status: 413, code: 'PPTX_TOO_LARGE',
    },
    {
      name: 'entries declaring 3 GiB in all',
      body: makeZip([...deck, ...[1, 2, 3].map((i) => ({ name: `ppt/media/big${i}.bin`, data: 'x', declaredSize: 0xffff_fff0 }))]),
      status: 413, code: 'PPTX_TOO_LARGE',
    },
    {
      name: 'slides that together hold more XML than is read',
      body: makeZip(deckEntries(Array.from({ length: 20 }, (_, i) => ({ title: `S${i}` }))).map((e) => (e.name.startsWith('ppt/slides/slide')
        ? { name: e.name, data: `<p:sld>${' '.repeat(PPTX_LIMITS.partBytes - 100)}</p:sld>` }
        : e))),
      status: 413, code: 'PPTX_TOO_LARGE',
    },
    { name: 'a ../ entry name', body: makeZip([...deck, { name: '../../etc/passwd', data: 'root' }]), status: 400, code: 'PPTX_UNSAFE_PATH' },
    { name: 'an absolute entry name', body: makeZip([...deck, { name: '/etc/passwd', data: 'root' }]), status: 400, code: 'PPTX_UNSAFE_PATH' },
    {
      name: `${PPTX_LIMITS.slides + 1} slides`,
      body: makeZip(deckEntries([{ title: 'One' }], { slideCount: PPTX_LIMITS.slides + 1 })),
      status: 413, code: 'PPTX_TOO_MANY_SLIDES',
    },
    {
      name: 'XML with a DTD (entity expansion)',
      body: makeZip(deck.map((e) => (e.name === 'ppt/slides/slide1.xml'
        ? { name: e.name, data: `<?xml version="1.0"?><!DOCTYPE lol [<!ENTITY a "${'a'.repeat(1000)}"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><p:sld>&b;</p:sld>` }
        : e))),
      status: 400, code: 'PPTX_INVALID',
    },
    { name: 'a zip without ppt/presentation.xml', body: makeZip([{ name: 'word/document.xml', data: '<w:document/>' }]), status: 422, code: 'PPTX_NO_SLIDES' },
  ];
}

test('LibreOffice deck (en): titles, bullets in order, a text box, notes per slide', async () => {
  const talk = await readPptx(fixture('en-notes.pptx'));
  assert.equal(talk.title, 'Faster Builds with Incremental Caching');
  assert.deepEqual(talk.slides.map((s) => s.title), ['Faster Builds with Incremental Caching', 'Why it matters', 'How caching works', 'Lessons', 'Try it this week']);
  const how = talk.slides[2];
  assert.deepEqual(how.body.map((p) => p.text), [
    'Hash the inputs of every task', 'Look the hash up in a shared cache', 'Download outputs on a hit', 'Run the task only on a miss',
    'Source: build logs, January to March',
  ]);
  assert.deepEqual(how.body.map((p) => p.bullet), [true, true, true, true, false]);
  assert.deepEqual(how.notes, [
    'The idea is simple. Before a task runs, we hash everything it reads: sources, tools and settings.',
    'If the shared cache has that hash, we download the outputs instead of building them. Only a miss runs the task.',
  ]);
  assert.ok(talk.slides.every((s) => s.notes.length > 0), 'every slide of the fixture has notes');
  assert.match(talk.markdown, /^# Faster Builds with Incremental Caching\n/);
});

test('LibreOffice deck (de): the analyser times the notes and finds the summary and the call to action', async () => {
  const talk = await readPptx(fixture('de-notes.pptx'));
  const feedback = analyse(talk.markdown, { language: 'auto', targetMinutes: 10 });
  assert.equal(feedback.language, 'de');
  assert.equal(feedback.metrics.slides, 5);
  assert.equal(feedback.metrics.timeBasis, 'notes');
  const notesWords = talk.slides.flatMap((s) => s.notes).join(' ').split(/\s+/).filter((w) => /\p{L}/u.test(w)).length;
  assert.equal(feedback.metrics.spokenWords, notesWords);
  assert.ok(feedback.strengths.includes('Zusammenfassung auf Folie 4 („Fazit“).'), feedback.strengths.join('\n'));
  assert.ok(feedback.strengths.includes('Klarer Abschluss auf Folie 5 („Fangen Sie mit einem Formular an“).'), feedback.strengths.join('\n'));
  assert.ok(!feedback.improvements.some((s) => s.startsWith('Kein Abschluss')), feedback.improvements.join('\n'));
});

test('a deck laid out as PowerPoint does: title placeholder, body bullets, buNone, slide numbers and slide image skipped', async () => {
  const deck = makeZip(deckEntries([
    { title: 'Results &amp; costs', number: true, body: ['Builds 4× faster', '!Measured over 3 months'], notes: ['We measured for three months.', 'Costs went down too.'] },
    { title: 'Thanks', body: ['Try it: one repository'] },
  ]));
  const talk = await readPptx(deck);
  assert.deepEqual(talk.slides[0], {
    index: 1, title: 'Results & costs',
    body: [{ text: 'Builds 4× faster', bullet: true }, { text: 'Measured over 3 months', bullet: false }],
    notes: ['We measured for three months.', 'Costs went down too.'],
  });
  assert.deepEqual(talk.slides[1].notes, []);
});

test('deck text that looks like Markdown or a notes marker stays slide text', async () => {
  const deck = makeZip(deckEntries([{ title: '# Not a heading', body: ['---', '!Notes: on the slide', '!&lt;!-- shown --&gt;', '!???', '!---'], notes: ['---', 'Spoken words here.'] }]));
  const talk = await readPptx(deck);
  const feedback = analyse(talk.markdown, { language: 'en' });
  assert.equal(feedback.metrics.slides, 1, talk.markdown);
  assert.equal(feedback.slides[0].title, '# Not a heading');
  assert.equal(feedback.metrics.spokenWords, 3, 'only the notes are notes');
  assert.equal(feedback.metrics.words, 8, 'the slide keeps "Not a heading", "Notes: on the slide" and "shown"');
});

for (const h of hostile()) {
  test(`hostile .pptx refused in-process: ${h.name} → ${h.status} ${h.code}`, async () => {
    const answer = await refused(h.body);
    assert.ok(answer !== undefined, 'refused');
    assert.equal(answer.code, h.code, answer.message);
    assert.equal(answer.status, h.status);
  });
}

test('in a worker thread: the same title and Markdown, the same refusals with their codes, several at once', async () => {
  const direct = await readPptx(fixture('en-notes.pptx'));
  const [a, b, c] = await Promise.all([readPptxIsolated(fixture('en-notes.pptx')), readPptxIsolated(fixture('de-notes.pptx')), readPptxIsolated(fixture('en-notes.pptx'))]);
  // the thread answers with what the request reads: the title and the Markdown
  assert.deepEqual(a, { title: direct.title, markdown: direct.markdown });
  assert.deepEqual(c, a);
  assert.equal(b.markdown.split('\n\n---\n\n').length, 5);
  for (const h of hostile().slice(0, 3)) {
    await assert.rejects(readPptxIsolated(h.body), (error) => error.code === h.code && error.statusCode === h.status, h.name);
  }
});

test('over HTTP: .pptx body and multipart upload, hostile files answered 4xx, the worker stays up', async (t) => {
  const server = await startServer(t, { args: ['--profile', 'safe'] });

  await t.test('a .pptx body: 201, title from the first slide, feedback from slides and notes', async () => {
    const res = await api(server, '/api/presentations?targetMinutes=5', { method: 'POST', body: fixture('en-notes.pptx'), headers: { 'content-type': PPTX } });
    assert.equal(res.status, 201, JSON.stringify(res.data));
    const done = await waitForStatus(server, res.data.id);
    assert.equal(done.status, 'done');
    assert.equal(done.title, 'Faster Builds with Incremental Caching');
    assert.equal(done.feedback.metrics.slides, 5);
    assert.equal(done.feedback.metrics.timeBasis, 'notes');
    assert.ok(done.feedback.metrics.spokenWords > 150);
    assert.ok(done.feedback.strengths.includes("Sums up on slide 4 ('Lessons')."), done.feedback.strengths.join('\n'));
  });

  await t.test('multipart: a .pptx file with title, language and targetMinutes fields', async () => {
    const form = new FormData();
    form.set('title', 'Formulare');
    form.set('language', 'de');
    form.set('targetMinutes', '10');
    form.set('file', new Blob([fixture('de-notes.pptx')], { type: PPTX }), 'formulare.pptx');
    const res = await api(server, '/api/presentations', { method: 'POST', body: form });
    assert.equal(res.status, 201, JSON.stringify(res.data));
    const done = await waitForStatus(server, res.data.id);
    assert.equal(done.title, 'Formulare');
    assert.equal(done.feedback.language, 'de');
    assert.equal(done.feedback.metrics.targetMinutes, 10);
    assert.equal(done.feedback.metrics.timeBasis, 'notes');
  });

  await t.test('multipart: a .md file works too; a bad field or file type is a 4xx with its name', async () => {
    const md = new FormData();
    md.set('file', new Blob(['# Talk\n\nHello world.\n\nNote: I say hello.']), 'talk.md');
    const ok = await api(server, '/api/presentations', { method: 'POST', body: md });
    assert.equal(ok.status, 201, JSON.stringify(ok.data));
    const bad = new FormData();
    bad.set('file', new Blob(['MZ']), 'talk.exe');
    const wrong = await api(server, '/api/presentations', { method: 'POST', body: bad });
    assert.equal(wrong.status, 415);
    assert.match(wrong.data.error.message, /talk\.exe/);
    const minutes = new FormData();
    minutes.set('targetMinutes', 'soon');
    minutes.set('file', new Blob(['# A\n\nb']), 'a.md');
    const badMinutes = await api(server, '/api/presentations', { method: 'POST', body: minutes });
    assert.equal(badMinutes.status, 400);
    assert.match(badMinutes.data.error.message, /^targetMinutes:/);
    const none = new FormData();
    none.set('title', 'No file');
    const noFile = await api(server, '/api/presentations', { method: 'POST', body: none });
    assert.equal(noFile.status, 400);
    assert.match(noFile.data.error.message, /^file: is required/);
  });

  await t.test('hostile files: each a 4xx with its code, as body and as upload; then the server still answers', async () => {
    for (const h of hostile()) {
      const res = await api(server, '/api/presentations?title=x', { method: 'POST', body: h.body, headers: { 'content-type': PPTX } });
      assert.equal(res.status, h.status, `${h.name}: ${JSON.stringify(res.data)}`);
      assert.equal(res.data.error.code, h.code, h.name);
      assert.doesNotMatch(res.data.error.message, /\n\s+at /, 'no stack trace');
    }
    const form = new FormData();
    form.set('file', new Blob([hostile()[2].body]), 'locked.pptx');
    const upload = await api(server, '/api/presentations', { method: 'POST', body: form });
    assert.equal(upload.status, 422);
    assert.equal(upload.data.error.code, 'PPTX_ENCRYPTED');
    // A body announced past the .pptx limit is refused before it is read.
    const big = await new Promise((resolve, reject) => {
      const req = request(`${server.url}/api/presentations?title=x`, { method: 'POST', headers: { 'content-type': PPTX, 'content-length': String(PPTX_LIMITS.fileBytes + 1) } }, (res) => {
        let text = '';
        res.on('data', (c) => { text += c; });
        res.on('end', () => resolve({ status: res.statusCode, data: JSON.parse(text) }));
      });
      req.on('error', reject);
      req.write(Buffer.alloc(1024));
    });
    assert.equal(big.status, 413);
    assert.equal(big.data.error.code, 'BODY_TOO_LARGE');
    assert.equal((await api(server, '/healthz')).status, 200);
    const again = await api(server, '/api/presentations', { method: 'POST', body: fixture('en-notes.pptx'), headers: { 'content-type': PPTX } });
    assert.equal(again.status, 201);
  });
});
