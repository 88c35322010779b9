import { ProviderError } from './types.js';

// What a presenter may read about a failed feedback. The provider's own message names internal
// URLs, ports and settings: it stays in the log and in jobs.last_error for the operator.
export function publicErrorMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof ProviderError && error.status !== undefined) {
    if (error.status === 401 || error.status === 403) return 'The feedback model refused the server’s credentials: the operator needs to fix its configuration.';
    if (error.status === 429) return 'The feedback model is rate-limited right now (HTTP 429).';
    if (error.status >= 500) return `The feedback model failed (HTTP ${error.status}).`;
    return `The feedback model rejected the request (HTTP ${error.status}).`;
  }
  if (/\(timeout\)|timed out/i.test(message)) return 'The feedback model did not answer in time.';
  if (/not valid feedback JSON/i.test(message)) return 'The feedback model’s answer was not usable feedback.';
  if (error instanceof ProviderError) return 'The feedback model could not be reached.';
  return 'Feedback generation failed; the server log has the details.';
}
