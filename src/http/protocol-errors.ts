import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { sendError } from './errors.js';

// Headers every API answer carries (app.ts adds them in onSend; the raw answers below by hand).
export const API_HEADERS = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' } as const;

interface Refusal {
  status: number;
  code: string;
  message: string;
}

// Node's HTTP parser (llhttp) rejects these before Fastify sees a request.
function describeClientError(error: NodeJS.ErrnoException & { reason?: string }): Refusal {
  switch (error.code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, code: 'REQUEST_TIMEOUT', message: 'the request was not received in time' };
    case 'HPE_HEADER_OVERFLOW':
      return { status: 431, code: 'HEADERS_TOO_LARGE', message: 'the request line and headers are larger than 16 KiB' };
    case 'HPE_INVALID_METHOD':
      return { status: 501, code: 'METHOD_NOT_IMPLEMENTED', message: 'unknown HTTP method: use GET, HEAD or POST' };
    case 'HPE_INVALID_CONTENT_LENGTH':
    case 'HPE_UNEXPECTED_CONTENT_LENGTH':
      return { status: 400, code: 'BAD_CONTENT_LENGTH', message: 'the Content-Length header is not a single non-negative number, or comes with Transfer-Encoding' };
    case 'HPE_INVALID_URL':
      return { status: 400, code: 'BAD_URL', message: 'the request target is not a valid URL path' };
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return { status: 413, code: 'BODY_TOO_LARGE', message: 'the chunk extensions are too large' };
    default:
      return { status: 400, code: 'BAD_REQUEST', message: `the request is not valid HTTP/1.1${error.reason ? ` (${error.reason.toLowerCase()})` : ''}` };
  }
}

/** Fastify's clientErrorHandler: the same {"error":{code,message}} body as every other answer. */
export function clientErrorHandler(error: NodeJS.ErrnoException, socket: Socket): void {
  const pending = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  if (socket.writable && !pending?.headersSent) {
    const { status, code, message } = describeClientError(error);
    const body = JSON.stringify({ error: { code, message } });
    const headers = [
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}`,
      'connection: close',
      'content-type: application/json; charset=utf-8',
      `content-length: ${Buffer.byteLength(body)}`,
      ...Object.entries(API_HEADERS).map(([name, value]) => `${name}: ${value}`),
    ];
    socket.write(`${headers.join('\r\n')}\r\n\r\n${body}`);
  }
  socket.destroy(error);
}

/** Fastify's frameworkErrors: a URL that cannot be decoded, a path parameter that is too long. */
export function frameworkErrors(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  reply.headers(API_HEADERS);
  if (error.code === 'FST_ERR_BAD_URL') {
    void sendError(reply, 400, 'BAD_URL', 'the URL is not valid: check its percent-encoding (%XX)');
  } else if (error.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    void sendError(reply, 414, 'URI_TOO_LONG', 'a path segment of the URL is longer than 100 characters');
  } else {
    void sendError(reply, 500, 'INTERNAL', 'internal error; the server log has the details');
  }
}
