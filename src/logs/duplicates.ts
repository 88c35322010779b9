import { own } from './lines.js';
import type { FeedbackEvent } from './parse.js';

export type DuplicateKind = 'marked-twice' | 'same-response' | 'concurrent';

/** One job (or presentation version, or old-stack presentation) whose feedback was produced more than once. */
export interface Duplicate {
  presentationId: string | undefined;
  /** The job id; several when different jobs gave the same response; undefined for the old stack. */
  jobIds: string[];
  kinds: DuplicateKind[];
  /** Times processed: feedback.marked lines, or workers running it at once when higher. */
  count: number;
  /** The pids involved (two hosts may share one: see processes). */
  pids: number[];
  /** The hosts involved: pino's hostname, or the file for the old stack's text. */
  hosts: string[];
  /** Each process involved, host and pid, sorted by host then pid. */
  processes: Process[];
  first: number;
  last: number;
}

export interface Process {
  host: string | undefined;
  pid: number;
}

/** A job that needed more than one attempt: expected behaviour, listed but never counted as a duplicate. */
export interface Retry {
  presentationId: string | undefined;
  jobId: string | undefined;
  attempts: number;
  reasons: string[];
  outcome: 'marked' | 'failed' | 'unfinished';
  /**
   * The processes whose attempt was lost (its lease expired: the worker was killed or frozen),
   * as the attempt's own feedback.started line names them; host undefined when that line is not
   * in these logs (only the pid the lease_expired line gives is known then).
   */
  lost: Process[];
}

export interface AnalyserOptions {
  /** Same responseHash from different pids closer than this is a duplicate. @default 60000 */
  windowMs: number;
  /** Retries kept for the report; all are counted. @default 1000 */
  maxRetriesListed?: number;
}

interface Finding {
  presentationId: string | undefined;
  jobIds: Set<string>;
  kinds: Set<DuplicateKind>;
  marks: number;
  concurrent: number;
  /** Process numbers (see procOf). */
  procs: Set<number>;
  first: number;
  last: number;
}

// An attempt is (host, pid, job, lease): two hosts may run a worker with the same pid.
interface Span {
  proc: number;
  lease: string | undefined;
  start: number;
}

// Per job, only while it runs or waits for its retry; dropped when it ends or goes stale.
interface LiveJob {
  presentationId: string | undefined;
  /** The feedback version's key (see unitOf) once a line of the job names its version. */
  unit: string | undefined;
  spans: Span[];
  attempts: number;
  reasons: string[] | undefined;
  lost: Process[] | undefined;
  retried: boolean;
  seen: number;
}

// A finished job costs one Map entry: key → first mark packed as (seconds since 2000) * 2^22 + the
// process number (one per distinct host and pid: far fewer than 2^22), an exact double until 2068.
const PROC_SPACE = 4_194_304;
const EPOCH_S = 946_684_800;
const pack = (time: number, proc: number): number => Math.max(0, Math.floor(time / 1000) - EPOCH_S) * PROC_SPACE + (proc % PROC_SPACE);
const unpackTime = (p: number): number => (Math.floor(p / PROC_SPACE) + EPOCH_S) * 1000;
const unpackProc = (p: number): number => p % PROC_SPACE;

const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

const SWEEP_EVERY = 50_000;
const STALE_MS = 3_600_000;

// One feedback is one (presentation, version): a requested regeneration is a new version, never a
// duplicate. Lines without a version (older logs) fall back to the job, the old stack's to the presentation.
function unitOf(e: FeedbackEvent, jobKey: string): string {
  return e.presentationId !== undefined && e.version !== undefined ? `v:${e.presentationId}:${e.version}` : jobKey;
}

export class DuplicateAnalyser {
  readonly windowMs: number;
  private readonly maxRetries: number;
  private readonly marks = new Map<string, number>();
  private readonly hashes = new Map<string, { presentationId: string; proc: number; time: number; key: string; jobId: string | undefined; versioned: boolean }>();
  private readonly live = new Map<string, LiveJob>();
  private readonly findings = new Map<string, Finding>();
  private readonly retryList: Retry[] = [];
  // (host, pid) → process number, and back
  private readonly procIds = new Map<string, number>();
  private readonly procs: Process[] = [];
  /**
   * Leases declared expired before the line of their own start came, and the lost attempt's entry
   * (its host unknown until then). That start can come late in the merged order: the hosts' clocks
   * are apart, or the host was frozen after its claim and before it logged the start (the claim's
   * answer waited in its socket), and then even after the job was done by another.
   */
  private readonly expiredEarly = new Map<string, { lost: Process | undefined; time: number }>();
  private events = 0;
  private clock = 0;
  retries = 0;
  /** The old stack's "Feedback-Generierung fehlgeschlagen: …" names no presentation. */
  failuresWithoutPresentation = 0;

  constructor(options: AnalyserOptions) {
    this.windowMs = options.windowMs;
    this.maxRetries = options.maxRetriesListed ?? 1000;
  }

  get eventCount(): number {
    return this.events;
  }

  /** The hosts seen in feedback events, sorted. */
  get hosts(): string[] {
    return [...new Set(this.procs.map((p) => p.host).filter((h): h is string => h !== undefined))].sort();
  }

  private procOf(e: FeedbackEvent): number {
    const key = e.host === undefined ? `${e.pid}` : `${e.pid}@${e.host}`;
    let n = this.procIds.get(key);
    if (n === undefined) {
      n = this.procs.length;
      this.procs.push({ host: e.host === undefined ? undefined : own(e.host), pid: e.pid });
      this.procIds.set(own(key), n);
    }
    return n;
  }

  add(e: FeedbackEvent): void {
    this.events++;
    if (e.time > this.clock) this.clock = e.time;
    if (this.events % SWEEP_EVERY === 0) this.sweep();
    // jobs by their id; the old stack's lines (no job ids) by presentation, as p:<id>
    const key = e.jobId ?? (e.presentationId !== undefined ? `p:${e.presentationId}` : undefined);
    if (key === undefined) {
      if (e.event === 'feedback.failed') this.failuresWithoutPresentation++;
      return;
    }
    switch (e.event) {
      case 'feedback.started':
        this.started(key, e);
        break;
      case 'feedback.marked':
        this.marked(key, e);
        break;
      case 'feedback.failed':
        this.failed(key, e);
        break;
      case 'job.lease_expired':
        this.leaseExpired(key, e);
        break;
      case 'job.lease_lost': {
        // the host of an attempt whose lease another took: the attempt ends here (the taker's
        // job.lease_expired already said why); a job already finished is not brought back
        const job = this.live.get(key);
        if (job) this.closeSpan(job, e);
        break;
      }
    }
  }

  private job(key: string, e: FeedbackEvent): LiveJob {
    let job = this.live.get(key);
    if (!job) {
      job = { presentationId: e.presentationId === undefined ? undefined : own(e.presentationId), unit: undefined, spans: [], attempts: 0, reasons: undefined, lost: undefined, retried: false, seen: e.time };
      this.live.set(own(key), job);
    }
    job.seen = e.time;
    if (job.unit === undefined && e.version !== undefined) job.unit = own(unitOf(e, key));
    if (job.presentationId === undefined && e.presentationId !== undefined) job.presentationId = own(e.presentationId);
    return job;
  }

  // A new attempt after a failure or a lease expiry (or numbered 2+) makes the job a retry.
  private attempt(job: LiveJob, e: FeedbackEvent): void {
    const n = e.attempt ?? job.attempts + 1;
    if (n > 1 || job.reasons !== undefined) {
      if (!job.retried) this.retries++;
      job.retried = true;
      if (job.reasons === undefined) job.reasons = [`attempt ${n}; the earlier attempt is not in these logs`];
    }
    if (n > job.attempts) job.attempts = n;
  }

  private started(key: string, e: FeedbackEvent): void {
    // the start of an attempt whose lease expired already (see expiredEarly): it is over; its line
    // names the host of the lost attempt, which the retry may have been reported with already
    const early = e.lease === undefined ? undefined : this.expiredEarly.get(e.lease);
    if (early) {
      this.expiredEarly.delete(e.lease!);
      if (early.lost?.pid === e.pid) early.lost.host = this.procs[this.procOf(e)]!.host;
      return;
    }
    const job = this.job(key, e);
    const proc = this.procOf(e);
    const others = job.spans.filter((s) => s.proc !== proc || s.lease !== e.lease);
    // a second claim while the first still holds its lease is concurrency, not a retry
    if (others.length === 0) this.attempt(job, e);
    else job.attempts = Math.max(job.attempts, e.attempt ?? job.attempts + 1);
    if (others.length > 0) {
      const f = this.finding(job.unit ?? key, e, Math.min(...others.map((s) => s.start)));
      f.kinds.add('concurrent');
      for (const s of others) f.procs.add(s.proc);
      f.concurrent = Math.max(f.concurrent, others.length + 1);
    }
    job.spans = job.spans.filter((s) => s.proc !== proc || s.lease !== e.lease);
    job.spans.push({ proc, lease: e.lease === undefined ? undefined : own(e.lease), start: e.time });
  }

  private closeSpan(job: LiveJob, e: FeedbackEvent): void {
    const proc = this.procOf(e);
    const i = job.spans.findIndex((s) => (e.lease !== undefined ? s.lease === e.lease : s.proc === proc));
    if (i !== -1) job.spans.splice(i, 1);
  }

  private marked(key: string, e: FeedbackEvent): void {
    const job = this.live.get(key);
    if (job) {
      job.seen = e.time;
      if (job.reasons !== undefined && !job.retried) this.attempt(job, e);
      this.closeSpan(job, e);
      if (job.spans.length === 0) this.finish(key, job, 'marked');
    }
    const unit = e.version === undefined && job?.unit !== undefined ? job.unit : unitOf(e, key);
    this.countMark(unit, e);
    if (e.responseHash !== undefined && e.presentationId !== undefined) this.sameResponse(unit, e);
  }

  private countMark(key: string, e: FeedbackEvent): void {
    const f = this.findings.get(key);
    if (f?.marks) {
      f.kinds.add('marked-twice');
      f.marks++;
      f.procs.add(this.procOf(e));
      f.last = Math.max(f.last, e.time);
      return;
    }
    const packed = this.marks.get(key);
    if (packed === undefined) {
      this.marks.set(own(key), pack(e.time, this.procOf(e)));
      return;
    }
    const firstTime = unpackTime(packed);
    const g = this.finding(key, e, firstTime);
    g.kinds.add('marked-twice');
    g.marks = 2;
    g.procs.add(unpackProc(packed));
  }

  private sameResponse(key: string, e: FeedbackEvent): void {
    const hash = e.responseHash!;
    const presentationId = e.presentationId!;
    const prev = this.hashes.get(hash);
    const versioned = e.version !== undefined;
    const ownKey = own(key);
    // an unversioned line's key is its job id: one copy serves both
    const jobId = e.jobId === undefined ? undefined : e.jobId === key ? ownKey : own(e.jobId);
    const proc = this.procOf(e);
    this.hashes.set(own(hash), { presentationId: own(presentationId), proc, time: e.time, key: ownKey, jobId, versioned });
    if (!prev || prev.presentationId !== presentationId || prev.proc === proc || Math.abs(e.time - prev.time) > this.windowMs) return;
    // the deterministic local analyser gives every version of a talk the same answer: not a duplicate
    if (versioned && prev.versioned && prev.key !== key) return;
    if (prev.key === key) {
      this.finding(key, e, prev.time).kinds.add('same-response');
      return;
    }
    const f = this.findings.get(prev.key) ?? this.finding(`h:${hash}`, e, prev.time);
    f.kinds.add('same-response');
    f.procs.add(prev.proc);
    f.procs.add(proc);
    if (prev.jobId !== undefined) f.jobIds.add(prev.jobId);
    if (e.jobId !== undefined) f.jobIds.add(own(e.jobId));
    f.marks = Math.max(f.marks, 2);
    f.last = Math.max(f.last, e.time);
  }

  private failed(key: string, e: FeedbackEvent): void {
    const job = this.job(key, e);
    if (job.attempts === 0) job.attempts = e.attempt ?? 1;
    this.closeSpan(job, e);
    (job.reasons ??= []).push(own(`attempt ${e.attempt ?? job.attempts} failed${e.error ? `: ${e.error.slice(0, 80)}` : ''}`));
    if (e.final && job.spans.length === 0) this.finish(key, job, 'failed');
  }

  private leaseExpired(key: string, e: FeedbackEvent): void {
    const job = this.job(key, e);
    // the lease names the attempt; a bare pid (older lines) may match a process on any host
    const i = job.spans.findIndex((s) => (e.previousLease !== undefined ? s.lease === e.previousLease : this.procs[s.proc]!.pid === e.previousPid));
    const lost = i !== -1 ? { ...this.procs[job.spans[i]!.proc]! } : e.previousPid !== undefined ? { host: undefined, pid: e.previousPid } : undefined;
    if (i !== -1) job.spans.splice(i, 1);
    else if (e.previousLease !== undefined) this.expiredEarly.set(own(e.previousLease), { lost, time: e.time });
    if (lost) (job.lost ??= []).push(lost);
    (job.reasons ??= []).push(`lease expired${e.previousPid !== undefined ? ` (pid ${e.previousPid})` : ''}`);
  }

  private finding(key: string, e: FeedbackEvent, first: number): Finding {
    let f = this.findings.get(key);
    if (!f) {
      f = { presentationId: e.presentationId === undefined ? undefined : own(e.presentationId), jobIds: new Set(), kinds: new Set(), marks: 0, concurrent: 0, procs: new Set(), first, last: e.time };
      if (e.jobId !== undefined) f.jobIds.add(own(e.jobId));
      this.findings.set(own(key), f);
    }
    f.procs.add(this.procOf(e));
    f.first = Math.min(f.first, first);
    f.last = Math.max(f.last, e.time);
    return f;
  }

  private finish(key: string, job: LiveJob, outcome: Retry['outcome']): void {
    this.live.delete(key);
    if (!job.retried) return;
    if (this.retryList.length < this.maxRetries) {
      this.retryList.push({ presentationId: job.presentationId, jobId: key.startsWith('p:') ? undefined : key, attempts: Math.max(job.attempts, 2), reasons: job.reasons ?? [], outcome, lost: job.lost ?? [] });
    }
  }

  // Drops response hashes older than the window and jobs silent for an hour (a crash nobody took over).
  private sweep(): void {
    const horizon = this.clock - this.windowMs;
    for (const [k, v] of this.hashes) if (v.time < horizon) this.hashes.delete(k);
    const stale = this.clock - Math.max(STALE_MS, this.windowMs);
    for (const [k, job] of this.live) if (job.seen < stale) this.finish(k, job, 'unfinished');
    for (const [k, v] of this.expiredEarly) if (v.time < stale) this.expiredEarly.delete(k);
  }

  private describe(procs: Set<number>): Pick<Duplicate, 'pids' | 'hosts' | 'processes'> {
    const processes = [...procs].map((n) => this.procs[n]!).sort((a, b) => byText(a.host ?? '', b.host ?? '') || a.pid - b.pid);
    return {
      pids: [...new Set(processes.map((p) => p.pid))].sort((a, b) => a - b),
      hosts: [...new Set(processes.map((p) => p.host).filter((h): h is string => h !== undefined))].sort(),
      processes,
    };
  }

  /** Ends the analysis: jobs still open are reported as they stand. */
  result(): { duplicates: Duplicate[]; retries: Retry[]; retryCount: number; jobs: number } {
    for (const [k, job] of this.live) this.finish(k, job, 'unfinished');
    const duplicates = [...this.findings.values()]
      .map((f) => ({
        presentationId: f.presentationId,
        jobIds: [...f.jobIds].sort(),
        kinds: [...f.kinds].sort(),
        count: Math.max(f.marks, f.concurrent),
        ...this.describe(f.procs),
        first: f.first,
        last: f.last,
      }))
      .sort((a, b) => a.first - b.first);
    return { duplicates, retries: this.retryList, retryCount: this.retries, jobs: this.marks.size };
  }
}
