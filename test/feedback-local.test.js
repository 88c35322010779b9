// The local feedback provider: figures, findings and language on two sample talks, plus edge cases.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { createLocalProvider } from '../dist/feedback/local.js';
import { syllables } from '../dist/feedback/analysis/text.js';

const talk = (name) => readFileSync(new URL(`./fixtures/talks/${name}`, import.meta.url), 'utf8');
const EN = talk('en-build-cache.md');
const DE = talk('de-datenbank-migration.md');

async function run(content, options = {}) {
  const provider = createLocalProvider();
  return provider.generate(
    { presentationId: 'p1', title: 'Talk', content, language: 'auto', ...options },
    options.signal ?? new AbortController().signal,
  );
}

const has = (list, pattern) => list.some((s) => (typeof pattern === 'string' ? s.includes(pattern) : pattern.test(s)));

test('provider name and contract fields', async () => {
  const provider = createLocalProvider();
  assert.equal(provider.name, 'local');
  const { feedback, raw } = await run(EN);
  assert.equal(feedback.provider, 'local');
  assert.equal(feedback.model, 'local-analyser-1');
  assert.equal(raw, JSON.stringify(feedback));
  assert.ok(Number.isInteger(feedback.score) && feedback.score >= 0 && feedback.score <= 100);
  assert.equal(typeof feedback.summary, 'string');
});

test('English sample: figures', async () => {
  const { feedback } = await run(EN, { targetMinutes: 5 });
  assert.equal(feedback.language, 'en');
  assert.deepEqual(feedback.metrics, {
    slides: 11, words: 309, estimatedMinutes: 16.5, timeBasis: 'slides', estimatedMinutesRange: [11, 22], wordsPerSlideMax: 86,
    readability: feedback.metrics.readability, targetMinutes: 5,
  });
  assert.deepEqual(feedback.slides.map((s) => s.title), [
    'Faster Builds with Incremental Caching', 'Why it matters', 'Agenda', 'The problem', 'How caching works',
    'A closer look', 'Results', 'Costs', 'Lessons learned', 'Summary', 'Thank you',
  ]);
  assert.deepEqual(feedback.slides.map((s) => s.index), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  assert.ok(feedback.metrics.readability >= 50 && feedback.metrics.readability <= 95, `Flesch ${feedback.metrics.readability}`);
  assert.match(feedback.summary, /^11 slides, 309 words on the slides; no speaker notes, so the length is estimated from the slides: about 11–22 min at 1–2 min per slide \(target 5 min\); score \d+\/100/);
});

test('English sample: findings name their slide or figure', async () => {
  const { feedback } = await run(EN, { targetMinutes: 20 });
  const { improvements, strengths } = feedback;
  assert.equal(improvements[0], "Slide 7 ('Results') has 86 words — split it or move the detail to your notes.");
  assert.ok(has(improvements, /^Filler words: 1\.9 per 100 words \(6 in total: "actually" ×2, "basically" ×2, "you know" ×2\); most \(3\) on slide 7 \('Results'\)/));
  assert.ok(has(improvements, 'The phrase "let\'s say" comes up 4 times (slides 4, 6, 8)'));
  assert.ok(has(strengths, '11 slides suit the 20-minute target (about 11–22 min at 1–2 min per slide, an estimate from the slide count).'));
  assert.ok(has(improvements, "The longest sentence, on slide 7 ('Results'), has 85 words"));
  assert.ok(improvements.every((s) => /slides? \d|\d/.test(s)), 'every improvement names a slide or a figure');
  assert.ok(has(strengths, "Clear agenda on slide 3 ('Agenda')."));
  assert.ok(has(strengths, "Opens with why it matters on slide 2 ('Why it matters')."));
  assert.ok(has(strengths, "Clear closing on slide 11 ('Thank you')."));
  assert.ok(has(strengths, "Sums up on slide 10 ('Summary')."));
  assert.ok(!has(improvements, /closing|agenda|summary|opening/i));
  const results = feedback.slides[6];
  assert.ok(has(results.notes, '86 words'));
  assert.ok(has(results.notes, 'Filler words: "actually" ×1, "basically" ×1, "you know" ×1.'));
});

test('German sample: figures, German text, missing closing', async () => {
  const { feedback } = await run(DE, { targetMinutes: 3 });
  assert.equal(feedback.language, 'de');
  assert.equal(feedback.metrics.slides, 10);
  assert.equal(feedback.metrics.words, 230);
  assert.equal(feedback.metrics.estimatedMinutes, 15);
  assert.deepEqual(feedback.metrics.estimatedMinutesRange, [10, 20]);
  assert.equal(feedback.metrics.wordsPerSlideMax, 83);
  assert.equal(feedback.slides[6].title, 'Ergebnisse');
  assert.ok(feedback.metrics.readability >= 30 && feedback.metrics.readability <= 80, `Amstad ${feedback.metrics.readability}`);
  const { improvements } = feedback;
  assert.ok(has(improvements, 'Folie 7 („Ergebnisse“) hat 83 Wörter – teilen Sie die Folie auf'));
  assert.ok(has(improvements, /^Füllwörter: 3 pro 100 Wörter \(7 insgesamt: „eigentlich“ ×3, „halt“ ×2, „quasi“ ×1, „sozusagen“ ×1\); die meisten \(4\) auf Folie 7/));
  assert.ok(has(improvements, 'Kein Abschluss nach Folie 10'));
  assert.ok(has(improvements, 'Die Wendung „sagen wir mal“ kommt 3-mal vor (Folien 4, 6, 8)'));
  assert.ok(has(feedback.strengths, 'Klare Agenda auf Folie 3 („Agenda“).'));
  assert.ok(has(feedback.strengths, 'Zusammenfassung auf Folie 10 („Zusammenfassung“).'));
  assert.match(feedback.summary, /^10 Folien, 230 Wörter auf den Folien; ohne Sprechernotizen ist die Dauer aus den Folien geschätzt: etwa 10–20 Min\. bei 1–2 Min\. je Folie \(Ziel 3 Min\.\); Bewertung \d+\/100/);
  assert.ok(has(improvements, '10 Folien für 3 Min.: Bei 1–2 Min. je Folie sind das etwa 10–20 Min.'));
  assert.ok(!has(improvements, / the | words /), 'no English in German feedback');
});

test('language: detected both ways, explicit choice wins, unclear defaults to English', async () => {
  assert.equal((await run(EN)).feedback.language, 'en');
  assert.equal((await run(DE)).feedback.language, 'de');
  assert.equal((await run(DE, { language: 'en' })).feedback.language, 'en');
  assert.equal((await run(EN, { language: 'de' })).feedback.language, 'de');
  assert.equal((await run('Kubernetes Terraform Grafana')).feedback.language, 'en');
  assert.equal((await run('Größenänderung')).feedback.language, 'de');
});

test('deterministic: the same input gives byte-identical raw', async () => {
  const a = await run(DE, { targetMinutes: 3 });
  const b = await run(DE, { targetMinutes: 3 });
  assert.equal(a.raw, b.raw);
  assert.doesNotMatch(a.raw, /\d{4}-\d{2}-\d{2}T/);
});

test('timing without notes: too many slides for the slot says how many to keep; a fitting count is a strength', async () => {
  const over = (await run(EN, { targetMinutes: 4 })).feedback;
  assert.ok(has(over.improvements, '11 slides for a 4-minute slot: at 1–2 min per slide that is about 11–22 min (an estimate from the slide count; add speaker notes to time your script) — cut to about 2–4 slides.'));
  assert.equal(over.improvements[0].startsWith('11 slides for a 4-minute slot'), true, 'a large overrun comes first');
  const fits = (await run(EN, { targetMinutes: 15 })).feedback;
  assert.ok(has(fits.strengths, '11 slides suit the 15-minute target'));
  assert.equal(fits.metrics.targetMinutes, 15);
  const none = (await run(EN)).feedback;
  assert.equal('targetMinutes' in none.metrics, false);
  assert.ok(over.score < fits.score);
});

test('fillers: multi-word fillers and guards against ordinary uses', async () => {
  const text = [
    '# Fillers', '',
    'I would like to show you this. It is, like, fast. You know, it works.',
    'You know how it works. It is a kind of cache. It is kind of slow. Sort of.',
    'Um, basically we literally rewrote it. I mean, it was actually broken.',
  ].join('\n');
  const { feedback } = await run(text);
  // like (comma) 1, you know 1, kind of 1, sort of 1, um 1, basically 1, literally 1, i mean 1, actually 1
  assert.ok(has(feedback.improvements, /^Filler words: [\d.]+ per 100 words \(9 in total: /), feedback.improvements.join('\n'));
});

test('slides: 6×6 rule and long bullets name the slide', async () => {
  const bullets = Array.from({ length: 8 }, (_, i) => `- Point ${i + 1}`).join('\n');
  const text = `# Intro\n\nWhy this matters.\n\n# Too much\n\n${bullets}\n- This bullet goes on and on with far too many words for anyone to read aloud\n\n# Thanks\n\nQuestions?`;
  const { feedback } = await run(text);
  assert.equal(feedback.metrics.slides, 3);
  assert.ok(has(feedback.improvements, "Slide 2 ('Too much') has 9 bullets — the 6×6 rule suggests at most 6"));
  assert.ok(has(feedback.improvements, "Slide 2 ('Too much') has a bullet of more than 12 words (longest: 16"));
  assert.ok(has(feedback.slides[1].notes, 'Bullet 9 has 16 words — cut it to about 6–12.'));
});

test('slides: --- separators, front matter, code fences and plain text blocks', async () => {
  const marp = '---\nmarp: true\ntheme: default\n---\n\n# One\n\nText\n\n---\n\n## Two\n\n```sh\n# not a heading\n```\n\n---\n\nThree has no heading\n';
  const a = (await run(marp)).feedback;
  assert.deepEqual(a.slides.map((s) => s.title), ['One', 'Two', 'Three has no heading']);
  assert.equal(a.metrics.words, 7, 'code is not counted as spoken words'); // One, Text, Two, Three has no heading
  const plain = (await run('First block line one\nline two\n\nSecond block\n\n\nThird block')).feedback;
  assert.deepEqual(plain.slides.map((s) => s.title), ['First block line one line two', 'Second block', 'Third block']);
  const headed = (await run('Intro text\n# A\nx\n## B\ny\n### C\nz')).feedback;
  assert.deepEqual(headed.slides.map((s) => s.title), ['Intro text', 'A', 'B']);
});

test('structure: a long talk without agenda, opening, summary or closing hears it', async () => {
  const body = Array.from({ length: 10 }, (_, i) => `# Part ${i + 1}\n\nThe service handles request number ${i + 1} quickly.`).join('\n\n');
  const { feedback } = await run(body);
  assert.ok(has(feedback.improvements, "No opening that says why it matters: start on slide 1 ('Part 1')"));
  assert.ok(has(feedback.improvements, 'No agenda for a talk of 10 slides'));
  assert.ok(has(feedback.improvements, 'No summary near the end (slides 8–10)'));
  assert.ok(has(feedback.improvements, 'No closing after slide 10'));
});

test('readability: easy text scores high, dense prose low', async () => {
  assert.equal((await run('The cat sat on the mat.')).feedback.metrics.readability, 100);
  const dense = 'Organisational interdependencies necessitate comprehensive infrastructural reconfiguration, ' +
    'notwithstanding considerable institutional unwillingness regarding technological modernisation initiatives '.repeat(8);
  const { feedback } = await run(dense);
  assert.ok(feedback.metrics.readability < 30, `Flesch ${feedback.metrics.readability}`);
  assert.ok(has(feedback.improvements, /^Hard to read \(Flesch reading ease \d+\/100/));
  assert.equal(syllables('presentation', 'en'), 4);
  assert.equal(syllables('simple', 'en'), 2);
  assert.equal(syllables('präsentation', 'de'), 5); // Prä-sen-ta-ti-on
  assert.equal(syllables('feuer', 'de'), 2);
  assert.equal(syllables('eigentlich', 'de'), 3);
});

test('edge cases: empty, whitespace, one word, only headings', async () => {
  for (const content of ['', '   \n\n\t', '<!-- only a comment -->', '---\n---\n---']) {
    const { feedback } = await run(content);
    assert.equal(feedback.metrics.words, 0);
    assert.equal(feedback.metrics.estimatedMinutes, 0);
    assert.equal(feedback.score, 0);
    assert.equal(feedback.improvements.length, 1);
    assert.match(feedback.improvements[0], /0 words/);
  }
  const one = (await run('Hello')).feedback;
  assert.deepEqual([one.metrics.slides, one.metrics.words, one.metrics.estimatedMinutes], [1, 1, 1.5]);
  assert.equal(one.slides[0].title, 'Hello');
  assert.ok(has(one.improvements, 'Only 1 word on 1 slide'));
  const headings = Array.from({ length: 12 }, (_, i) => `# Section number ${i + 1} of the talk`).join('\n');
  const h = (await run(headings)).feedback;
  assert.equal(h.metrics.slides, 12);
  assert.ok(has(h.improvements, 'All 12 slides are headings only'));
  const nonString = (await run(undefined)).feedback;
  assert.equal(nonString.metrics.words, 0);
});

// Speed is measured by `npm run bench` (shared machines make timed unit tests flaky); here the
// 1 MiB and hostile inputs must simply complete with bounded output.
test('a 1 MiB talk and hostile Markdown complete with short lists', async () => {
  const big = (EN + '\n').repeat(Math.ceil(2 ** 20 / (EN.length + 1))).slice(0, 2 ** 20);
  for (const content of [big, '!['.repeat(2 ** 19), '[a]('.repeat(2 ** 18), '<!--'.repeat(2 ** 18)]) {
    const { feedback } = await run(content, { targetMinutes: 20 });
    assert.ok(feedback.improvements.length <= 30, 'lists stay short on huge input');
    assert.ok(feedback.metrics.words >= 0);
  }
});

test('abort: an aborted signal rejects before any work', async () => {
  const controller = new AbortController();
  controller.abort();
  await assert.rejects(run(EN, { signal: controller.signal }), { name: 'AbortError' });
});
