import { createHash, timingSafeEqual } from 'node:crypto';
import websocket from '@fastify/websocket';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { LiveMetrics } from '../live/live-metrics.ts';
import type { LiveSnapshot } from '../live/live-snapshot.ts';
import type { LiveStats } from '../live/live-stats.ts';
import { mergePatchBetween } from '../live/merge-patch.ts';
import { AGENT_STATES } from '../routing/types.ts';
import type { Role, TokenAuth } from './auth.ts';
import { requireRole } from './auth.ts';
import { errors } from './schemas/responses.ts';

export interface LiveRouteDeps {
  live: LiveStats;
  metrics: LiveMetrics;
  auth: TokenAuth;
  /** When set, GET /metrics wants `Authorization: Bearer <it>`; otherwise it is open. */
  metricsToken: string | null;
}

const READERS: readonly Role[] = ['admin', 'supervisor', 'agent'];
/** A client this far behind gets no more messages until it drains; the next one catches it up. */
const MAX_BUFFERED_BYTES = 1 << 20;
const PING_EVERY_MS = 30_000;

const Counts = z.object({
  offered: z.number(),
  agentRequests: z.number(),
  reachedQueue: z.number(),
  answered: z.number(),
  abandoned: z.number(),
  shortAbandoned: z.number(),
  answeredWithinThreshold: z.number(),
  serviceLevelBase: z.number(),
  serviceLevel: z.number().nullable(),
});
const Agents = z.record(z.enum(AGENT_STATES), z.number());
const Snapshot = z.object({
  at: z.string(),
  day: z.string(),
  timeZone: z.string(),
  serviceLevelSeconds: z.number(),
  shortAbandonSeconds: z.number(),
  callsInIvr: z.number(),
  callsQueued: z.number(),
  callsTalking: z.number(),
  agents: Agents,
  today: Counts,
  queues: z.record(
    z.string(),
    z.object({
      waiting: z.number(),
      oldestEnqueuedAt: z.string().nullable(),
      longestWaitSeconds: z.number().nullable(),
      agents: Agents,
      today: Counts,
      serviceLevelSeconds: z.number(),
      shortAbandonSeconds: z.number(),
    }),
  ),
  emergency: z.object({ flow: z.string(), reason: z.string(), numbers: z.array(z.string()), since: z.string() }).nullable(),
});

/**
 * Live stats: GET /live (a snapshot), GET /live/ws (the snapshot on connect, then a JSON merge
 * patch after every change, at most every 200 ms) and GET /metrics (Prometheus). A browser
 * cannot set headers on a WebSocket, so /live/ws also takes the bearer token as `?token=`;
 * that route logs nothing below warn, so the URL (and the token in it) stays out of the logs.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function registerLiveRoutes(app: FastifyInstance<any, any, any, any, any>, deps: LiveRouteDeps): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.get('/live', { preHandler: requireRole(deps.auth, READERS), schema: { response: { 200: Snapshot } } }, () => deps.live.snapshot());

  const metricsDigest = deps.metricsToken ? digest(deps.metricsToken) : null;
  const metricsText = { content: { 'text/plain': { schema: z.string().describe('Prometheus text exposition format') } } };
  r.get('/metrics', { schema: { response: { 200: metricsText, ...errors(401) } } }, async (req, reply) => {
    if (metricsDigest) {
      const m = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
      if (!m || !timingSafeEqual(digest(m[1]!), metricsDigest)) return reply.status(401).send({ error: 'unauthorized', message: 'missing or invalid metrics token' });
    }
    return reply.type(deps.metrics.contentType).send(await deps.metrics.render());
  });

  await app.register(async (scope) => {
    await scope.register(websocket, { options: { maxPayload: 4096 } });
    scope.withTypeProvider<ZodTypeProvider>().get(
      '/live/ws',
      { websocket: true, logLevel: 'warn', preValidation: wsAuth(deps.auth), schema: { querystring: z.object({ token: z.string().optional() }) } },
      (socket) => {
        let last: LiveSnapshot | null = null;
        let alive = true;
        const send = (snap: LiveSnapshot) => {
          if (socket.readyState !== socket.OPEN || socket.bufferedAmount > MAX_BUFFERED_BYTES) return;
          if (!last) socket.send(JSON.stringify({ type: 'snapshot', snapshot: snap }));
          else {
            const patch = mergePatchBetween(last, snap);
            if (patch === undefined) return;
            socket.send(JSON.stringify({ type: 'patch', patch }));
          }
          last = snap;
        };
        // Listen first, then read: a change during the read is pushed after it.
        const off = deps.live.onChange(send);
        deps.live.snapshot().then(
          (snap) => {
            if (!last) send(snap);
          },
          () => socket.close(1011, 'live stats unavailable'),
        );
        socket.on('pong', () => (alive = true));
        const ping = setInterval(() => {
          if (!alive) return socket.terminate();
          alive = false;
          socket.ping();
        }, PING_EVERY_MS);
        socket.on('close', () => {
          off();
          clearInterval(ping);
        });
      },
    );
  });
}

/** Bearer token from the header, or from `?token=` for browsers; readers only. */
function wsAuth(auth: TokenAuth) {
  return async (req: FastifyRequest, reply: FastifyReply) => {
    const token = (req.query as { token?: string }).token;
    const who = (await auth.identify(req.headers.authorization)) ?? (token ? await auth.identify(`Bearer ${token}`) : null);
    if (!who) return reply.status(401).send({ error: 'unauthorized', message: 'missing or invalid bearer token' });
    if (!READERS.includes(who.role)) return reply.status(403).send({ error: 'forbidden', message: `role ${who.role} may not do this` });
    req.principal = who;
  };
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}
