import Fastify from 'fastify';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Logger } from '../log/logger.ts';
import { isDatabaseUnavailable } from '../records/database-unavailable.ts';
import { installAccessGuard } from './access-guard.ts';
import { registerAccessRoutes, type AccessRouteDeps } from './access-routes.ts';
import { registerAgentRoutes, type AgentRouteDeps } from './agent-routes.ts';
import { installAudit, type AuditDeps } from './audit.ts';
import { registerBusinessHoursRoutes } from './business-hours-routes.ts';
import { registerEmergencyRoutes, type EmergencyRouteDeps } from './emergency-routes.ts';
import { registerFlowRoutes, type FlowRouteDeps } from './flow-routes.ts';
import { registerLiveRoutes, type LiveRouteDeps } from './live-routes.ts';
import { registerReportRoutes, type ReportRouteDeps } from './report-routes.ts';
import { registerRoutingAdminRoutes, type RoutingAdminRouteDeps } from './routing-admin-routes.ts';
import { declareCommonResponses } from './schemas/common-responses.ts';
import { registerWallboardRoute } from './wallboard-route.ts';

export interface ReadinessChecks {
  ari(): boolean;
  postgres(): Promise<boolean>;
  redis(): Promise<boolean>;
  migrated(): boolean;
}

export interface AppDeps {
  logger: Logger;
  readiness: ReadinessChecks;
  /** Flow admin routes; absent in tests that only need health. */
  flows?: FlowRouteDeps;
  /** Agent state routes; absent when routing is off. */
  agents?: AgentRouteDeps;
  /** Queue and agent configuration routes; absent when routing is off. */
  routingAdmin?: RoutingAdminRouteDeps;
  /** Live stats: GET /live, the /live/ws stream and GET /metrics. */
  live?: LiveRouteDeps;
  /** GET /reports/calls and GET /capacity. */
  reports?: ReportRouteDeps;
  /** POST/DELETE/GET /emergency. */
  emergency?: EmergencyRouteDeps;
  /** API keys, users and login. */
  access?: AccessRouteDeps;
  /** The audit log of admin changes and GET /audit. */
  audit?: AuditDeps;
}

const HealthResponse = z.object({ status: z.literal('ok'), uptimeSeconds: z.number() });
const ReadyResponse = z.object({
  ready: z.boolean(),
  checks: z.object({ ari: z.boolean(), postgres: z.boolean(), redis: z.boolean(), migrations: z.boolean() }),
});

/** Builds the HTTP app; the caller decides whether and where to listen. */
export async function buildApp(deps: AppDeps) {
  const app = Fastify({ loggerInstance: deps.logger, bodyLimit: 256 * 1024 }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  declareCommonResponses(app);

  app.setErrorHandler((err: Error & { statusCode?: number; validation?: unknown }, req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status >= 500) {
      // Postgres down or the connection lost: worth a retry, unlike a bug (a 500 keeps its internals to itself).
      if (isDatabaseUnavailable(err)) {
        req.log.error({ err }, 'request failed: database unavailable');
        return reply.status(503).send({ error: 'database_unavailable', message: 'the database is not reachable; try again' });
      }
      req.log.error({ err }, 'request failed');
      return reply.status(500).send({ error: 'internal_error', message: 'internal error' });
    }
    if (err.validation) {
      // Request validation: name every failing field by its path.
      const issues = (err.validation as Array<{ instancePath?: string; message?: string; params?: { issue?: { path?: unknown[] } } }>).map((v) => ({
        path: v.params?.issue?.path?.join('.') ?? v.instancePath?.replace(/^\//, '').replace(/\//g, '.') ?? '',
        message: v.message ?? 'invalid',
      }));
      return reply.status(400).send({ error: 'validation_failed', message: err.message, errors: issues });
    }
    return reply.status(status).send({ error: status === 413 ? 'body_too_large' : 'bad_request', message: err.message });
  });
  app.setNotFoundHandler((_req, reply) => reply.status(404).send({ error: 'not_found', message: 'no such route' }));

  // Every request is checked against the route-role table before routing work (with credentials configured).
  if (deps.access) installAccessGuard(app, deps.access.auth, deps.access.limits);

  // OpenAPI 3 from the routes' zod schemas: JSON at /docs/json, the UI at /docs. Registered
  // before the routes so it sees each of them; the documents hold no data (public, see route-roles).
  await app.register(fastifySwagger, {
    openapi: {
      info: { title: 'Hotline API', version: '0.1.0', description: 'Contact-center backend: flows, routing, records, reports, live stats. Bearer credentials: API keys, API_TOKENS or a JWT from POST /auth/login.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' });
  if (deps.audit) installAudit(app, deps.audit);

  const started = Date.now();
  app.get('/health', { schema: { response: { 200: HealthResponse } } }, async () => ({
    status: 'ok' as const,
    uptimeSeconds: Math.round((Date.now() - started) / 1000),
  }));

  app.get('/ready', { schema: { response: { 200: ReadyResponse, 503: ReadyResponse } } }, async (_req, reply) => {
    const [postgres, redis] = await Promise.all([deps.readiness.postgres(), deps.readiness.redis()]);
    const checks = { ari: deps.readiness.ari(), postgres, redis, migrations: deps.readiness.migrated() };
    const ready = Object.values(checks).every(Boolean);
    return reply.status(ready ? 200 : 503).send({ ready, checks });
  });

  if (deps.flows) {
    registerFlowRoutes(app, deps.flows);
    registerBusinessHoursRoutes(app, deps.flows);
  }
  if (deps.agents) registerAgentRoutes(app, deps.agents);
  if (deps.routingAdmin) registerRoutingAdminRoutes(app, deps.routingAdmin);
  if (deps.live) await registerLiveRoutes(app, deps.live);
  if (deps.reports) registerReportRoutes(app, deps.reports);
  if (deps.emergency) registerEmergencyRoutes(app, deps.emergency);
  // The wallboard page holds no data (it asks for a token), so it is public like /health.
  registerWallboardRoute(app);
  if (deps.access) registerAccessRoutes(app, deps.access);

  return app;
}
