import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { RoutingService } from '../routing/routing-service.ts';
import type { RoutingStore } from '../routing/routing-store.ts';
import { AGENT_STATES, RoutingError } from '../routing/types.ts';
import { mayActOnAgent, requireRole, type TokenAuth } from './auth.ts';
import { AgentStateChangeView, AgentView, errors } from './schemas/responses.ts';

export interface AgentRouteDeps {
  routing: RoutingService;
  store: RoutingStore;
  auth: TokenAuth;
}

const AgentId = z.object({ id: z.string().regex(/^[A-Za-z0-9_.@-]{1,64}$/) });
const Action = z.object({ id: AgentId.shape.id, action: z.enum(['login', 'logout', 'pause', 'unpause']) });

/**
 * Agent state: list (optionally by state), read one, and login/logout/pause/unpause — for
 * supervisors and admins, and for an agent's own credentials (a key or user bound to that
 * agentId) on its own id only: another id is a 403. A refused transition is a 409 `invalid_transition`.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function registerAgentRoutes(app: FastifyInstance<any, any, any, any, any>, deps: AgentRouteDeps): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const read = requireRole(deps.auth, ['admin', 'supervisor']);
  const self = requireRole(deps.auth, ['admin', 'supervisor', 'agent']);
  const notSelf = (reply: FastifyReply) => reply.status(403).send({ error: 'forbidden', message: 'an agent may act only on its own state' });

  r.get('/agents', { preHandler: read, schema: { querystring: z.strictObject({ state: z.enum(AGENT_STATES).optional() }), response: { 200: z.strictObject({ agents: z.array(AgentView) }) } } }, async (req) => {
    const agents = await deps.store.listAgents();
    return { agents: req.query.state ? agents.filter((a) => a.state === req.query.state) : agents };
  });

  r.get('/agents/:id', { preHandler: self, schema: { params: AgentId, response: { 200: AgentView, ...errors(404) } } }, async (req, reply) => {
    if (!mayActOnAgent(req.principal, req.params.id)) return notSelf(reply);
    const agent = await deps.store.agentState(req.params.id);
    if (!agent) return reply.status(404).send({ error: 'agent_not_found', message: `no agent ${req.params.id}` });
    return agent;
  });

  r.post('/agents/:id/:action', { preHandler: self, schema: { params: Action, body: z.strictObject({ reason: z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/).optional() }).optional(), response: { 200: AgentStateChangeView, ...errors(400, 404, 409) } } }, async (req, reply) => {
    if (!mayActOnAgent(req.principal, req.params.id)) return notSelf(reply);
    try {
      return await deps.routing.changeAgentState(req.params.id, req.params.action, req.body?.reason);
    } catch (err) {
      if (err instanceof RoutingError) return reply.status(err.status as 400 | 404 | 409).send({ error: err.code.toLowerCase(), message: err.message });
      throw err;
    }
  });
}
