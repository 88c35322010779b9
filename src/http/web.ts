import type { FastifyInstance } from 'fastify';

// Placeholder until the web page lands; replaced wholesale by it.
export async function webRoutes(_app: FastifyInstance): Promise<void> {}
