import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { DatabaseUnavailableError } from '../records/database-unavailable.ts';
import { ConfigEditError } from '../routing/config-edits.ts';
import type { RoutingAdmin } from '../routing/routing-admin.ts';
import { requireRole, type TokenAuth } from './auth.ts';
import { AgentConfigView, errors, NoContent, QueueConfigView } from './schemas/responses.ts';

export interface RoutingAdminRouteDeps {
  admin: RoutingAdmin;
  auth: TokenAuth;
}

/** Names and ids are checked by RoutingAdmin (a bad one is a 422 with its path), not here. */
const QueueName = z.object({ name: z.string().max(200) });
const AgentId = z.object({ id: z.string().max(200) });
/** A refused change: 404 unknown, 409 conflict, in use or busy, 422 invalid (with paths). */
const REFUSED = errors(404, 409, 422);

/**
 * Queue and agent configuration at run time: reading for admins and supervisors, changes for
 * admins. A body is validated as a whole by RoutingAdmin: invalid → 422 `config_invalid` with
 * every error's JSON path; a change the routing state refuses (dropping a ringing agent or a
 * queue with waiting calls) → 409 `config_conflict`; a queue a published flow or another
 * queue's overflow still names → 409 `queue_in_use`. Removing a queue reads the active flows
 * from Postgres: unreachable → 503 `database_unavailable` (as the audit's 503
 * `audit_unavailable` before it, try again). Nothing changes on any error.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function registerRoutingAdminRoutes(app: FastifyInstance<any, any, any, any, any>, deps: RoutingAdminRouteDeps): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const read = requireRole(deps.auth, ['admin', 'supervisor']);
  const write = requireRole(deps.auth, ['admin']);
  const refused = (reply: FastifyReply, err: unknown) => {
    if (!(err instanceof ConfigEditError)) throw err;
    return reply.status(err.status).send({ error: err.errorId, message: err.message, ...(err.errors.length ? { errors: err.errors } : {}) });
  };

  r.get('/queues', { preHandler: read, schema: { response: { 200: z.strictObject({ queues: z.array(QueueConfigView) }) } } }, async () => ({ queues: [...deps.admin.queues()] }));

  r.get('/queues/:name', { preHandler: read, schema: { params: QueueName, response: { 200: QueueConfigView, ...errors(404) } } }, async (req, reply) => {
    const queue = deps.admin.queue(req.params.name);
    if (!queue) return reply.status(404).send({ error: 'queue_not_found', message: `no queue ${req.params.name}` });
    return queue;
  });

  r.put('/queues/:name', { preHandler: write, schema: { params: QueueName, response: { 200: QueueConfigView, 201: QueueConfigView, ...REFUSED } } }, async (req, reply) => {
    try {
      const { queue, created } = await deps.admin.putQueue(req.params.name, req.body, req.principal!.name);
      return reply.status(created ? 201 : 200).send(queue);
    } catch (err) {
      return refused(reply, err);
    }
  });

  r.delete('/queues/:name', { preHandler: write, schema: { params: QueueName, response: { 204: NoContent, ...REFUSED, ...errors(503) } } }, async (req, reply) => {
    try {
      await deps.admin.removeQueue(req.params.name, req.principal!.name);
      return reply.status(204).send(null);
    } catch (err) {
      if (!(err instanceof DatabaseUnavailableError)) return refused(reply, err);
      req.log.error({ err: err.message, queue: req.params.name }, 'queue not removed: the active flows could not be read');
      return reply.status(503).send({ error: 'database_unavailable', message: 'the flows in use could not be read from the database; nothing was changed, try again' });
    }
  });

  r.get('/agents/:id/config', { preHandler: read, schema: { params: AgentId, response: { 200: AgentConfigView, ...errors(404) } } }, async (req, reply) => {
    const agent = deps.admin.agent(req.params.id);
    if (!agent) return reply.status(404).send({ error: 'agent_not_found', message: `no agent ${req.params.id}` });
    return agent;
  });

  r.put('/agents/:id/config', { preHandler: write, schema: { params: AgentId, response: { 200: AgentConfigView, 201: AgentConfigView, ...REFUSED } } }, async (req, reply) => {
    try {
      const { agent, created } = await deps.admin.putAgent(req.params.id, req.body, req.principal!.name);
      return reply.status(created ? 201 : 200).send(agent);
    } catch (err) {
      return refused(reply, err);
    }
  });

  r.delete('/agents/:id/config', { preHandler: write, schema: { params: AgentId, response: { 204: NoContent, ...REFUSED } } }, async (req, reply) => {
    try {
      await deps.admin.removeAgent(req.params.id, req.principal!.name);
      return reply.status(204).send(null);
    } catch (err) {
      return refused(reply, err);
    }
  });
}
