import { DuplicateAnalyser, type Duplicate, type Retry } from './duplicates.js';
import { groupInputs, type LogGroup, type LogInput } from './files.js';
import { mergeGroups } from './merge.js';
import type { ReadResult } from './read.js';
import { feedbackEventFromLine, GARBLED } from './parse.js';
import type { Progress } from './progress.js';
import { DEFAULT_MAX_LINE_BYTES } from './lines.js';

export interface AnalyseOptions {
  windowMs: number;
  since?: number | undefined;
  presentation?: string | undefined;
  progress?: Progress;
  /** Longer lines are skipped and counted in `oversized`. */
  maxLineBytes?: number;
}

export interface DuplicateReport {
  files: { path: string; bytes: number; lines: number; truncated: boolean }[];
  /** Hosts seen in feedback events (pino's hostname; the file for the old stack's text). */
  hosts: string[];
  lines: number;
  bytes: number;
  /** Lines that are neither pino JSON nor a known text format (cut off, garbled, a traceback): skipped. */
  garbled: number;
  /** Lines over the length cap: skipped unread. */
  oversized: number;
  maxLineBytes: number;
  events: number;
  /** Distinct jobs (or old-stack presentations) with a feedback.marked line. */
  marked: number;
  windowMs: number;
  duplicates: Duplicate[];
  /** feedback.marked lines beyond the first, over all duplicates. */
  extraFeedbacks: number;
  retries: { count: number; listed: Retry[] };
  failuresWithoutPresentation: number;
}

/** Streams the files in order through the analyser; memory stays flat whatever their size. */
export async function analyseFiles(inputs: LogInput[], options: AnalyseOptions): Promise<DuplicateReport> {
  return analyseGroups(groupInputs(inputs), options);
}

/** Several hosts' logs (one group each), merged by time through one analyser. */
export async function analyseGroups(groups: LogGroup[], options: AnalyseOptions): Promise<DuplicateReport> {
  const inputs = groups.flatMap((g) => g.files);
  const analyser = new DuplicateAnalyser({ windowMs: options.windowMs });
  const { since, presentation } = options;
  let garbled = 0;
  let lines = 0;
  let oversized = 0;
  const results = new Map<LogInput, ReadResult>();
  const onLine = (line: string, group: LogGroup): void => {
    const e = feedbackEventFromLine(line);
    if (e === undefined) return;
    if (e === GARBLED) {
      garbled++;
      return;
    }
    if (since !== undefined && e.time < since) return;
    if (presentation !== undefined && e.presentationId !== presentation) return;
    // the old stack's text names no host: its file does
    e.host ??= group.label;
    analyser.add(e);
  };
  const onBytes = options.progress ? (n: number) => options.progress!.add(n) : undefined;
  await mergeGroups(groups, onLine, { onBytes, maxLineBytes: options.maxLineBytes, onFile: (input, r) => results.set(input, r) });
  const files: DuplicateReport['files'] = [];
  for (const input of inputs) {
    const r = results.get(input) ?? { lines: 0, truncated: false, oversized: 0 };
    lines += r.lines;
    oversized += r.oversized;
    files.push({ path: input.path, bytes: input.size, lines: r.lines, truncated: r.truncated });
  }
  options.progress?.done();
  const result = analyser.result();
  return {
    files,
    hosts: analyser.hosts,
    lines,
    bytes: inputs.reduce((sum, f) => sum + f.size, 0),
    garbled,
    oversized,
    maxLineBytes: options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES,
    events: analyser.eventCount,
    marked: result.jobs,
    windowMs: analyser.windowMs,
    duplicates: result.duplicates,
    extraFeedbacks: result.duplicates.reduce((sum, d) => sum + Math.max(0, d.count - 1), 0),
    retries: { count: result.retryCount, listed: result.retries },
    failuresWithoutPresentation: analyser.failuresWithoutPresentation,
  };
}
