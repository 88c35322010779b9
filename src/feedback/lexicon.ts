// Word lists of the local analyser, as plain data (FEEDBACK.md). All entries are lower case;
// phrases are space-separated words, matched on whole tokens.
import type { Language } from './types.js';

/** A filler or pet phrase; the guards drop ordinary uses ("I'd like", "a kind of"). */
export interface PhraseRule {
  phrase: string;
  /** Not counted right after one of these words. */
  notAfter?: readonly string[];
  /** Not counted right before one of these words. */
  notBefore?: readonly string[];
  /** Counted only when set off by a comma ("it's, like, fast"). */
  commaOnly?: boolean;
}

/** Unambiguous function words, used only to tell the languages apart ("was", "in", "die", "um" are in neither). */
export const DETECT: Record<Language, readonly string[]> = {
  en: ['the', 'and', 'of', 'to', 'is', 'are', 'were', 'that', 'this', 'with', 'for', 'you', 'we', 'it', 'not',
    'be', 'have', 'has', 'on', 'at', 'by', 'from', 'or', 'but', 'they', 'which', 'would', 'can', 'our', 'your',
    'their', 'what', 'how', 'why', 'when', 'there', 'these', 'those', 'into', 'about', 'than', 'then', 'if',
    'been', 'does', 'did', 'just', 'more', 'most', 'only', 'should', 'could', "it's", "let's", "don't", "we're"],
  de: ['der', 'und', 'ist', 'sind', 'nicht', 'mit', 'für', 'auf', 'ein', 'eine', 'einen', 'einem', 'einer',
    'den', 'dem', 'des', 'zu', 'zum', 'zur', 'von', 'vom', 'im', 'auch', 'sich', 'sie', 'wir', 'ich', 'es',
    'ihr', 'ihre', 'unser', 'unsere', 'wie', 'warum', 'wenn', 'dass', 'oder', 'aber', 'noch', 'nur', 'schon',
    'sehr', 'mehr', 'bei', 'nach', 'aus', 'über', 'durch', 'ohne', 'kann', 'können', 'wird', 'werden', 'wurde',
    'haben', 'hatte', 'diese', 'dieser', 'dieses', 'jetzt', 'hier', 'dann', 'doch', 'mal', 'kein', 'keine', 'das'],
};

/** Function words, skipped when looking for repeated phrases. */
export const STOPWORDS: Record<Language, readonly string[]> = {
  en: [...DETECT.en, 'a', 'an', 'in', 'as', 'so', 'was', 'will', 'i', 'me', 'my', 'us', 'he', 'she', 'his',
    'her', 'him', 'them', 'its', 'do', 'all', 'any', 'each', 'other', 'some', 'such', 'no', 'yes', 'up', 'out',
    'over', 'very', 'may', 'might', 'must', 'am', 'also', 'here', 'who', 'whom', 'where', 'while', 'being',
    "i'm", "you're", "that's", "there's", 'one', 'get', 'got', 'go', 'make', 'made', 'now', 'too', 'many', 'much'],
  de: [...DETECT.de, 'die', 'in', 'an', 'am', 'ins', 'um', 'so', 'als', 'also', 'da', 'er', 'du', 'man', 'was',
    'war', 'waren', 'hat', 'sein', 'ja', 'nein', 'alle', 'jede', 'jeder', 'jeden', 'eines', 'mein', 'dein',
    'unter', 'gegen', 'bis', 'seit', 'vor', 'wo', 'wer', 'uns', 'euch', 'ihnen', 'ihm', 'ihn', 'soll', 'muss',
    'gibt', 'geht', 'ganz', 'viel', 'viele', 'immer', 'wieder'],
};

/** Abbreviations whose final dot does not end a sentence (the token is matched without that dot). */
export const ABBREVIATIONS: readonly string[] = [
  'e.g', 'i.e', 'etc', 'vs', 'dr', 'mr', 'mrs', 'ms', 'prof', 'approx', 'fig',
  'z.b', 'd.h', 'u.a', 'usw', 'bzw', 'ca', 'evtl', 'ggf', 'inkl', 'bspw', 'nr', 'vgl', 's', 'sog', 'u.u',
];

export const FILLERS: Record<Language, readonly PhraseRule[]> = {
  en: [
    { phrase: 'um' }, { phrase: 'uh' }, { phrase: 'er' }, { phrase: 'erm' },
    { phrase: 'like', commaOnly: true },
    { phrase: 'you know', notAfter: ['as', 'if', 'do', 'did', 'that'], notBefore: ['how', 'what', 'that', 'the', 'why', 'where', 'when', 'who', 'it', 'this', 'a', 'an', 'your', 'about', 'which'] },
    { phrase: 'i mean', notBefore: ['it', 'that', 'this', 'to', 'the', 'a'] },
    { phrase: 'basically' }, { phrase: 'actually' }, { phrase: 'literally' },
    { phrase: 'sort of', notAfter: ['a', 'an', 'the', 'this', 'that', 'what', 'which', 'any', 'some', 'every', 'one', 'each', 'same', 'new', 'different'] },
    { phrase: 'kind of', notAfter: ['a', 'an', 'the', 'this', 'that', 'what', 'which', 'any', 'some', 'every', 'one', 'each', 'same', 'new', 'different'] },
  ],
  de: [
    { phrase: 'äh' }, { phrase: 'ähm' }, { phrase: 'öhm' },
    { phrase: 'halt' }, { phrase: 'eigentlich' }, { phrase: 'sozusagen' }, { phrase: 'quasi' },
    { phrase: 'irgendwie' }, { phrase: 'gewissermaßen' },
  ],
};

/** Known pet phrases (Speaker Coach's "repetitive language"): flagged when used 3 times or more. */
export const PET_PHRASES: Record<Language, readonly PhraseRule[]> = {
  en: [
    { phrase: "let's say" }, { phrase: 'at the end of the day' }, { phrase: 'to be honest' },
    { phrase: 'if you will' }, { phrase: 'as i said' }, { phrase: 'so to speak' }, { phrase: 'needless to say' },
    { phrase: 'in terms of' }, { phrase: 'going forward' }, { phrase: 'moving on' }, { phrase: 'of course' },
    { phrase: 'you see' }, { phrase: 'at this point in time' }, { phrase: 'really' }, { phrase: 'obviously' },
  ],
  de: [
    { phrase: 'sagen wir mal' }, { phrase: 'sagen wir' }, { phrase: 'wie gesagt' }, { phrase: 'im grunde' },
    { phrase: 'im endeffekt' }, { phrase: 'am ende des tages' }, { phrase: 'im prinzip' },
    { phrase: 'ehrlich gesagt' }, { phrase: 'auf jeden fall' }, { phrase: 'letztendlich' },
    { phrase: 'natürlich' }, { phrase: 'tatsächlich' }, { phrase: 'wirklich' }, { phrase: 'sag ich mal' },
  ],
};

export type Part = 'opening' | 'agenda' | 'summary' | 'closing';

/** An invitation to questions: a closing only with something more on the slide or in its notes. */
export const QUESTIONS: Record<Language, readonly string[]> = {
  en: ['question', 'q a', 'qa', 'any question', 'discussion'],
  de: ['frage', 'fragen', 'q a', 'diskussion', 'rückfragen'],
};

/** Keywords of the four parts of a talk; the last word of a keyword also matches as a prefix ("thank" → "thanks"). */
export const STRUCTURE: Record<Language, Record<Part, readonly string[]>> = {
  en: {
    opening: ['why', 'problem', 'challenge', 'imagine', 'did you know', 'matters', 'motivation', 'goal',
      'what if', 'pain', 'the question'],
    agenda: ['agenda', 'overview', 'outline', 'roadmap', 'contents', "what we'll cover", 'in this talk',
      'plan for today', "today's plan"],
    summary: ['summary', 'summing up', 'to sum up', 'in summary', 'recap', 'takeaway', 'key takeaway', 'conclusion',
      'in short', 'lesson', 'lessons learned', 'key point', 'key message', 'what we learned', 'wrap up', 'wrap-up',
      'wrapping up', 'tl dr', 'outlook'],
    // Thanks, contact and a call to action; an invitation to questions is in QUESTIONS.
    closing: ['thank', 'contact', 'get in touch', 'next step', 'call to action', 'try it', 'try this', 'give it a try',
      'get started', 'start with', 'start by', 'sign up', 'join us', 'reach out', 'your turn', 'what you can do',
      'start today', 'download', 'visit'],
  },
  de: {
    opening: ['warum', 'wieso', 'weshalb', 'problem', 'herausforderung', 'stellen sie sich vor', 'stell dir vor',
      'stellt euch vor', 'wussten sie', 'motivation', 'ziel', 'worum es geht', 'was wäre wenn', 'die frage'],
    agenda: ['agenda', 'überblick', 'gliederung', 'inhalt', 'ablauf', 'fahrplan', 'was sie erwartet',
      'in diesem vortrag', 'heute geht es'],
    summary: ['zusammenfassung', 'zusammenfassend', 'zusammengefasst', 'fazit', 'kernaussage', 'kernpunkt', 'takeaway',
      'rückblick', 'resümee', 'das wichtigste', 'was bleibt', 'auf einen blick', 'ausblick', 'lesson', 'lessons learned',
      'was wir gelernt haben', 'erkenntnis', 'wrap-up'],
    closing: ['danke', 'vielen dank', 'kontakt', 'nächste schritt', 'ihr nächster schritt', 'probieren sie',
      'ausprobieren', 'fangen sie', 'beginnen sie', 'starten sie', 'testen sie', 'nutzen sie', 'laden sie',
      'schreiben sie', 'besuchen sie', 'machen sie mit', 'melden sie sich', 'handlungsaufruf', 'legen sie los'],
  },
};
