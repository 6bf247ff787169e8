import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { EmergencyRefused, type EmergencyMode } from '../flows/emergency-mode.ts';
import { requireRole, type TokenAuth } from './auth.ts';

export interface EmergencyRouteDeps {
  emergency: EmergencyMode;
  auth: TokenAuth;
}

const Entry = z.object({ number: z.string(), flow: z.string(), previousFlow: z.string().nullable(), reason: z.string(), startedBy: z.string(), startedAt: z.string() });
const State = z.object({ active: z.boolean(), numbers: z.array(Entry) });
const Refused = z.object({ error: z.enum(['emergency_unknown_flow', 'emergency_unknown_number']), message: z.string(), errors: z.array(z.object({ path: z.string(), message: z.string() })) });
const StartBody = z.strictObject({
  numbers: z.array(z.string().regex(/^[0-9*#+]{1,32}$/)).min(1).max(100),
  flow: z.string().min(1).max(64).default('emergency'),
  reason: z.string().trim().min(1).max(500),
});

/**
 * Emergency mode: POST switches numbers to an announcement flow (200 with `changed: false`
 * when it already is so), DELETE switches every one back, GET shows the state.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function registerEmergencyRoutes(app: FastifyInstance<any, any, any, any, any>, deps: EmergencyRouteDeps): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const admin = requireRole(deps.auth, ['admin']);

  r.get('/emergency', { preHandler: requireRole(deps.auth, ['admin', 'supervisor']), schema: { response: { 200: State } } }, async () => deps.emergency.state());

  r.post('/emergency', { preHandler: admin, schema: { body: StartBody, response: { 200: State.extend({ changed: z.boolean() }), 422: Refused } } }, async (req, reply) => {
    try {
      const { state, changed } = await deps.emergency.start(req.body, req.principal!.name);
      return { ...state, changed };
    } catch (err) {
      if (!(err instanceof EmergencyRefused)) throw err;
      const p = err.plan;
      return reply.status(422).send({ error: p.error, message: `${p.message}; nothing was changed`, errors: [{ path: p.path, message: p.message }] });
    }
  });

  r.delete('/emergency', { preHandler: admin, schema: { response: { 200: z.object({ restored: z.array(z.object({ number: z.string(), flow: z.string().nullable() })) }) } } }, async (req) =>
    deps.emergency.end(req.principal!.name),
  );
}
