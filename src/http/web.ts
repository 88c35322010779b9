import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

// dist/http/web.js (and src/http/web.ts) → the package's public/ folder.
const PUBLIC_DIR = new URL('../../public/', import.meta.url);

const ASSETS = [
  { route: '/', file: 'index.html', type: 'text/html; charset=utf-8' },
  { route: '/app.js', file: 'app.js', type: 'text/javascript; charset=utf-8' },
  { route: '/app.css', file: 'app.css', type: 'text/css; charset=utf-8' },
] as const;

export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'self'",
].join('; ');

interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

// The ETag lets browsers revalidate cheaply; no-cache makes them revalidate after an upgrade.
function sendAsset(asset: Asset, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  reply
    .header('Content-Security-Policy', CONTENT_SECURITY_POLICY)
    .header('X-Content-Type-Options', 'nosniff')
    .header('Referrer-Policy', 'no-referrer')
    .header('Cache-Control', 'no-cache')
    .header('ETag', asset.etag);
  const match = request.headers['if-none-match'];
  if (match !== undefined && match.split(',').some((tag) => tag.trim().replace(/^W\//, '') === asset.etag)) {
    return reply.code(304).send();
  }
  return reply.type(asset.type).send(asset.body);
}

/** The presenter's web page: GET /, /app.js and /app.css, read once at start-up. */
export async function webRoutes(app: FastifyInstance): Promise<void> {
  for (const { route, file, type } of ASSETS) {
    const body = await readFile(new URL(file, PUBLIC_DIR));
    const asset: Asset = { body, type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` };
    app.get(route, (request, reply) => sendAsset(asset, request, reply));
  }
}
