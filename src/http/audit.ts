import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AuditContext, AuditStore, StoredAuditEntry } from '../records/audit-store.ts';
import { requireRole, type TokenAuth } from './auth.ts';
import { addResponses } from './schemas/common-responses.ts';
import { Unavailable, type Covers } from './schemas/responses.ts';

type Params = Record<string, string>;

/** Reads the state a change touches, so the audit row holds it before and after; async readers may ask Postgres. */
export interface AuditReaders {
  queue(name: string): unknown;
  agent(id: string): unknown;
}

export interface AuditDeps {
  store: AuditStore;
  readers: AuditReaders;
  auth: TokenAuth;
}

/**
 * Admin changes that cannot share a transaction with their audit row: queue and agent
 * configuration lives in Redis, and emergency mode is several Postgres writes plus a notice to
 * the other instances. They are audited first: a 'pending' row with the state before is
 * written before the handler runs (if it cannot be, the change is refused: 503
 * `audit_unavailable`), then completed with the outcome and the state after. A crash in
 * between leaves the row 'pending' until its writer's beat goes stale, then any instance resolves
 * it as 'interrupted' (src/records/audit-beat.ts): the change may have been made, and the log
 * says so. How to read what each changes; without a reader the answer's body is the "after".
 */
const AUDITED_FIRST: Record<string, ((r: AuditReaders, p: Params) => unknown) | null> = {
  'PUT /queues/:name': (r, p) => r.queue(p.name!),
  'DELETE /queues/:name': (r, p) => r.queue(p.name!),
  'PUT /agents/:id/config': (r, p) => r.agent(p.id!),
  'DELETE /agents/:id/config': (r, p) => r.agent(p.id!),
  'POST /emergency': null,
  'DELETE /emergency': null,
};
/**
 * Changes stored in Postgres, whose store writes the audit row in the change's own transaction
 * (given `auditContext(req)`): the hook leaves them alone, and a failed audit write undoes the
 * change. Their "before" is read under a row lock in that transaction.
 */
export const AUDITED_IN_TRANSACTION = new Set([
  'POST /flows/:id/versions',
  'POST /flows/:id/rollback',
  'PUT /business-hours/:flow/:node',
  'PUT /numbers/:number',
  'DELETE /numbers/:number',
  'POST /keys',
  'DELETE /keys/:id',
  'POST /users',
  'DELETE /users/:username',
  'PUT /users/:username/role',
  'PUT /users/:username/password',
  'POST /auth/password',
]);
/** One row of the audit log; `before` and `after` are the changed thing's JSON as it was read, whatever its shape. */
const AuditRow = z.object({
  id: z.number(),
  at: z.string(),
  actor: z.string(),
  action: z.string(),
  target: z.string(),
  before: z.unknown(),
  after: z.unknown(),
  outcome: z.enum(['pending', 'applied', 'refused', 'failed', 'interrupted']),
});
true satisfies Covers<z.output<typeof AuditRow>, StoredAuditEntry>;
/** Never written to the log: a new key is shown once, to its creator. */
const SECRET_FIELDS = new Set(['key', 'password', 'token']);

declare module 'fastify' {
  interface FastifyRequest {
    /** The pending audit row of an AUDITED_FIRST change. */
    auditId?: number;
  }
}

/**
 * The audit trail of every admin change, who, what, when, before and after, one INSERT for all
 * (appendAudit in src/records/audit-store.ts). Postgres changes write it in their own
 * transaction (AUDITED_IN_TRANSACTION, through auditContext); this hook audits the others
 * first and completes the row with the outcome (AUDITED_FIRST). Either way no change is made
 * without its row. Two admins editing one queue at once may see each other's change in an
 * AUDITED_FIRST row's "before" (read in memory, not under a lock).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function installAudit(app: FastifyInstance<any, any, any, any, any>, deps: AuditDeps): void {
  // The refusal below answers instead of the route: declared on it, like the access guard's (install before the routes).
  app.addHook('onRoute', (r) => {
    if (r.schema && !r.schema.hide && [r.method].flat().some((m) => `${m} ${r.url}` in AUDITED_FIRST)) addResponses(r, { 503: Unavailable });
  });
  app.addHook('preHandler', async (req, reply) => {
    const route = routeOf(req);
    if (!(route in AUDITED_FIRST) || !req.principal) return;
    const read = AUDITED_FIRST[route];
    try {
      const before = read ? ((await read(deps.readers, req.params as Params)) ?? null) : null;
      req.auditId = await deps.store.begin({ actor: req.principal.name, action: route, target: targetOf(req), before });
    } catch (err) {
      req.log.error({ err: (err as Error).message, action: route }, 'audit row not written; change refused');
      return reply.status(503).send({ error: 'audit_unavailable', message: 'the change could not be audited, so it was not made; try again' });
    }
  });
  app.addHook('onSend', async (req, reply, payload) => {
    if (req.auditId === undefined) return payload;
    const route = routeOf(req);
    const read = AUDITED_FIRST[route];
    const outcome = reply.statusCode < 300 ? 'applied' : reply.statusCode < 500 ? 'refused' : 'failed';
    const after = outcome !== 'applied' ? null : read ? ((await read(deps.readers, req.params as Params)) ?? null) : redact(payload);
    // The row stays 'pending' if this fails (then 'interrupted' once this process stops): the log still shows the change was attempted.
    await deps.store.complete(req.auditId, outcome, after).catch((err: unknown) => req.log.error({ err: (err as Error).message, action: route }, 'audit row not completed'));
    return payload;
  });

  const r = app.withTypeProvider<ZodTypeProvider>();
  r.get(
    '/audit',
    { preHandler: requireRole(deps.auth, ['admin']), schema: { querystring: z.strictObject({ limit: z.coerce.number().int().min(1).max(500).default(100), beforeId: z.coerce.number().int().min(1).optional(), action: z.string().max(100).optional() }), response: { 200: z.strictObject({ entries: z.array(AuditRow) }) } } },
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
