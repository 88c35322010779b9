// Reads a .pptx in a worker thread with a heap cap and a deadline, at most PARALLEL at a time per
// process (more wait their turn): the request's event loop only awaits the answer.
import { Worker } from 'node:worker_threads';
import { PptxError } from './errors.js';
import { PPTX_LIMITS } from './limits.js';
import type { PptxTalk } from './read.js';

const PARALLEL = 2;
let running = 0;
const waiting: Array<() => void> = [];

async function slot(): Promise<() => void> {
  if (running >= PARALLEL) await new Promise<void>((resolve) => waiting.push(resolve));
  running++;
  return () => {
    running--;
    waiting.shift()?.();
  };
}

/** What the request needs of a deck. */
export type PptxText = Pick<PptxTalk, 'title' | 'markdown'>;

type Answer =
  | { ok: true; talk: PptxText }
  | { ok: false; refused?: { statusCode: number; code: string; message: string }; failed?: string };

export async function readPptxIsolated(buffer: Buffer): Promise<PptxText> {
  if (buffer.length > PPTX_LIMITS.fileBytes) throw new PptxError(413, 'BODY_TOO_LARGE', `the .pptx is larger than ${PPTX_LIMITS.fileBytes / 1024 / 1024} MiB`);
  const release = await slot();
  try {
    return await new Promise<PptxText>((resolve, reject) => {
      const worker = new Worker(new URL('./worker.js', import.meta.url), {
        workerData: buffer,
        resourceLimits: { maxOldGenerationSizeMb: PPTX_LIMITS.workerHeapMb, maxYoungGenerationSizeMb: 32 },
      });
      let settled = false;
      const settle = (fn: () => void): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        fn();
        void worker.terminate();
      };
      const timer = setTimeout(() => settle(() => reject(new PptxError(422, 'PPTX_TOO_COMPLEX',
        `reading the .pptx took longer than ${PPTX_LIMITS.parseMs / 1000} s; save it again without embedded objects, or split it`))), PPTX_LIMITS.parseMs);
      worker.on('message', (answer: Answer) => settle(() => {
        if (answer.ok) resolve(answer.talk);
        else if (answer.refused !== undefined) reject(new PptxError(answer.refused.statusCode, answer.refused.code, answer.refused.message));
        else reject(new Error(`pptx worker: ${answer.failed ?? 'unknown failure'}`));
      }));
      worker.on('error', (error: Error & { code?: string }) => settle(() => reject(error.code === 'ERR_WORKER_OUT_OF_MEMORY'
        ? new PptxError(413, 'PPTX_TOO_LARGE', 'reading the .pptx needed more memory than allowed; save it again without embedded objects, or split it')
        : error)));
      worker.on('exit', (code) => settle(() => reject(new Error(`pptx worker exited with code ${code} before answering`))));
    });
  } finally {
    release();
  }
}
