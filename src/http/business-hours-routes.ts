import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { FlowRejected } from '../flows/flow-repository.ts';
import { ScheduleNode } from '../flows/schema.ts';
import { auditContext } from './audit.ts';
import { requireRole } from './auth.ts';
import type { FlowRouteDeps } from './flow-routes.ts';
import { errors } from './schemas/responses.ts';

/** The hours part of a schedule node; where it leads (open/closed/holiday) stays the flow's business. */
const Hours = ScheduleNode.pick({ timezone: true, weekly: true, holidays: true, special: true });
/** One schedule node's hours and where it is: the flow, its active version and the node's name. */
const Schedule = z.strictObject({ flow: z.string(), version: z.number(), node: z.string(), ...Hours.shape });
const Target = z.object({ flow: z.string().regex(/^[a-z][a-z0-9_-]{0,63}$/), node: z.string().regex(/^[a-z][a-z0-9_]{0,63}$/) });

/**
 * Business hours and holidays as admins think of them: every `schedule` node of the active
 * flows, and a change to one node's hours, published as a new flow version (validated like any
 * publish, audited, running calls keep their version).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function registerBusinessHoursRoutes(app: FastifyInstance<any, any, any, any, any>, deps: FlowRouteDeps): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const listed = { 200: z.strictObject({ schedules: z.array(Schedule) }) };
  r.get('/business-hours', { preHandler: requireRole(deps.auth, ['admin', 'supervisor']), schema: { response: listed } }, async () => ({
    schedules: deps.flows.list().flatMap(({ id }) => {
      const flow = deps.flows.active(id)!;
      return Object.entries(flow.nodes)
        .filter(([, n]) => n.type === 'schedule')
        .map(([node, n]) => {
          const s = n as z.infer<typeof ScheduleNode>;
          return { flow: id, version: flow.version, node, timezone: s.timezone, weekly: s.weekly, holidays: s.holidays, special: s.special };
        });
    }),
  }));

  r.put('/business-hours/:flow/:node', { preHandler: requireRole(deps.auth, ['admin']), schema: { params: Target, body: Hours, response: { 200: Schedule, ...errors(404, 422) } } }, async (req, reply) => {
    const flow = deps.flows.active(req.params.flow);
    const node = flow?.nodes[req.params.node];
    if (!flow || node?.type !== 'schedule') {
      return reply.status(404).send({ error: 'schedule_not_found', message: `no schedule node ${req.params.node} in the active version of flow ${req.params.flow}` });
    }
    const doc = { ...flow, nodes: { ...flow.nodes, [req.params.node]: { ...node, ...req.body } } };
    try {
      const published = await deps.flows.publish(deps.store, doc, req.principal!.name, auditContext(req));
      return { flow: published.id, version: published.version, node: req.params.node, ...req.body };
    } catch (err) {
      if (err instanceof FlowRejected) return reply.status(422).send({ error: 'flow_invalid', message: 'the hours are not valid; nothing was changed', errors: [...err.errors] });
      throw err;
    }
  });
}
