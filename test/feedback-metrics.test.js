// Slide splitting and counts shared by the providers (the local analyser's splitter): computed from
// the talk, never taken from a model.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { computeMetrics, countWords, guessLanguage, splitSlides } from '../dist/feedback/metrics.js';

test('--- lines separate slides; front matter and --- inside code fences do not', () => {
  const talk = '---\nmarp: true\ntheme: default\n---\n# One\nHello world\n\n---\n\n# Two\n```js\n---\nconst a = 1\n```\n---\nThree words here';
  assert.deepEqual(splitSlides(talk), [
    { index: 1, title: 'One', words: 3, notesWords: 0 },
    { index: 2, title: 'Two', words: 1, notesWords: 0 }, // code in a fence is on the slide but not spoken
    { index: 3, title: 'Three words here', words: 3, notesWords: 0 },
  ]);
});

test('without --- lines each # or ## heading starts a slide; text before the first heading is a slide', () => {
  const talk = 'Intro text before heading\r\n# A\r\naaa bbb\r\n### sub\r\nccc\r\n## B\r\nddd';
  assert.deepEqual(splitSlides(talk), [
    { index: 1, title: 'Intro text before heading', words: 4, notesWords: 0 },
    { index: 2, title: 'A', words: 5, notesWords: 0 },
    { index: 3, title: 'B', words: 2, notesWords: 0 },
  ]);
});

test('metrics: totals, 1–2 min per slide without notes, 130 spoken words per minute with them, the fullest slide', () => {
  const talk = `# Long\n${'word '.repeat(259)}\n# Short\nfour words right here`;
  assert.deepEqual(computeMetrics(splitSlides(talk)), { slides: 2, words: 265, estimatedMinutes: 3, timeBasis: 'slides', estimatedMinutesRange: [2, 4], wordsPerSlideMax: 260 });
  const noted = `# Long\nShown.\n\nNote:\n${'word '.repeat(260)}\n# Short\nfour words right here`;
  assert.deepEqual(computeMetrics(splitSlides(noted)), { slides: 2, words: 7, estimatedMinutes: 2, timeBasis: 'notes', spokenWords: 260, wordsPerSlideMax: 5 });
  assert.deepEqual(computeMetrics(splitSlides('')), { slides: 0, words: 0, estimatedMinutes: 0, timeBasis: 'slides', estimatedMinutesRange: [0, 0], wordsPerSlideMax: 0 });
});

test('words: link text counts, URLs, images and HTML do not', () => {
  assert.equal(countWords('See [the docs](https://example.com/x) ![logo](a.png) <br/> at https://example.com now'), 5);
  assert.equal(countWords("It's 2026 — we're e-mail-ready."), 4);
});

test('language guess for auto when the model does not say', () => {
  assert.equal(guessLanguage('Das ist ein Vortrag über die Zukunft, und wir zeigen Ergebnisse.'), 'de');
  assert.equal(guessLanguage('This is a talk about the future and what we learned.'), 'en');
});
