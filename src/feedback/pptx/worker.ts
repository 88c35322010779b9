// The worker thread that reads one .pptx (isolated.ts): its event loop, heap and CPU time are
// its own, so a hostile deck cannot stall the server's requests or grow its heap.
import { parentPort, workerData } from 'node:worker_threads';
import { PptxError } from './errors.js';
import { readPptx } from './read.js';

const port = parentPort;
if (port !== null) {
  readPptx(Buffer.from(workerData as Uint8Array)).then(
    // title and Markdown only: the slides' objects would cost the request's event loop ~25 ms to
    // copy in for the largest deck, and the route reads nothing else
    (talk) => port.postMessage({ ok: true, talk: { title: talk.title, markdown: talk.markdown } }),
    (error: unknown) => port.postMessage(error instanceof PptxError
      ? { ok: false, refused: { statusCode: error.statusCode, code: error.code, message: error.message } }
      : { ok: false, failed: error instanceof Error ? error.message : String(error) }),
  );
}
