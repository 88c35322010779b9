// Every sentence the local analyser writes, in the talk's language (German uses the formal "Sie").
import type { Language } from '../types.js';
import type { TimeEstimate } from './timing.js';

export interface SlideRef {
  index: number;
  title: string;
}

export interface Messages {
  num(n: number): string;
  slide(ref: SlideRef): string;
  slides(indices: readonly number[]): string;
  quote(text: string): string;
  counted(items: ReadonlyArray<readonly [string, number]>): string;
  empty: { summary: string; improvement: string };
  summary(slides: number, shownWords: number, estimate: TimeEstimate, target: number | undefined, score: number, issues: number, judgeable: boolean): string;
  tooShort(words: number, slides: number): string;
  headingsOnly(slides: number): string;
  overlongSlide(ref: SlideRef, words: number): string;
  moreOverlongSlides(count: number, indices: readonly number[]): string;
  tooManyBullets(ref: SlideRef, bullets: number): string;
  longBullets(ref: SlideRef, count: number, longest: number, excerpt: string): string;
  longSentence(ref: SlideRef, words: number): string;
  timingOver(minutes: number, target: number, cutWords: number, cutMinutes: number): string;
  timingUnder(minutes: number, target: number, spareWords: number): string;
  slidesOver(slides: number, target: number, low: number, high: number, fit: readonly [number, number]): string;
  slidesUnder(slides: number, target: number, low: number, high: number, fit: readonly [number, number]): string;
  missingNotes(indices: readonly number[]): string;
  bareQuestions(ref: SlideRef): string;
  fillers(rate: number, total: number, top: string, ref: SlideRef, onSlide: number): string;
  petPhrase(phrase: string, count: number, indices: readonly number[]): string;
  repeatedPhrase(phrase: string, count: number, indices: readonly number[]): string;
  missingOpening(ref: SlideRef): string;
  missingAgenda(slides: number, minutes: number): string;
  missingSummary(last: number): string;
  missingClosing(last: number): string;
  hardToRead(score: number, avgSentence: number, ref: SlideRef | undefined): string;
  note: {
    words(words: number): string;
    bullets(bullets: number): string;
    longBullet(position: number, words: number): string;
    longSentence(words: number): string;
    fillers(list: string): string;
    agenda: string;
    opening: string;
    summary: string;
    closing: string;
  };
  strength: {
    opening(ref: SlideRef): string;
    agenda(ref: SlideRef): string;
    summary(ref: SlideRef): string;
    closing(ref: SlideRef): string;
    concise(ref: SlideRef, words: number): string;
    bullets: string;
    fewFillers(rate: number): string;
    timing(minutes: number, target: number): string;
    slidesFit(slides: number, target: number, low: number, high: number): string;
    readable(score: number): string;
  };
}

/** One decimal at most, with the language's decimal mark and thousands separator. */
function formatNumber(n: number, decimal: string, group: string): string {
  const rounded = Math.round(n * 10) / 10;
  const [int = '0', frac] = Math.abs(rounded).toFixed(1).split('.');
  const grouped = int.length > 4 ? new Intl.NumberFormat('en-US').format(Number(int)).replaceAll(',', group) : int;
  return `${rounded < 0 ? '-' : ''}${grouped}${frac === undefined || frac === '0' ? '' : decimal + frac}`;
}

function list(indices: readonly number[], max = 8): string {
  const shown = indices.slice(0, max).join(', ');
  return indices.length > max ? `${shown}, …` : shown;
}

const cap = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

const en: Messages = {
  num: (n) => formatNumber(n, '.', ','),
  slide: (r) => (r.title === '' ? `slide ${r.index}` : `slide ${r.index} ('${r.title}')`),
  slides: (ix) => (ix.length === 1 ? `slide ${ix[0]}` : `slides ${list(ix)}`),
  quote: (t) => `"${t}"`,
  counted: (items) => items.map(([w, n]) => `"${w}" ×${n}`).join(', '),
  empty: {
    summary: 'The presentation is empty: there is no text to analyse.',
    improvement: 'The talk has 0 words: add your slides as Markdown (a "# Heading" per slide) or plain text.',
  },
  summary: (s, w, e, t, score, issues, judgeable) =>
    `${s} ${s === 1 ? 'slide' : 'slides'}, ${en.num(w)} ${w === 1 ? 'word' : 'words'} on the slides` +
    (e.basis === 'notes'
      ? ` and ${en.num(e.spokenWords)} spoken in the notes, about ${en.num(e.minutes)} min at 130 words/min`
      : `; no speaker notes, so the length is estimated from the slides: about ${en.num(e.range[0])}–${en.num(e.range[1])} min at 1–2 min per slide`) +
    `${t === undefined ? '' : ` (target ${en.num(t)} min)`}; score ${score}/100` +
    (!judgeable ? ' — too short to judge yet.' : issues === 0 ? ' — no major issues found.' : ` with ${issues} ${issues === 1 ? 'suggestion' : 'suggestions'}.`),
  tooShort: (w, s) => `Only ${w} ${w === 1 ? 'word' : 'words'} on ${s} ${s === 1 ? 'slide' : 'slides'}: add the points you will make (or your script) so the talk can be assessed.`,
  headingsOnly: (s) => `All ${s} slides are headings only: add the key points (or your script) under each heading.`,
  overlongSlide: (r, w) => `${cap(en.slide(r))} has ${w} words — split it or move the detail to your notes.`,
  moreOverlongSlides: (c, ix) => `${c} more slides have 80 words or more (slides ${list(ix)}) — trim them the same way.`,
  tooManyBullets: (r, b) => `${cap(en.slide(r))} has ${b} bullets — the 6×6 rule suggests at most 6; merge some or split the slide.`,
  longBullets: (r, c, l, x) =>
    `${cap(en.slide(r))} has ${c === 1 ? 'a bullet' : `${c} bullets`} of more than 12 words (longest: ${l}, "${x}") — cut ${c === 1 ? 'it' : 'them'} to key phrases.`,
  longSentence: (r, w) => `The longest sentence, on ${en.slide(r)}, has ${w} words — split it; aim for 25 or fewer.`,
  timingOver: (m, t, cw, cm) =>
    `At 130 words/min your speaker notes run about ${en.num(m)} min against a target of ${en.num(t)} min: cut about ${en.num(cw)} spoken words (~${en.num(cm)} min).`,
  timingUnder: (m, t, sw) =>
    `At about ${en.num(m)} min your speaker notes fill little of the ${en.num(t)}-minute slot: there is room for about ${en.num(sw)} more spoken words — add an example or plan time for questions.`,
  slidesOver: (s, t, lo, hi, [a, b]) =>
    `${s} slides for a ${en.num(t)}-minute slot: at 1–2 min per slide that is about ${en.num(lo)}–${en.num(hi)} min (an estimate from the slide count; add speaker notes to time your script) — cut to about ${a}–${b} slides.`,
  slidesUnder: (s, t, lo, hi, [a, b]) =>
    `${s} slides for a ${en.num(t)}-minute slot: at 1–2 min per slide that is about ${en.num(lo)}–${en.num(hi)} min (an estimate from the slide count; add speaker notes to time your script) — plan about ${a}–${b} slides or time for questions.`,
  missingNotes: (ix) =>
    `${ix.length === 1 ? `Slide ${ix[0]} has` : `${ix.length} slides have`} no speaker notes${ix.length === 1 ? '' : ` (slides ${list(ix)})`}: what you say there is not in the time estimate — add notes.`,
  bareQuestions: (r) =>
    `${cap(en.slide(r))} only says "questions": that is not a closing — end on your key message or a call to action and leave it on screen during questions.`,
  fillers: (rate, total, top, r, n) =>
    `Filler words: ${en.num(rate)} per 100 words (${total} in total: ${top}); most (${n}) on ${en.slide(r)} — pause instead.`,
  petPhrase: (p, c, ix) => `The phrase "${p}" comes up ${c} times (${en.slides(ix)}) — vary it or drop it.`,
  repeatedPhrase: (p, c, ix) => `"${p}" is repeated ${c} times (${en.slides(ix)}) — vary the wording.`,
  missingOpening: (r) => `No opening that says why it matters: start on ${en.slide(r)} with the problem or the question your talk answers.`,
  missingAgenda: (s, m) => `No agenda for a talk of ${s} slides (~${en.num(m)} min): add an overview as slide 2.`,
  missingSummary: (l) => `No summary near the end (slides ${Math.max(1, l - 2)}–${l}): add a slide with your three key takeaways.`,
  missingClosing: (l) => `No closing after slide ${l}: end with thanks, an invitation to questions or a call to action.`,
  hardToRead: (score, avg, r) =>
    `Hard to read (Flesch reading ease ${score}/100; 60–70 is plain language): sentences average ${en.num(avg)} words` +
    (r === undefined ? ' — shorten them.' : ` — shorten them, starting with ${en.slide(r)}.`),
  note: {
    words: (w) => `${w} words — split the slide or move the detail to your notes.`,
    bullets: (b) => `${b} bullets — at most 6 (6×6 rule).`,
    longBullet: (p, w) => `Bullet ${p} has ${w} words — cut it to about 6–12.`,
    longSentence: (w) => `A sentence of ${w} words — split it.`,
    fillers: (l) => `Filler words: ${l}.`,
    agenda: 'Agenda.',
    opening: 'Opening: says why it matters.',
    summary: 'Summary.',
    closing: 'Closing.',
  },
  strength: {
    opening: (r) => `Opens with why it matters on ${en.slide(r)}.`,
    agenda: (r) => `Clear agenda on ${en.slide(r)}.`,
    summary: (r) => `Sums up on ${en.slide(r)}.`,
    closing: (r) => `Clear closing on ${en.slide(r)}.`,
    concise: (r, w) => `Every slide stays under 80 words (longest: ${en.slide(r)}, ${w} words).`,
    bullets: 'No slide has more than 6 bullets.',
    fewFillers: (rate) => `Few filler words (${en.num(rate)} per 100 words).`,
    timing: (m, t) => `Fits the ${en.num(t)}-minute target (your notes run about ${en.num(m)} min at 130 words/min).`,
    slidesFit: (s, t, lo, hi) => `${s} slides suit the ${en.num(t)}-minute target (about ${en.num(lo)}–${en.num(hi)} min at 1–2 min per slide, an estimate from the slide count).`,
    readable: (s) => `Plain language: Flesch reading ease ${s}.`,
  },
};

const de: Messages = {
  num: (n) => formatNumber(n, ',', '.'),
  slide: (r) => (r.title === '' ? `Folie ${r.index}` : `Folie ${r.index} („${r.title}“)`),
  slides: (ix) => (ix.length === 1 ? `Folie ${ix[0]}` : `Folien ${list(ix)}`),
  quote: (t) => `„${t}“`,
  counted: (items) => items.map(([w, n]) => `„${w}“ ×${n}`).join(', '),
  empty: {
    summary: 'Die Präsentation ist leer: Es gibt keinen Text zu analysieren.',
    improvement: 'Der Vortrag hat 0 Wörter: Fügen Sie Ihre Folien als Markdown (eine „# Überschrift“ je Folie) oder als Text ein.',
  },
  summary: (s, w, e, t, score, issues, judgeable) =>
    `${s} ${s === 1 ? 'Folie' : 'Folien'}, ${de.num(w)} ${w === 1 ? 'Wort' : 'Wörter'} auf den Folien` +
    (e.basis === 'notes'
      ? ` und ${de.num(e.spokenWords)} gesprochene in den Notizen, etwa ${de.num(e.minutes)} Min. bei 130 Wörtern/Min.`
      : `; ohne Sprechernotizen ist die Dauer aus den Folien geschätzt: etwa ${de.num(e.range[0])}–${de.num(e.range[1])} Min. bei 1–2 Min. je Folie`) +
    `${t === undefined ? '' : ` (Ziel ${de.num(t)} Min.)`}; Bewertung ${score}/100` +
    (!judgeable ? ' – noch zu kurz für eine Beurteilung.' : issues === 0 ? ' – keine größeren Probleme gefunden.' : ` mit ${issues} ${issues === 1 ? 'Vorschlag' : 'Vorschlägen'}.`),
  tooShort: (w, s) => `Nur ${w} ${w === 1 ? 'Wort' : 'Wörter'} auf ${s} ${s === 1 ? 'Folie' : 'Folien'}: Ergänzen Sie Ihre Kernaussagen (oder Ihr Skript), damit sich der Vortrag beurteilen lässt.`,
  headingsOnly: (s) => `Alle ${s} Folien bestehen nur aus Überschriften: Ergänzen Sie unter jeder Überschrift die Kernaussagen (oder Ihr Skript).`,
  overlongSlide: (r, w) => `${de.slide(r)} hat ${w} Wörter – teilen Sie die Folie auf oder verschieben Sie Details in die Sprechernotizen.`,
  moreOverlongSlides: (c, ix) => `${c} weitere Folien haben 80 Wörter oder mehr (Folien ${list(ix)}) – kürzen Sie sie ebenso.`,
  tooManyBullets: (r, b) => `${de.slide(r)} hat ${b} Aufzählungspunkte – nach der 6×6-Regel höchstens 6; fassen Sie zusammen oder teilen Sie die Folie.`,
  longBullets: (r, c, l, x) =>
    `${de.slide(r)} hat ${c === 1 ? 'einen Aufzählungspunkt' : `${c} Aufzählungspunkte`} mit mehr als 12 Wörtern (längster: ${l}, „${x}“) – kürzen Sie auf Stichworte.`,
  longSentence: (r, w) => `Der längste Satz, auf ${de.slide(r)}, hat ${w} Wörter – teilen Sie ihn; höchstens etwa 25 Wörter.`,
  timingOver: (m, t, cw, cm) =>
    `Bei 130 Wörtern/Min. dauern Ihre Sprechernotizen etwa ${de.num(m)} Min. bei ${de.num(t)} Min. Zielzeit: Kürzen Sie um etwa ${de.num(cw)} gesprochene Wörter (~${de.num(cm)} Min.).`,
  timingUnder: (m, t, sw) =>
    `Mit etwa ${de.num(m)} Min. nutzen Ihre Sprechernotizen das Zeitfenster von ${de.num(t)} Min. kaum: Es ist Platz für etwa ${de.num(sw)} weitere gesprochene Wörter – ergänzen Sie ein Beispiel oder planen Sie Zeit für Fragen ein.`,
  slidesOver: (s, t, lo, hi, [a, b]) =>
    `${s} Folien für ${de.num(t)} Min.: Bei 1–2 Min. je Folie sind das etwa ${de.num(lo)}–${de.num(hi)} Min. (geschätzt aus der Folienzahl; mit Sprechernotizen lässt sich Ihr Text messen) – kürzen Sie auf etwa ${a}–${b} Folien.`,
  slidesUnder: (s, t, lo, hi, [a, b]) =>
    `${s} Folien für ${de.num(t)} Min.: Bei 1–2 Min. je Folie sind das etwa ${de.num(lo)}–${de.num(hi)} Min. (geschätzt aus der Folienzahl; mit Sprechernotizen lässt sich Ihr Text messen) – planen Sie etwa ${a}–${b} Folien oder Zeit für Fragen ein.`,
  missingNotes: (ix) =>
    `${ix.length === 1 ? `Folie ${ix[0]} hat` : `${ix.length} Folien haben`} keine Sprechernotizen${ix.length === 1 ? '' : ` (Folien ${list(ix)})`}: Was Sie dort sagen, fehlt in der Zeitschätzung – ergänzen Sie Notizen.`,
  bareQuestions: (r) =>
    `${de.slide(r)} sagt nur „Fragen“: Das ist kein Abschluss – enden Sie mit Ihrer Kernaussage oder einem Handlungsaufruf und lassen Sie diese während der Fragen stehen.`,
  fillers: (rate, total, top, r, n) =>
    `Füllwörter: ${de.num(rate)} pro 100 Wörter (${total} insgesamt: ${top}); die meisten (${n}) auf ${de.slide(r)} – machen Sie stattdessen eine Pause.`,
  petPhrase: (p, c, ix) => `Die Wendung „${p}“ kommt ${c}-mal vor (${de.slides(ix)}) – variieren oder streichen Sie sie.`,
  repeatedPhrase: (p, c, ix) => `„${p}“ wiederholt sich ${c}-mal (${de.slides(ix)}) – variieren Sie die Formulierung.`,
  missingOpening: (r) => `Kein Einstieg, der sagt, warum das Thema wichtig ist: Beginnen Sie auf ${de.slide(r)} mit dem Problem oder der Frage, die Ihr Vortrag beantwortet.`,
  missingAgenda: (s, m) => `Keine Agenda bei ${s} Folien (~${de.num(m)} Min.): Fügen Sie als Folie 2 einen Überblick ein.`,
  missingSummary: (l) => `Keine Zusammenfassung am Ende (Folien ${Math.max(1, l - 2)}–${l}): Fügen Sie eine Folie mit den drei wichtigsten Punkten ein.`,
  missingClosing: (l) => `Kein Abschluss nach Folie ${l}: Enden Sie mit Dank, einer Einladung zu Fragen oder einem Handlungsaufruf.`,
  hardToRead: (score, avg, r) =>
    `Schwer verständlich (Amstad-Index ${score}/100; 60–70 ist leicht verständlich): Sätze haben im Schnitt ${de.num(avg)} Wörter` +
    (r === undefined ? ' – kürzen Sie sie.' : ` – kürzen Sie sie, beginnend mit ${de.slide(r)}.`),
  note: {
    words: (w) => `${w} Wörter – Folie teilen oder Details in die Sprechernotizen verschieben.`,
    bullets: (b) => `${b} Aufzählungspunkte – höchstens 6 (6×6-Regel).`,
    longBullet: (p, w) => `Aufzählungspunkt ${p} hat ${w} Wörter – auf etwa 6–12 kürzen.`,
    longSentence: (w) => `Ein Satz mit ${w} Wörtern – teilen Sie ihn.`,
    fillers: (l) => `Füllwörter: ${l}.`,
    agenda: 'Agenda.',
    opening: 'Einstieg: sagt, warum das Thema wichtig ist.',
    summary: 'Zusammenfassung.',
    closing: 'Abschluss.',
  },
  strength: {
    opening: (r) => `Der Einstieg auf ${de.slide(r)} sagt, warum das Thema wichtig ist.`,
    agenda: (r) => `Klare Agenda auf ${de.slide(r)}.`,
    summary: (r) => `Zusammenfassung auf ${de.slide(r)}.`,
    closing: (r) => `Klarer Abschluss auf ${de.slide(r)}.`,
    concise: (r, w) => `Alle Folien bleiben unter 80 Wörtern (längste: ${de.slide(r)}, ${w} Wörter).`,
    bullets: 'Keine Folie hat mehr als 6 Aufzählungspunkte.',
    fewFillers: (rate) => `Wenige Füllwörter (${de.num(rate)} pro 100 Wörter).`,
    timing: (m, t) => `Passt in die Zielzeit von ${de.num(t)} Min. (Ihre Notizen dauern etwa ${de.num(m)} Min. bei 130 Wörtern/Min.).`,
    slidesFit: (s, t, lo, hi) => `${s} Folien passen zur Zielzeit von ${de.num(t)} Min. (etwa ${de.num(lo)}–${de.num(hi)} Min. bei 1–2 Min. je Folie, geschätzt aus der Folienzahl).`,
    readable: (s) => `Leicht verständlich: Amstad-Index ${s}.`,
  },
};

export function messages(language: Language): Messages {
  return language === 'de' ? de : en;
}
