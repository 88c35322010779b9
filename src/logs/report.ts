import type { ChalkInstance } from 'chalk';
import type { DuplicateReport } from './analyse.js';
import { visibleLine } from './escape.js';

const RETRIES_SHOWN = 20;

export function formatTime(t: number): string {
  // seconds: a finished job's first mark is kept to the second (see duplicates.ts)
  return Number.isFinite(t) && t > 0 ? `${new Date(t).toISOString().slice(0, 19).replace('T', ' ')}Z` : '-';
}

function table(rows: string[][], c: ChalkInstance): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r, n) => {
    const line = r.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd();
    return `${n === 0 ? c.bold(line) : line}\n`;
  }).join('');
}

const plural = (n: number, one: string, many = `${one}s`): string => `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;

/** 1048576 → "1 MiB", 65536 → "64 KiB", 1000 → "1,000 bytes". */
export function formatSize(bytes: number): string {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0) return `${(bytes / 1024 / 1024).toLocaleString('en-US')} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${(bytes / 1024).toLocaleString('en-US')} KiB`;
  return plural(bytes, 'byte');
}

/** "2 lines over 1 MiB skipped": lines the cap kept out of memory. */
export function oversizedNote(count: number, maxLineBytes: number): string {
  return `${plural(count, 'line')} over ${formatSize(maxLineBytes)} skipped`;
}

export function summaryLine(r: DuplicateReport): string {
  const parts = [
    r.duplicates.length === 0
      ? `No duplicates among ${plural(r.marked, 'marked job')}`
      : `${plural(r.duplicates.length, 'duplicate')} (${plural(r.extraFeedbacks, 'extra feedback')}) among ${plural(r.marked, 'marked job')}`,
    `${plural(r.retries.count, 'retry', 'retries')} (not duplicates)`,
    `${plural(r.garbled, 'unreadable line')} skipped`,
    ...(r.oversized > 0 ? [oversizedNote(r.oversized, r.maxLineBytes)] : []),
    `${plural(r.lines, 'line')} in ${plural(r.files.length, 'file')}${r.hosts.length > 1 ? ` from ${plural(r.hosts.length, 'host')}` : ''} (${(r.bytes / 1e6).toFixed(1)} MB)`,
  ];
  return parts.join(' · ');
}

export function formatReport(r: DuplicateReport, c: ChalkInstance): string {
  let out = '';
  if (r.duplicates.length > 0) {
    // several hosts may run workers with the same pid: then each process is pid@host
    const manyHosts = r.hosts.length > 1;
    const rows = [['PRESENTATION', 'JOB', 'COUNT', manyHosts ? 'PID@HOST' : 'PIDS', 'FIRST', 'LAST', 'KIND']];
    for (const d of r.duplicates) {
      const procs = manyHosts ? d.processes.map((p) => (p.host === undefined ? String(p.pid) : `${p.pid}@${p.host}`)) : d.pids.map(String);
      rows.push([d.presentationId ?? '-', d.jobIds.length > 0 ? d.jobIds.join(', ') : '-', String(d.count), procs.join(', '), formatTime(d.first), formatTime(d.last), d.kinds.join(', ')].map(visibleLine));
    }
    out += table(rows, c);
    out += '\n';
  }
  if (r.retries.count > 0) {
    out += `${c.bold('Retries')} (a failed attempt or an expired lease, then a new attempt: expected, not duplicates)\n`;
    const manyHosts = r.hosts.length > 1;
    const rows = [['PRESENTATION', 'JOB', 'ATTEMPTS', 'OUTCOME', 'WHY', ...(manyHosts ? ['LOST ON'] : [])]];
    for (const x of r.retries.listed.slice(0, RETRIES_SHOWN)) {
      const lost = x.lost.map((p) => (p.host === undefined ? String(p.pid) : `${p.pid}@${p.host}`)).join(', ');
      rows.push([x.presentationId ?? '-', x.jobId ?? '-', String(x.attempts), x.outcome, x.reasons.join('; '), ...(manyHosts ? [lost || '-'] : [])].map(visibleLine));
    }
    out += table(rows, c);
    if (r.retries.count > RETRIES_SHOWN) out += `… and ${plural(r.retries.count - RETRIES_SHOWN, 'more retry', 'more retries')} (--json lists up to ${r.retries.listed.length.toLocaleString('en-US')}).\n`;
    out += '\n';
  }
  for (const f of r.files) if (f.truncated) out += c.yellow(`warning: ${visibleLine(f.path)} ends early (an incomplete gzip file); read ${plural(f.lines, 'line')} from it.\n`);
  if (r.failuresWithoutPresentation > 0) out += `${plural(r.failuresWithoutPresentation, 'failure line')} named no presentation (the old stack's "Feedback-Generierung fehlgeschlagen: …").\n`;
  const summary = summaryLine(r);
  out += `${r.duplicates.length > 0 ? c.red(summary) : c.green(summary)}\n`;
  return out;
}

/** The --json report; print it through safeJson (log text in it may hold DEL/C1 characters). */
export function reportJson(r: DuplicateReport): unknown {
  return {
    clean: r.duplicates.length === 0,
    summary: summaryLine(r),
    duplicates: r.duplicates.map((d) => ({ ...d, first: new Date(d.first).toISOString(), last: new Date(d.last).toISOString() })),
    extraFeedbacks: r.extraFeedbacks,
    retries: r.retries,
    marked: r.marked,
    hosts: r.hosts,
    events: r.events,
    lines: r.lines,
    garbled: r.garbled,
    oversized: r.oversized,
    maxLineBytes: r.maxLineBytes,
    bytes: r.bytes,
    windowMs: r.windowMs,
    failuresWithoutPresentation: r.failuresWithoutPresentation,
    files: r.files,
  };
}
