// Reads selected parts of a zip within PPTX_LIMITS, with yauzl: it checks each entry's name
// (no absolute or ../ paths) and that an entry inflates to exactly its declared size, so a
// lying header cannot make it inflate more than the caps below allow. Inflating is zlib's,
// off the event loop.
import yauzl from 'yauzl';
import type { Entry, ZipFile } from 'yauzl';
import { PptxError } from './errors.js';
import { PPTX_LIMITS } from './limits.js';

const OLE2 = Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]);
const ZIP = Buffer.from([0x50, 0x4b]);

export interface ZipReader {
  /** Every entry name, as listed in the central directory. */
  names: ReadonlySet<string>;
  /** The entry's text (UTF-8), or undefined when the zip has no such entry. */
  read(name: string): Promise<string | undefined>;
  close(): void;
}

const bomb = (detail: string): PptxError =>
  new PptxError(413, 'PPTX_TOO_LARGE', `the .pptx inflates too far (${detail}); a deck's text is far smaller — save it again from PowerPoint or LibreOffice, without embedded files`);

function open(buffer: Buffer): Promise<ZipFile> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(buffer, { lazyEntries: true, validateEntrySizes: true, decodeStrings: true }, (error, zip) => {
      if (error !== null || zip === undefined) reject(new PptxError(400, 'PPTX_NOT_ZIP', `the body is not a .pptx (not a readable zip: ${error?.message ?? 'unknown'}); send the file PowerPoint or LibreOffice saved`));
      else resolve(zip);
    });
  });
}

function listEntries(zip: ZipFile): Promise<Map<string, Entry>> {
  return new Promise((resolve, reject) => {
    const entries = new Map<string, Entry>();
    let declared = 0;
    const fail = (error: PptxError): void => {
      zip.close();
      reject(error);
    };
    zip.on('entry', (entry: Entry) => {
      declared += entry.uncompressedSize;
      if (declared > PPTX_LIMITS.declaredBytes) return fail(bomb(`its entries declare more than ${PPTX_LIMITS.declaredBytes / 1024 / 1024} MiB`));
      if (entry.isEncrypted()) return fail(new PptxError(422, 'PPTX_ENCRYPTED', 'the .pptx is password-protected; remove the password (File → Info → Protect) and upload it again'));
      entries.set(entry.fileName, entry);
      zip.readEntry();
    });
    zip.on('end', () => resolve(entries));
    // yauzl reports bad names ("invalid relative path"), bad headers and truncation here.
    zip.on('error', (error: Error) => {
      const unsafe = /relative path|absolute path|invalid characters/i.test(error.message);
      fail(unsafe
        ? new PptxError(400, 'PPTX_UNSAFE_PATH', `the .pptx has an entry with an unsafe name (${error.message}); it was not made by an office program`)
        : new PptxError(400, 'PPTX_INVALID', `the .pptx is damaged (${error.message}); save it again and upload the new file`));
    });
    zip.readEntry();
  });
}

function readEntry(zip: ZipFile, entry: Entry, budget: { left: number }): Promise<string> {
  if (entry.uncompressedSize > PPTX_LIMITS.partBytes) return Promise.reject(bomb(`${entry.fileName} declares ${entry.uncompressedSize} bytes`));
  if (entry.uncompressedSize > budget.left) return Promise.reject(bomb(`its slides and notes exceed ${PPTX_LIMITS.readBytes / 1024 / 1024} MiB of XML`));
  budget.left -= entry.uncompressedSize;
  return new Promise((resolve, reject) => {
    zip.openReadStream(entry, (error, stream) => {
      if (error !== null) return reject(new PptxError(400, 'PPTX_INVALID', `the .pptx is damaged (${entry.fileName}: ${error.message}); save it again and upload the new file`));
      const chunks: Buffer[] = [];
      let size = 0;
      stream.on('data', (chunk: Buffer) => {
        size += chunk.length;
        // yauzl stops a stream that outgrows its declared size; this is the same bound, kept here too.
        if (size > entry.uncompressedSize) {
          stream.destroy();
          reject(bomb(`${entry.fileName} inflates past its declared size`));
          return;
        }
        chunks.push(chunk);
      });
      stream.on('error', (streamError: Error) => {
        reject(/too many bytes|expected/i.test(streamError.message)
          ? bomb(`${entry.fileName}: ${streamError.message}`)
          : new PptxError(400, 'PPTX_INVALID', `the .pptx is damaged (${entry.fileName}: ${streamError.message}); save it again and upload the new file`));
      });
      stream.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    });
  });
}

export async function openZip(buffer: Buffer): Promise<ZipReader> {
  if (buffer.subarray(0, 8).equals(OLE2)) {
    // Office saves a password-protected deck as an OLE2 container holding the encrypted package.
    throw new PptxError(422, 'PPTX_ENCRYPTED', 'the file is an encrypted or old-format (.ppt) presentation; remove the password or save it as .pptx, then upload it again');
  }
  if (!buffer.subarray(0, 2).equals(ZIP)) throw new PptxError(400, 'PPTX_NOT_ZIP', 'the body is not a .pptx (it does not start like a zip file); send the file PowerPoint or LibreOffice saved');
  const zip = await open(buffer);
  if (zip.entryCount > PPTX_LIMITS.entries) {
    zip.close();
    throw new PptxError(413, 'PPTX_TOO_MANY_ENTRIES', `the .pptx has ${zip.entryCount} entries; at most ${PPTX_LIMITS.entries} are read`);
  }
  const entries = await listEntries(zip);
  const budget = { left: PPTX_LIMITS.readBytes };
  return {
    names: new Set(entries.keys()),
    async read(name) {
      const entry = entries.get(name);
      return entry === undefined ? undefined : readEntry(zip, entry, budget);
    },
    close: () => zip.close(),
  };
}
