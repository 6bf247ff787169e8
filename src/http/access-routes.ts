import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { newApiKey } from '../access/api-key.ts';
import { signJwt } from '../access/jwt.ts';
import { checkPassword, hashPassword } from '../access/passwords.ts';
import type { AccessStore } from '../records/access-store.ts';
import type { RateLimits } from './access-guard.ts';
import { requireRole, type TokenAuth } from './auth.ts';

export interface AccessRouteDeps {
  store: AccessStore;
  auth: TokenAuth;
  /** Per-principal and per-IP request limits, checked by the access guard; absent → unlimited. */
  limits?: RateLimits;
  /** Lifetime of a login JWT in seconds. */
  jwtTtlSeconds?: number;
  now?: () => number;
}

const RoleName = z.enum(['admin', 'supervisor', 'agent']);
const AgentIdField = z.string().regex(/^[A-Za-z0-9_.@-]{1,64}$/);
const KeyInfo = z.object({
  id: z.string(),
  name: z.string(),
  role: RoleName,
  agentId: z.string().nullable(),
  createdBy: z.string(),
  createdAt: z.string(),
  expiresAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
});
const ErrorBody = z.object({ error: z.string(), message: z.string(), errors: z.array(z.object({ path: z.string(), message: z.string() })).optional() });
/** An agent credential is bound to one agent, so it can act on that agent's state only. */
const bound = <T extends { role: string; agentId?: string | undefined }>(v: T) => v.role !== 'agent' || !!v.agentId;
const boundMessage = { message: 'an agent credential needs an agentId', path: ['agentId'] };

/**
 * API keys for systems (`POST/GET /keys`, `DELETE /keys/:id`) and users for people
 * (`POST /users`), for admins; `POST /auth/login` trades a username and password for a
 * short-lived JWT (404 `login_disabled` without JWT_SECRET). A new key is shown once, in the
 * 201 answer: only its digest is kept.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function registerAccessRoutes(app: FastifyInstance<any, any, any, any, any>, deps: AccessRouteDeps): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const admin = requireRole(deps.auth, ['admin']);
  const now = deps.now ?? Date.now;
  const ttl = deps.jwtTtlSeconds ?? 15 * 60;
  const unknownUserHash = hashPassword(randomBytes(18).toString('base64url'));

  r.post(
    '/keys',
    {
      preHandler: admin,
      schema: {
        body: z.strictObject({ name: z.string().regex(/^[A-Za-z0-9 _.-]{1,64}$/), role: RoleName, agentId: AgentIdField.optional(), expiresAt: z.iso.datetime({ offset: true }).optional() }).refine(bound, boundMessage),
        response: { 201: KeyInfo.extend({ key: z.string() }), 400: ErrorBody },
      },
    },
    async (req, reply) => {
      if (req.body.expiresAt && Date.parse(req.body.expiresAt) <= now()) {
        return reply.status(400).send({ error: 'validation_failed', message: 'expiresAt is in the past', errors: [{ path: 'expiresAt', message: 'must be in the future' }] });
      }
      const { key, digest } = newApiKey();
      const info = await deps.store.createKey({
        name: req.body.name,
        role: req.body.role,
        agentId: req.body.agentId ?? null,
        digest,
        createdBy: req.principal!.name,
        expiresAt: req.body.expiresAt ? new Date(req.body.expiresAt) : null,
      });
      return reply.status(201).send({ ...info, key });
    },
  );

  r.get('/keys', { preHandler: admin, schema: { response: { 200: z.object({ keys: z.array(KeyInfo) }) } } }, async () => ({ keys: await deps.store.listKeys() }));

  r.delete('/keys/:id', { preHandler: admin, schema: { params: z.object({ id: z.uuid() }) } }, async (req, reply) => {
    const before = await deps.store.revokeKey(req.params.id);
    if (!before) return reply.status(404).send({ error: 'key_not_found', message: `no live key ${req.params.id}` });
    return reply.status(204).send();
  });

  r.post(
    '/users',
    {
      preHandler: admin,
      schema: {
        body: z.strictObject({ username: z.string().regex(/^[a-z][a-z0-9_.-]{1,63}$/), role: RoleName, agentId: AgentIdField.optional(), password: z.string().min(12).max(256) }).refine(bound, boundMessage),
        response: { 201: z.object({ id: z.string(), username: z.string(), role: RoleName, agentId: z.string().nullable() }), 409: ErrorBody },
      },
    },
    async (req, reply) => {
      const user = await deps.store.createUser({
        username: req.body.username,
        role: req.body.role,
        agentId: req.body.agentId ?? null,
        passwordHash: await hashPassword(req.body.password),
        createdBy: req.principal!.name,
      });
      if (!user) return reply.status(409).send({ error: 'username_taken', message: `user ${req.body.username} exists` });
      return reply.status(201).send(user);
    },
  );

  r.post(
    '/auth/login',
    { schema: { body: z.strictObject({ username: z.string().max(64), password: z.string().max(256) }), response: { 200: z.object({ token: z.string(), expiresAt: z.string() }), 401: ErrorBody, 404: ErrorBody } } },
    async (req, reply) => {
      const secret = deps.auth.jwtSecret;
      if (!secret) return reply.status(404).send({ error: 'login_disabled', message: 'JWT_SECRET is not set; use an API key' });
      const user = await deps.store.userByName(req.body.username);
      // Same answer, and the same scrypt work, for an unknown user and a wrong password: names are not probed this way.
      const matches = await checkPassword(req.body.password, user?.passwordHash ?? (await unknownUserHash));
      if (!user || !matches) return reply.status(401).send({ error: 'login_failed', message: 'wrong username or password' });
      const iat = Math.floor(now() / 1000);
      const token = signJwt({ sub: user.username, role: user.role, ...(user.agentId ? { agentId: user.agentId } : {}), iat, exp: iat + ttl }, secret);
      return { token, expiresAt: new Date((iat + ttl) * 1000).toISOString() };
    },
  );
}
