import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { FlowRejected, type FlowRepository } from '../flows/flow-repository.ts';
import { FlowSchema } from '../flows/schema.ts';
import type { FlowStore } from '../records/flow-store.ts';
import { auditContext } from './audit.ts';
import { requireRole, type TokenAuth } from './auth.ts';
import { errors, NoContent } from './schemas/responses.ts';

export interface FlowRouteDeps {
  flows: FlowRepository;
  store: FlowStore;
  auth: TokenAuth;
}

const FlowErrors = z.object({ error: z.literal('flow_invalid'), message: z.string(), errors: z.array(z.object({ path: z.string(), message: z.string() })) });
const VersionInfo = z.object({ version: z.number(), author: z.string(), createdAt: z.string() });
const FlowId = z.object({ id: z.string().regex(/^[a-z][a-z0-9_-]{0,63}$/) });
const NumberParam = z.object({ number: z.string().regex(/^[0-9*#+]{1,32}$/) });
/** A flow document is validated by the flow validator (all errors with paths), not here. */
const FlowDoc = z.record(z.string(), z.unknown());

/**
 * Flow admin: list, read, validate, publish a version, roll back, map numbers. Reading is for
 * admins and supervisors; changes are for admins. An invalid flow is a 422 with every error
 * and its JSON path, and nothing changes.
 */
// The app's logger type differs from Fastify's default; routes do not depend on it.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function registerFlowRoutes(app: FastifyInstance<any, any, any, any, any>, deps: FlowRouteDeps): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const read = requireRole(deps.auth, ['admin', 'supervisor']);
  const write = requireRole(deps.auth, ['admin']);
  const rejected = (err: FlowRejected) => ({ error: 'flow_invalid' as const, message: 'the flow is not valid; nothing was changed', errors: [...err.errors] });

  r.get('/flows', { preHandler: read, schema: { response: { 200: z.object({ flows: z.array(z.object({ id: z.string(), name: z.string(), activeVersion: z.number(), versions: z.array(VersionInfo) })) }) } } }, async () => ({
    flows: deps.flows.list(),
  }));

  const Active = z.strictObject({ id: z.string(), activeVersion: z.number(), versions: z.array(VersionInfo), flow: FlowSchema });
  r.get('/flows/:id', { preHandler: read, schema: { params: FlowId, response: { 200: Active, ...errors(404) } } }, async (req, reply) => {
    const flow = deps.flows.active(req.params.id);
    if (!flow) return reply.status(404).send({ error: 'flow_not_found', message: `no flow ${req.params.id}` });
    return { id: flow.id, activeVersion: flow.version, versions: deps.flows.versionsOf(flow.id), flow };
  });

  r.get('/flows/:id/versions/:version', { preHandler: read, schema: { params: FlowId.extend({ version: z.coerce.number().int().min(1) }), response: { 200: FlowSchema, ...errors(404) } } }, async (req, reply) => {
    const flow = deps.flows.get(req.params.id, req.params.version);
    if (!flow) return reply.status(404).send({ error: 'flow_not_found', message: `no version ${req.params.version} of ${req.params.id}` });
    return flow;
  });

  r.post('/flows/validate', { preHandler: read, schema: { body: FlowDoc, response: { 200: z.object({ ok: z.literal(true) }), 422: FlowErrors } } }, async (req, reply) => {
    const v = deps.flows.validate(req.body);
    if (!v.ok) return reply.status(422).send(rejected(new FlowRejected(v.errors)));
    return { ok: true as const };
  });

  r.post('/flows/:id/versions', { preHandler: write, schema: { params: FlowId, body: FlowDoc, response: { 201: z.object({ id: z.string(), version: z.number() }), 422: FlowErrors } } }, async (req, reply) => {
    if (req.body.id !== req.params.id) {
      return reply.status(422).send(rejected(new FlowRejected([{ path: 'id', message: `the body's id must be "${req.params.id}"` }])));
    }
    try {
      const flow = await deps.flows.publish(deps.store, req.body, req.principal!.name, auditContext(req));
      return reply.status(201).send({ id: flow.id, version: flow.version });
    } catch (err) {
      if (err instanceof FlowRejected) return reply.status(422).send(rejected(err));
      throw err;
    }
  });

  r.post('/flows/:id/rollback', { preHandler: write, schema: { params: FlowId, body: z.strictObject({ version: z.number().int().min(1) }), response: { 200: z.object({ id: z.string(), activeVersion: z.number() }), 422: FlowErrors } } }, async (req, reply) => {
    try {
      await deps.flows.rollback(deps.store, req.params.id, req.body.version, req.principal!.name, auditContext(req));
      return { id: req.params.id, activeVersion: req.body.version };
    } catch (err) {
      if (err instanceof FlowRejected) return reply.status(422).send(rejected(err));
      throw err;
    }
  });

  r.get('/numbers', { preHandler: read, schema: { response: { 200: z.strictObject({ numbers: z.record(z.string(), z.string()).describe('dialed number -> flow id') }) } } }, async () => ({ numbers: deps.flows.numberMap() }));

  r.put('/numbers/:number', { preHandler: write, schema: { params: NumberParam, body: z.strictObject({ flowId: z.string().min(1).max(64) }), response: { 200: z.object({ number: z.string(), flowId: z.string() }), 422: FlowErrors } } }, async (req, reply) => {
    try {
      await deps.flows.mapNumber(deps.store, req.params.number, req.body.flowId, req.principal!.name, auditContext(req));
      return { number: req.params.number, flowId: req.body.flowId };
    } catch (err) {
      if (err instanceof FlowRejected) return reply.status(422).send(rejected(err));
      throw err;
    }
  });

  r.delete('/numbers/:number', { preHandler: write, schema: { params: NumberParam, response: { 204: NoContent } } }, async (req, reply) => {
    await deps.flows.mapNumber(deps.store, req.params.number, null, req.principal!.name, auditContext(req));
    return reply.status(204).send(null);
  });
}
