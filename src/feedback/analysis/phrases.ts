// Counts phrase rules (fillers, pet phrases, structure keywords) in a token stream.
import type { PhraseRule } from '../lexicon.js';
import type { Token } from './text.js';

export interface CompiledRule {
  phrase: string;
  words: readonly string[];
  notAfter: ReadonlySet<string>;
  notBefore: ReadonlySet<string>;
  commaOnly: boolean;
  /** The last word also matches as a prefix ("thank" → "thanks"). */
  prefix: boolean;
}

/** Rules by first word, longest first, so "sagen wir mal" wins over "sagen wir". */
export type RuleIndex = ReadonlyMap<string, readonly CompiledRule[]>;

export function compileRules(rules: readonly PhraseRule[], prefix = false): CompiledRule[] {
  return rules.map((r) => ({
    phrase: r.phrase,
    words: r.phrase.split(' ').filter((w) => w !== ''),
    notAfter: new Set(r.notAfter ?? []),
    notBefore: new Set(r.notBefore ?? []),
    commaOnly: r.commaOnly === true,
    prefix,
  }));
}

export function indexRules(rules: readonly CompiledRule[]): RuleIndex {
  const index = new Map<string, CompiledRule[]>();
  for (const rule of rules) {
    const first = rule.words[0];
    if (first === undefined || rule.prefix) continue;
    const list = index.get(first) ?? [];
    list.push(rule);
    list.sort((a, b) => b.words.length - a.words.length);
    index.set(first, list);
  }
  return index;
}

function wordMatches(rule: CompiledRule, k: number, token: Token): boolean {
  const word = rule.words[k] ?? '';
  return rule.prefix && k === rule.words.length - 1 ? token.lower.startsWith(word) : token.lower === word;
}

/** Whether `rule` matches at `i` (no punctuation inside the phrase, guards respected). */
export function matchAt(tokens: readonly Token[], i: number, rule: CompiledRule): boolean {
  const n = rule.words.length;
  for (let k = 0; k < n; k++) {
    const t = tokens[i + k];
    if (t === undefined || (k > 0 && t.brk) || !wordMatches(rule, k, t)) return false;
  }
  const here = tokens[i];
  const before = i > 0 && here !== undefined && !here.brk ? tokens[i - 1] : undefined;
  const next = tokens[i + n];
  const after = next !== undefined && !next.brk ? next : undefined;
  if (before !== undefined && rule.notAfter.has(before.lower)) return false;
  if (after !== undefined && rule.notBefore.has(after.lower)) return false;
  if (rule.commaOnly && here?.comma !== true && next?.comma !== true) return false;
  return true;
}

/** Occurrences per phrase (undefined when none); matches do not overlap. */
export function countPhrases(tokens: readonly Token[], index: RuleIndex): Map<string, number> | undefined {
  let into: Map<string, number> | undefined;
  for (let i = 0; i < tokens.length; i++) {
    const candidates = index.get(tokens[i]?.lower ?? '');
    if (candidates === undefined) continue;
    const rule = candidates.find((r) => matchAt(tokens, i, r));
    if (rule === undefined) continue;
    into ??= new Map();
    into.set(rule.phrase, (into.get(rule.phrase) ?? 0) + 1);
    i += rule.words.length - 1;
  }
  return into;
}

/** Whether any keyword (prefix rule) occurs in the tokens. */
export function containsAny(tokens: readonly Token[], rules: readonly CompiledRule[]): boolean {
  for (let i = 0; i < tokens.length; i++) {
    for (const rule of rules) if (matchAt(tokens, i, rule)) return true;
  }
  return false;
}
