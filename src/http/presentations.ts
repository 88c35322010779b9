import { isUtf8 } from 'node:buffer';
import multipart from '@fastify/multipart';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { PptxError } from '../feedback/pptx/errors.js';
import { readPptxIsolated } from '../feedback/pptx/isolated.js';
import { PPTX_LIMITS, PPTX_MEDIA_TYPE } from '../feedback/pptx/limits.js';
import { IdempotencyConflictError, InvalidCursorError, type InputLanguage, type Store } from '../store/types.js';
import { ROW_ID } from '../store/ids.js';
import { HttpError } from './errors.js';
import { markdownTitle } from './markdown-title.js';
import type { queueCap } from './queue-cap.js';
import { routeLimit } from './rate-limit.js';

export interface PresentationRoutesOptions {
  store: Store;
  jobAttempts: number;
  adminToken: string | undefined;
  /** Per minute per client, for creates and (counted apart) regenerations; 0 = no limit. */
  rateLimit: number;
  queue: ReturnType<typeof queueCap>;
  /** Called after a job was queued, to wake the job runners. */
  onEnqueue: () => void;
  checkAdmin: (request: FastifyRequest) => void;
}

const LANGUAGES = ['de', 'en', 'auto'] as const;

const createBody = {
  type: 'object',
  required: ['title', 'content'],
  additionalProperties: false,
  properties: {
    title: { type: 'string', minLength: 1, maxLength: 200 },
    content: { type: 'string', minLength: 1 },
    language: { type: 'string', enum: LANGUAGES },
    targetMinutes: { type: 'number', exclusiveMinimum: 0, maximum: 600 },
  },
} as const;

const textQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    title: { type: 'string', minLength: 1, maxLength: 200 },
    language: { type: 'string', enum: LANGUAGES },
    targetMinutes: { type: 'string', pattern: '^[0-9]+(\\.[0-9]+)?$' },
  },
} as const;

interface CreateJson {
  title: string;
  content: string;
  language?: InputLanguage;
  targetMinutes?: number;
}
interface TextQuery {
  title?: string;
  language?: InputLanguage;
  targetMinutes?: string;
}

function requireId(id: string): string {
  // only the ids the stores make can be found (src/store/ids.ts)
  if (!ROW_ID.test(id)) throw new HttpError(404, 'NOT_FOUND', `no presentation with id \`${id.slice(0, 64)}\``);
  return id;
}

/** A Markdown or plain-text body: the title comes from ?title= or the first heading. */
function fromText(body: string, query: TextQuery): CreateJson {
  const title = query.title ?? markdownTitle(body);
  if (!title) throw new HttpError(400, 'VALIDATION', 'title: is required: pass ?title= or start the text with a # heading');
  const minutes = query.targetMinutes === undefined ? undefined : Number(query.targetMinutes);
  if (minutes !== undefined && (minutes <= 0 || minutes > 600)) throw new HttpError(400, 'VALIDATION', 'targetMinutes: must be > 0 and <= 600');
  return { title: title.slice(0, 200), content: body, language: query.language, targetMinutes: minutes };
}

/** A .pptx: its slides, bullets and speaker notes become the talk's Markdown (README "PowerPoint"). */
async function fromPptx(body: Buffer, query: TextQuery): Promise<CreateJson> {
  let talk;
  try {
    talk = await readPptxIsolated(body);
  } catch (error) {
    if (error instanceof PptxError) throw new HttpError(error.statusCode, error.code, error.message);
    throw error;
  }
  const title = query.title ?? talk.title;
  if (!title) throw new HttpError(400, 'VALIDATION', 'title: is required: pass ?title= (the deck has no slide title)');
  return { ...fromText(talk.markdown, { ...query, title }), title: title.slice(0, 200) };
}

const FIELD_NUMBER = /^[0-9]{1,3}(?:\.[0-9]{1,2})?$/;

// The page's upload: fields title, language, targetMinutes and one file (.pptx, .md or .txt).
async function fromMultipart(request: FastifyRequest): Promise<CreateJson> {
  const query: TextQuery = {};
  let file: { name: string; type: string; data: Buffer } | undefined;
  for await (const part of request.parts()) {
    if (part.type === 'file') {
      if (file !== undefined) throw new HttpError(400, 'VALIDATION', 'file: send one file per talk');
      file = { name: part.filename, type: part.mimetype, data: await part.toBuffer() };
    } else if (part.fieldname === 'title' || part.fieldname === 'language' || part.fieldname === 'targetMinutes') {
      const value = String(part.value);
      if (value !== '') query[part.fieldname] = value as never;
    } else {
      throw new HttpError(400, 'VALIDATION', `${part.fieldname.slice(0, 40)}: is not a known field (title, language, targetMinutes, file)`);
    }
  }
  if (query.language !== undefined && !(LANGUAGES as readonly string[]).includes(query.language)) throw new HttpError(400, 'VALIDATION', 'language: must be one of "de", "en", "auto"');
  if (query.targetMinutes !== undefined && !FIELD_NUMBER.test(query.targetMinutes)) throw new HttpError(400, 'VALIDATION', 'targetMinutes: must be a number of minutes, e.g. 20');
  if (query.title !== undefined && query.title.length > 200) throw new HttpError(400, 'VALIDATION', 'title: must NOT have more than 200 characters');
  if (file === undefined) throw new HttpError(400, 'VALIDATION', 'file: is required: attach a .pptx, .md or .txt file');
  if (/\.pptx$/i.test(file.name) || file.type === PPTX_MEDIA_TYPE) return fromPptx(file.data, query);
  if (/\.(?:md|markdown|txt)$/i.test(file.name)) return fromText(file.data.toString('utf8'), query);
  throw new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', `file: \`${file.name.slice(0, 80)}\` is not a .pptx, .md or .txt file; export the deck as .pptx`);
}

export async function presentationRoutes(app: FastifyInstance, options: PresentationRoutesOptions): Promise<void> {
  const { store, jobAttempts, queue } = options;
  const limit = (group: string) => (options.rateLimit > 0 ? { rateLimit: routeLimit(group, options.rateLimit) } : {});
  // Both only in this plugin: a .pptx body, and the page's multipart upload, up to PPTX_LIMITS.fileBytes.
  app.addContentTypeParser(PPTX_MEDIA_TYPE, { parseAs: 'buffer', bodyLimit: PPTX_LIMITS.fileBytes }, (_request, body, done) => done(null, body));
  await app.register(multipart, { limits: { fileSize: PPTX_LIMITS.fileBytes, files: 1, fields: 3, fieldSize: 1024, parts: 4 } });

  app.post<{ Body: CreateJson | string | Buffer; Querystring: TextQuery; Headers: { 'idempotency-key'?: string } }>(
    '/api/presentations',
    {
      config: limit('create'),
      schema: {
        querystring: textQuery,
        headers: { type: 'object', properties: { 'idempotency-key': { type: 'string', minLength: 1, maxLength: 255 } } },
        body: {
          content: {
            'application/json': { schema: createBody },
            'text/markdown': { schema: { type: 'string' } },
            'text/plain': { schema: { type: 'string' } },
          },
        },
      },
    },
    async (request, reply) => {
      const input = request.isMultipart()
        ? await fromMultipart(request)
        : Buffer.isBuffer(request.body) ? await fromPptx(request.body, request.query)
          : typeof request.body === 'string' ? fromText(request.body, request.query) : request.body;
      const title = input.title.trim();
      if (!title) throw new HttpError(400, 'VALIDATION', 'title: must not be empty');
      if (!input.content.trim()) throw new HttpError(400, 'VALIDATION', 'content: must not be empty');
      // U+0000 is no text (PostgreSQL cannot store it): refused the same on both stores
      for (const [field, value] of [['title', title], ['content', input.content]] as const) {
        if (value.includes('\u0000')) throw new HttpError(400, 'VALIDATION', `${field}: must not contain the NUL character (U+0000)`);
      }
      await queue.admit();
      let created;
      try {
        created = await store.createPresentation(
          { title, content: input.content, language: input.language ?? 'auto', targetMinutes: input.targetMinutes, idempotencyKey: request.headers['idempotency-key'] },
          jobAttempts,
        );
      } catch (error) {
        if (error instanceof IdempotencyConflictError) throw new HttpError(422, 'IDEMPOTENCY_KEY_REUSED', `Idempotency-Key: ${error.message}; use a new key for a new talk`);
        throw error;
      }
      if (!created.replayed) {
        queue.queued();
        options.onEnqueue();
      }
      const url = `/api/presentations/${created.id}`;
      if (created.replayed) reply.header('idempotent-replayed', 'true');
      return reply.code(201).header('location', url).send({ id: created.id, status: created.status, url });
    },
  );

  app.get<{ Params: { id: string } }>('/api/presentations/:id', async (request, reply) => {
    const id = requireId(request.params.id);
    // SQLite: the body as the fast path sends it (its bytes, kept between writes), here when the
    // fast path is off (an access log, debug) or left the request to the route. Bytes that are not
    // UTF-8 (http/fast-get.ts) and PostgreSQL take the view below.
    let bytes: Uint8Array | undefined;
    try {
      bytes = store.presentationBody?.(id);
    } catch {
      // the view's read says what is wrong (a store error), or reads what the body's SQL could not
    }
    if (bytes !== undefined && isUtf8(bytes)) {
      return reply.type('application/json; charset=utf-8').send(Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    }
    const record = await store.getPresentationRaw(id);
    if (!record) throw new HttpError(404, 'NOT_FOUND', `no presentation with id \`${request.params.id}\``);
    // The feedback is stored as JSON: splice it in rather than parse and serialise it again.
    const { feedbackJson, ...view } = record;
    const head = JSON.stringify(view);
    return reply.type('application/json; charset=utf-8').send(`${head.slice(0, -1)},"feedback":${feedbackJson ?? 'null'}}`);
  });

  app.post<{ Params: { id: string } }>('/api/presentations/:id/feedback', { config: limit('regenerate') }, async (request, reply) => {
    const id = requireId(request.params.id);
    await queue.admit();
    const queued = await store.requestFeedback(id, jobAttempts);
    if (!queued) throw new HttpError(404, 'NOT_FOUND', `no presentation with id \`${request.params.id}\``);
    queue.queued();
    options.onEnqueue();
    return reply.code(202).send({ id: request.params.id, version: queued.version, status: 'pending' });
  });

  app.get<{ Querystring: { limit?: string; cursor?: string } }>(
    '/api/presentations',
    {
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { limit: { type: 'string', pattern: '^[0-9]{1,3}$' }, cursor: { type: 'string', maxLength: 200 } },
        },
      },
    },
    async (request) => {
      options.checkAdmin(request);
      const limit = request.query.limit === undefined ? 20 : Number(request.query.limit);
      if (limit < 1 || limit > 100) throw new HttpError(400, 'VALIDATION', 'limit: must be from 1 to 100');
      try {
        return await store.listPresentations(limit, request.query.cursor);
      } catch (error) {
        if (error instanceof InvalidCursorError) throw new HttpError(400, 'VALIDATION', 'cursor: is not a nextCursor from an earlier page; leave it out to start at the newest');
        throw error;
      }
    },
  );
}
