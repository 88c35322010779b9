// Tells German from English by unambiguous function words, with umlauts and ß as extra evidence.
import type { Language } from '../types.js';
import { DETECT } from '../lexicon.js';
import type { SlideStats } from './measure.js';

const DE = new Set(DETECT.de);
const EN = new Set(DETECT.en);
const UMLAUT = /[äöüß]/;
const SAMPLE = 20_000;

/** English when the evidence is even or absent. */
export function detectLanguage(slides: readonly SlideStats[]): Language {
  let de = 0;
  let en = 0;
  let seen = 0;
  for (const slide of slides) {
    for (const t of slide.tokens) {
      if (DE.has(t.lower)) de += 1;
      else if (EN.has(t.lower)) en += 1;
      if (UMLAUT.test(t.lower)) de += 0.5;
      if (++seen >= SAMPLE) return de > en ? 'de' : 'en';
    }
  }
  return de > en ? 'de' : 'en';
}
