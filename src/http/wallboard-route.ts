import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';

const PAGE = resolve(import.meta.dirname, 'wallboard/wallboard.html');

/**
 * GET /wallboard: one static page (HTML, CSS and script inline, no framework). It holds no
 * data: the supervisor gives a token (or logs in), and the page reads /live/ws and
 * /reports/calls with it. Read once at startup; the page is a few kilobytes.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function registerWallboardRoute(app: FastifyInstance<any, any, any, any, any>): void {
  const html = readFileSync(PAGE, 'utf8');
  const page = { content: { 'text/html': { schema: z.string().describe('the wallboard page') } } };
  app.get('/wallboard', { schema: { response: { 200: page } } }, async (_req, reply) =>
    reply
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-cache')
      // Inline script and style only; data comes from this origin (fetch and the WebSocket).
      .header('content-security-policy', "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self' ws: wss:; img-src 'self' data:; frame-ancestors 'none'")
      .header('referrer-policy', 'no-referrer')
      .send(html),
  );
}
