import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AuditContext, AuditEntry, AuditStore } from '../records/audit-store.ts';
import { requireRole, type TokenAuth } from './auth.ts';

type Params = Record<string, string>;

/** Reads the state a change touches, so the audit row holds it before and after; async readers may ask Postgres. */
export interface AuditReaders {
  numberFlow(number: string): unknown;
  activeFlowVersion(id: string): unknown;
  queue(name: string): unknown;
  agent(id: string): unknown;
}

export interface AuditDeps {
  store: AuditStore;
  readers: AuditReaders;
  auth: TokenAuth;
}

/** Which routes are admin changes, and how to read what each one changes. Without a reader the answer's body is the "after". */
const AUDITED: Record<string, ((r: AuditReaders, p: Params) => unknown) | null> = {
  'POST /flows/:id/versions': (r, p) => r.activeFlowVersion(p.id!),
  'POST /flows/:id/rollback': (r, p) => r.activeFlowVersion(p.id!),
  'PUT /business-hours/:flow/:node': (r, p) => r.activeFlowVersion(p.flow!),
  'PUT /numbers/:number': (r, p) => r.numberFlow(p.number!),
  'DELETE /numbers/:number': (r, p) => r.numberFlow(p.number!),
  'PUT /queues/:name': (r, p) => r.queue(p.name!),
  'DELETE /queues/:name': (r, p) => r.queue(p.name!),
  'PUT /agents/:id/config': (r, p) => r.agent(p.id!),
  'DELETE /agents/:id/config': (r, p) => r.agent(p.id!),
  'POST /emergency': null,
  'DELETE /emergency': null,
};
/**
 * Changes whose store writes the audit row in the change's own transaction (given
 * `auditContext(req)`): the hook leaves them alone, and a failed audit write undoes the change.
 */
export const AUDITED_IN_TRANSACTION = new Set([
  'POST /keys',
  'DELETE /keys/:id',
  'POST /users',
  'DELETE /users/:username',
  'PUT /users/:username/role',
  'PUT /users/:username/password',
  'POST /auth/password',
]);
/** Never written to the log: a new key is shown once, to its creator. */
const SECRET_FIELDS = new Set(['key', 'password', 'token']);

declare module 'fastify' {
  interface FastifyRequest {
    auditBefore?: unknown;
  }
}

/**
 * One writer for the audit trail: every successful admin change (the AUDITED routes) appends
 * who, what, when and the state before and after, read around the handler. Reading and
 * writing are not one transaction with the change: two admins editing the same thing at once
 * may see each other's change in a row's "before". A failed append is logged at error, and
 * the change stands.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function installAudit(app: FastifyInstance<any, any, any, any, any>, deps: AuditDeps): void {
  app.addHook('preHandler', async (req) => {
    const read = AUDITED[routeOf(req)];
    if (read) req.auditBefore = await read(deps.readers, req.params as Params);
  });
  app.addHook('onSend', async (req, reply, payload) => {
    const route = routeOf(req);
    if (!(route in AUDITED) || reply.statusCode >= 300 || !req.principal) return payload;
    const read = AUDITED[route];
    const entry: AuditEntry = {
      actor: req.principal.name,
      action: route,
      target: targetOf(req),
      before: read ? (req.auditBefore ?? null) : null,
      after: read ? ((await read(deps.readers, req.params as Params)) ?? null) : redact(payload),
    };
    await deps.store.append(entry).catch((err: unknown) => req.log.error({ err: (err as Error).message, action: route }, 'audit row not written'));
    return payload;
  });

  const r = app.withTypeProvider<ZodTypeProvider>();
  r.get(
    '/audit',
    { preHandler: requireRole(deps.auth, ['admin']), schema: { querystring: z.strictObject({ limit: z.coerce.number().int().min(1).max(500).default(100), beforeId: z.coerce.number().int().min(1).optional(), action: z.string().max(100).optional() }) } },
    async (req) => ({ entries: await deps.store.list(req.query) }),
  );
}

/** Who is changing what, for a store that writes the audit row itself: the same actor, action and target the hook would write. */
export function auditContext(req: FastifyRequest): AuditContext {
  return { actor: req.principal?.name ?? 'unknown', action: routeOf(req), target: targetOf(req) };
}

function routeOf(req: FastifyRequest): string {
  return `${req.method} ${req.routeOptions.url}`;
}

function targetOf(req: FastifyRequest): string {
  return Object.entries((req.params ?? {}) as Params).map(([k, v]) => `${k}=${v}`).join(',') || '-';
}

function redact(payload: unknown): unknown {
  if (typeof payload !== 'string') return null;
  try {
    const body = JSON.parse(payload) as unknown;
    if (!body || typeof body !== 'object' || Array.isArray(body)) return body;
    return Object.fromEntries(Object.entries(body).filter(([k]) => !SECRET_FIELDS.has(k)));
  } catch {
    return null;
  }
}
