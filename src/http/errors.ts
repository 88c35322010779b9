import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { StoreError } from '../store/types.js';

/** An error with an HTTP status and a stable code, answered as {"error":{"code","message"}}. */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    /** Extra response headers, e.g. Retry-After on a refusal. */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export function sendError(reply: FastifyReply, status: number, code: string, message: string): FastifyReply {
  return reply.code(status).type('application/json; charset=utf-8').send({ error: { code, message } });
}

interface AjvError {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
}

function describeValidation(error: FastifyError): string {
  const first = (error.validation as AjvError[] | undefined)?.[0];
  if (!first) return error.message;
  const path = first.instancePath.replace(/^\//, '').replaceAll('/', '.');
  const field = first.keyword === 'required' ? String(first.params.missingProperty) : first.keyword === 'additionalProperties' ? String(first.params.additionalProperty) : path;
  const where = field || (error.validationContext ?? 'body');
  if (first.keyword === 'required') return `${where}: is required`;
  if (first.keyword === 'additionalProperties') return `${where}: is not a known field`;
  if (first.keyword === 'enum') return `${where}: must be one of ${(first.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
  return `${where}: ${first.message ?? 'is invalid'}`;
}

// Client mistakes become 4xx with a message naming the problem; anything else is a 500 with a
// generic message (the stack goes to the log, never to the client).
export function errorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (error instanceof HttpError) return sendError(reply.headers(error.headers), error.statusCode, error.code, error.message);
  if (error instanceof StoreError) return sendStoreError(reply, error);
  if (error.validation) return sendError(reply, 400, 'VALIDATION', describeValidation(error));
  const status = error.statusCode ?? 500;
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return sendError(reply, 413, 'BODY_TOO_LARGE', `the request body is larger than the limit of ${request.routeOptions.bodyLimit ?? 0} bytes`);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return sendError(reply, 415, 'UNSUPPORTED_MEDIA_TYPE', `unsupported Content-Type \`${request.headers['content-type'] ?? ''}\`: send application/json, text/markdown or text/plain`);
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return sendError(reply, 400, 'INVALID_JSON', 'the body is empty but Content-Type is application/json');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return sendError(reply, 400, 'INVALID_BODY', 'the Content-Length header does not match the body');
    default:
      break;
  }
  if (error instanceof SyntaxError || error.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
    return sendError(reply, 400, 'INVALID_JSON', `the body is not valid JSON: ${error.message}`);
  }
  if (status >= 400 && status < 500) return sendError(reply, status, error.code ?? 'BAD_REQUEST', error.message);
  request.log.error({ event: 'http.error', err: error, path: request.url }, 'Request failed');
  return sendError(reply, 500, 'INTERNAL', 'internal error; the server log has the details');
}

// Not the client's mistake: 503 with Retry-After. A damaged file is STORE_UNAVAILABLE to the
// client (the detail is for the operator, in the message and on /readyz); the store logs the
// change of state once, so 85,000 refused requests do not write 85,000 error lines.
function sendStoreError(reply: FastifyReply, error: StoreError): FastifyReply {
  const code = error.code === 'STORAGE_FULL' ? 'STORAGE_FULL' : 'STORE_UNAVAILABLE';
  const message = error.code === 'STORAGE_FULL' ? 'the server\'s disk is full; reads work, writes will again once the operator frees space' : 'the server\'s database is unavailable; /readyz says why';
  return sendError(reply.header('retry-after', String(error.retryAfterSeconds)), 503, code, message);
}
