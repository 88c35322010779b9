// The feedback contract of DESIGN.md, shared by every provider.
export type Language = 'de' | 'en';

export interface SlideFeedback {
  index: number;
  title: string;
  notes: string[];
}

export interface Feedback {
  provider: string;
  model?: string;
  language: Language;
  score: number;
  summary: string;
  strengths: string[];
  improvements: string[];
  slides: SlideFeedback[];
  metrics: {
    slides: number;
    words: number;
    /** Spoken minutes from the notes; without notes the middle of estimatedMinutesRange. */
    estimatedMinutes: number;
    /** 'notes': from the speaker notes at 130 words/min; 'slides': 1–2 min per slide. */
    timeBasis?: 'notes' | 'slides';
    /** Words in the speaker notes (only when there are notes). */
    spokenWords?: number;
    /** [low, high] minutes from the slide count (only without notes). */
    estimatedMinutesRange?: [number, number];
    targetMinutes?: number;
    wordsPerSlideMax: number;
    readability: number;
  };
}

export interface FeedbackRequest {
  presentationId: string;
  title: string;
  content: string;
  /** 'auto' asks the provider to detect it. */
  language: Language | 'auto';
  targetMinutes?: number;
}

/** What a provider answers: the feedback as an object, or as its JSON text already. */
export type FeedbackResult = FeedbackObjectResult | FeedbackJsonResult;

export interface FeedbackObjectResult {
  feedback: Feedback;
  /** The provider's raw answer, hashed into `responseHash` in the log. */
  raw: string;
}

/**
 * The feedback as its JSON text (the local analyser's threads): the event loop copies one string
 * out of the thread instead of a tree of thousands of slide objects, and the store writes it as
 * it is. `responseHash` is the SHA-256 (hex) of that text, the analyser's raw answer.
 */
export interface FeedbackJsonResult {
  feedbackJson: string;
  provider: string;
  responseHash: string;
}

export interface FeedbackProvider {
  readonly name: string;
  /** Rejects on failure; the job runner retries. `signal` aborts when the lease is lost or the worker stops. */
  generate(request: FeedbackRequest, signal: AbortSignal): Promise<FeedbackResult>;
}

/**
 * A failed provider call. `retryable: false` ends the job at once (e.g. 401, a bad request);
 * `retryAfterMs` (from a Retry-After header) is a floor for the next attempt's delay.
 */
export class ProviderError extends Error {
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;
  readonly status: number | undefined;

  constructor(message: string, options: { retryable?: boolean; retryAfterMs?: number; status?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ProviderError';
    this.retryable = options.retryable ?? true;
    this.retryAfterMs = options.retryAfterMs;
    this.status = options.status;
  }
}
