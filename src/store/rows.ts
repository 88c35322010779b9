// What both stores share: the request hash of an idempotent create, and a row's public view.
import { createHash } from 'node:crypto';
import type { NewPresentation, PresentationView } from './types.js';

/**
 * The digest a replayed Idempotency-Key is compared with (a different body is a 422). Without a
 * key there is nothing to compare: no hash, and a create does not pay a SHA-256 of its talk.
 */
export function requestHash(input: NewPresentation): string | null {
  if (input.idempotencyKey === undefined) return null;
  return createHash('sha256').update(JSON.stringify([input.title, input.content, input.language, input.targetMinutes ?? null])).digest('hex');
}

export interface PresentationRow {
  id: string;
  title: string;
  language: string;
  created_at: number;
  status: string;
  attempts: number;
  error: string | null;
  feedback: string | null;
}

export type RawPresentationView = Omit<PresentationView, 'feedback'> & { feedbackJson: string | null };

/** A presentation row as the API shows it, its feedback still JSON text (spliced in by the route). */
export function toRawView(row: PresentationRow): RawPresentationView {
  return {
    id: row.id,
    title: row.title,
    language: row.language,
    createdAt: new Date(row.created_at).toISOString(),
    status: row.status as PresentationView['status'],
    attempts: row.attempts,
    ...(row.error === null ? {} : { error: row.error }),
    feedbackJson: row.feedback,
  };
}
