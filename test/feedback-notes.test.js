// Speaker notes in each syntax slide tools write, the time model with and without notes, and
// structure read by role (DE and EN): what a presenter would notice at once if it were wrong.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { analyse } from '../dist/feedback/analysis/analyse.js';
import { slideTexts } from '../dist/feedback/metrics.js';

const run = (content, options = {}) => analyse(content, { language: 'auto', ...options });
const talk = (name) => readFileSync(new URL(`./fixtures/talks/${name}`, import.meta.url), 'utf8');
const SPOKEN = 'We measured every build for three months and the median fell from twenty minutes to five.';

const syntaxes = {
  'Marp <!-- -->': `---\nmarp: true\n---\n\n<!-- _class: lead -->\n# Results\n\n- Builds 4× faster\n\n<!-- ${SPOKEN} -->\n\n---\n\n# Next\n\n- Try it\n`,
  'Slidev multi-line <!-- -->': `# Results\n\n- Builds 4× faster\n\n<!--\n${SPOKEN}\n-->\n\n---\n\n# Next\n\n- Try it\n`,
  'reveal.js Note:': `# Results\n\n- Builds 4× faster\n\nNote:\n${SPOKEN}\n\n---\n\n# Next\n\n- Try it\n`,
  'reveal.js Notes: on one line': `# Results\n\n- Builds 4× faster\n\nNotes: ${SPOKEN}\n\n---\n\n# Next\n\n- Try it\n`,
  'remark ???': `# Results\n\n- Builds 4× faster\n\n???\n\n${SPOKEN}\n\n---\n\n# Next\n\n- Try it\n`,
  'headings without ---, comment after a blank line': `# Results\n\n- Builds 4× faster\n\n<!-- ${SPOKEN} -->\n\n# Next\n\n- Try it\n`,
};

for (const [name, content] of Object.entries(syntaxes)) {
  test(`notes: ${name} — said, not shown; timed at 130 words/min`, () => {
    const f = run(content);
    assert.equal(f.metrics.slides, 2);
    assert.deepEqual(f.slides.map((s) => s.title), ['Results', 'Next']);
    assert.equal(f.metrics.words, 7, 'slide text: "Results", "Builds 4× faster", "Next", "Try it"');
    assert.equal(f.metrics.spokenWords, 16);
    assert.equal(f.metrics.timeBasis, 'notes');
    assert.equal(f.metrics.estimatedMinutes, 0.1);
    assert.equal('estimatedMinutesRange' in f.metrics, false);
    assert.deepEqual(slideTexts(content).map((s) => s.notes), [[SPOKEN], []]);
  });
}

test('notes: Marp directives and a `---` inside a comment are neither notes nor separators', () => {
  const f = run('<!-- paginate: true -->\n# One\n\nShown text here.\n\n<!--\nSaid aloud.\n---\n# Not a slide\n-->\n');
  assert.equal(f.metrics.slides, 1);
  assert.equal(f.metrics.spokenWords, 5);
  assert.equal(f.metrics.words, 4);
});

test('notes: fillers, repetition and sentence length are judged on the notes, 6×6 on the slides', () => {
  const bullets = Array.from({ length: 8 }, (_, i) => `- Point ${i + 1}`).join('\n');
  const notes = 'So, um, basically we, um, actually did it. Um, basically it worked, you know, and, um, we shipped it. '.repeat(2);
  // More fillers shown on slide 2 than spoken on slide 1: only the spoken ones count.
  const shown = 'Actually, basically, um, literally, you know. '.repeat(4);
  const f = run(`# Plan\n\n${bullets}\n\nNote:\n${notes}\n\n---\n\n# Done\n\n${shown}\n\nNote:\nThat was it.`);
  assert.ok(f.improvements.some((s) => s.startsWith("Slide 1 ('Plan') has 8 bullets")), 'the 6×6 rule reads the slide');
  const fillers = f.improvements.find((s) => s.startsWith('Filler words:'));
  assert.ok(fillers !== undefined, f.improvements.join('\n'));
  assert.match(fillers, /most \(\d+\) on slide 1 \('Plan'\)/, 'the fillers counted are the spoken ones, not the slide 2 text');
});

test('time without notes: a range from the slide count, never "at 130 words/min"', () => {
  const seven = Array.from({ length: 7 }, (_, i) => `# Point ${i + 1}\n\n- First idea\n- Second idea\n- Third idea`).join('\n\n');
  const f = run(seven, { targetMinutes: 20 });
  assert.equal(f.metrics.timeBasis, 'slides');
  assert.deepEqual(f.metrics.estimatedMinutesRange, [7, 14]);
  assert.equal('spokenWords' in f.metrics, false);
  assert.doesNotMatch(JSON.stringify(f), /130 words\/min|room for about/);
  assert.match(f.summary, /no speaker notes, so the length is estimated from the slides: about 7–14 min at 1–2 min per slide \(target 20 min\)/);
  const over = run(Array.from({ length: 30 }, (_, i) => `# S${i + 1}\n\nText for slide ${i + 1} here.`).join('\n\n'), { targetMinutes: 10 });
  assert.ok(over.improvements.some((s) => s.startsWith('30 slides for a 10-minute slot: at 1–2 min per slide that is about 30–60 min') && s.includes('cut to about 5–10 slides')), over.improvements.join('\n'));
  const under = run('# A\n\nOne two three four.\n\n# B\n\nFive six seven eight.', { targetMinutes: 30 });
  assert.ok(under.improvements.some((s) => s.startsWith('2 slides for a 30-minute slot') && s.includes('plan about 15–30 slides')), under.improvements.join('\n'));
});

test('time with notes: overrun and underrun name spoken words; slides without notes are named', () => {
  const words = (n) => Array.from({ length: n }, (_, i) => (i % 12 === 11 ? 'end.' : 'word')).join(' ');
  const over = run(`# A\n\nShown.\n\nNote:\n${words(2600)}\n\n---\n\n# B\n\nShown too.\n\nNote:\n${words(1300)}`, { targetMinutes: 20 });
  assert.equal(over.metrics.spokenWords, 3900);
  assert.equal(over.metrics.estimatedMinutes, 30);
  assert.ok(over.improvements.includes('At 130 words/min your speaker notes run about 30 min against a target of 20 min: cut about 1300 spoken words (~10 min).'), over.improvements.join('\n'));
  const partial = run(`# A\n\nShown.\n\nNote:\n${words(60)}\n\n---\n\n# B\n\nNo notes here.\n\n---\n\n# C\n\nNone here either.`);
  assert.ok(partial.improvements.includes('2 slides have no speaker notes (slides 2, 3): what you say there is not in the time estimate — add notes.'), partial.improvements.join('\n'));
});

test('structure (en): "Lessons" is a summary, an empty "Questions" slide is not a closing', () => {
  const body = (t) => `# ${t}\n\n- A point about ${t.toLowerCase()} that matters\n- Another point with detail`;
  const f = run([body('Why builds are slow'), body('Caching'), body('Results'), body('Costs'), body('Lessons'), '# Questions?'].join('\n\n'));
  assert.ok(f.strengths.includes("Sums up on slide 5 ('Lessons')."), f.strengths.join('\n'));
  assert.ok(!f.strengths.some((s) => s.startsWith('Clear closing')), f.strengths.join('\n'));
  assert.ok(f.improvements.includes("Slide 6 ('Questions?') only says \"questions\": that is not a closing — end on your key message or a call to action and leave it on screen during questions."), f.improvements.join('\n'));
  for (const title of ['Key takeaways', 'Wrap-up', 'Recap', 'Key points']) {
    const g = run([body('Why builds are slow'), body('Caching'), body('Results'), body(title), '# Thank you\n\nTry it this week: turn on the cache.'].join('\n\n'));
    assert.ok(g.strengths.includes(`Sums up on slide 4 ('${title}').`), `${title}: ${g.strengths.join(' | ')}`);
    assert.ok(g.strengths.some((s) => s.startsWith('Clear closing on slide 5')), title);
  }
  const withTalk = run([body('Why builds are slow'), body('Caching'), body('Results'), '# Questions?\n\nNote:\nI will take questions and point people to the repository.'].join('\n\n'));
  assert.ok(withTalk.strengths.includes("Clear closing on slide 4 ('Questions?')."), 'a questions slide with something to say is a closing');
});

test('structure (de): Fazit, Kernaussagen, Ausblick sum up; a call to action closes; an empty "Fragen" does not', () => {
  const body = (t) => `# ${t}\n\n- Ein wichtiger Punkt zu ${t}\n- Noch ein Punkt mit Details`;
  const cta = run([body('Warum Formulare scheitern'), body('Was wir geändert haben'), body('Ergebnisse'), body('Fazit'), '# Fangen Sie mit einem Formular an\n\n- Wählen Sie das meistgenutzte Formular'].join('\n\n'));
  assert.equal(cta.language, 'de');
  assert.ok(cta.strengths.includes('Zusammenfassung auf Folie 4 („Fazit“).'), cta.strengths.join('\n'));
  assert.ok(cta.strengths.includes('Klarer Abschluss auf Folie 5 („Fangen Sie mit einem Formular an“).'), cta.strengths.join('\n'));
  assert.ok(!cta.improvements.some((s) => s.startsWith('Kein Abschluss')), cta.improvements.join('\n'));
  for (const title of ['Kernaussagen', 'Ausblick', 'Zusammenfassung']) {
    const g = run([body('Warum Formulare scheitern'), body('Was wir geändert haben'), body('Ergebnisse'), body(title), '# Vielen Dank\n\nSchreiben Sie uns Ihre Fragen.'].join('\n\n'));
    assert.ok(g.strengths.includes(`Zusammenfassung auf Folie 4 („${title}“).`), `${title}: ${g.strengths.join(' | ')}`);
  }
  const bare = run([body('Warum Formulare scheitern'), body('Was wir geändert haben'), body('Ergebnisse'), body('Fazit'), '# Fragen?'].join('\n\n'));
  assert.ok(bare.improvements.some((s) => s.startsWith('Folie 5 („Fragen?“) sagt nur „Fragen“: Das ist kein Abschluss')), bare.improvements.join('\n'));
  assert.ok(!bare.strengths.some((s) => s.startsWith('Klarer Abschluss')));
});

test('strengths are earned: a 10-word talk is too short to judge, with no praise and a low score', () => {
  for (const [content, language] of [['# Hi\n\nThis is my talk about things and stuff.', 'en'], ['# Hallo\n\nDas ist mein Vortrag über Dinge und so.', 'de']]) {
    const f = run(content);
    assert.equal(f.language, language);
    assert.deepEqual(f.strengths, []);
    assert.ok(f.score <= 30, `score ${f.score}`);
    assert.match(f.summary, language === 'en' ? /too short to judge yet\.$/ : /noch zu kurz für eine Beurteilung\.$/);
  }
});

test('score: the example talks order as a reader would order them; a talk too short to judge comes last', () => {
  const order = ['en-notes-good.md', 'en-build-cache.md', 'de-datenbank-migration.md', 'en-wall-of-text.md'];
  const scores = order.map((name) => run(talk(name), { targetMinutes: 10 }).score);
  order.push('(ten words)');
  scores.push(run('# Hi\n\nThis is my talk about things and stuff.', { targetMinutes: 10 }).score);
  for (let i = 1; i < scores.length; i++) assert.ok(scores[i - 1] > scores[i], `${order.join(' > ')}: ${scores.join(' > ')}`);
});

test('German feedback says "Sie", never "du"', () => {
  const f = run(talk('de-datenbank-migration.md'), { targetMinutes: 1 });
  const text = [f.summary, ...f.strengths, ...f.improvements, ...f.slides.flatMap((s) => s.notes)].join('\n');
  assert.match(text, /\bSie\b/);
  assert.doesNotMatch(text, /\b(?:du|dein|deine|deinen|dir|dich)\b/i);
});
