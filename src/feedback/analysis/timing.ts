// How long a talk takes. Speaker notes are the script: ~130 spoken words a minute (FEEDBACK.md).
// Without notes the slide text is not a script, so the only honest estimate is a range from the
// slide count: the rules of thumb give one to two minutes a slide (10/20/30 is two).
export const WORDS_PER_MINUTE = 130;
export const MINUTES_PER_SLIDE: readonly [number, number] = [1, 2];

export type TimeEstimate =
  | { basis: 'notes'; spokenWords: number; minutes: number }
  | { basis: 'slides'; range: [number, number]; minutes: number };

const round1 = (n: number): number => Math.round(n * 10) / 10;

export function estimateTime(slides: number, spokenWords: number): TimeEstimate {
  if (spokenWords > 0) return { basis: 'notes', spokenWords, minutes: round1(spokenWords / WORDS_PER_MINUTE) };
  const range: [number, number] = [slides * MINUTES_PER_SLIDE[0], slides * MINUTES_PER_SLIDE[1]];
  return { basis: 'slides', range, minutes: round1((range[0] + range[1]) / 2) };
}

/** The estimate's metrics fields (DESIGN.md's shape plus timeBasis, spokenWords or estimatedMinutesRange). */
export function timeMetrics(estimate: TimeEstimate): {
  estimatedMinutes: number; timeBasis: 'notes' | 'slides'; spokenWords?: number; estimatedMinutesRange?: [number, number];
} {
  return estimate.basis === 'notes'
    ? { estimatedMinutes: estimate.minutes, timeBasis: 'notes', spokenWords: estimate.spokenWords }
    : { estimatedMinutes: estimate.minutes, timeBasis: 'slides', estimatedMinutesRange: estimate.range };
}
