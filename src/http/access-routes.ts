import { randomBytes, randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { newApiKey } from '../access/api-key.ts';
import { signJwt } from '../access/jwt.ts';
import { checkPassword, hashPassword } from '../access/passwords.ts';
import type { AccessStore, UserInfo, UserRefusal } from '../records/access-store.ts';
import type { RevocableToken } from '../redis/token-revocations.ts';
import type { RateLimits } from './access-guard.ts';
import { auditContext } from './audit.ts';
import { requireRole, type TokenAuth } from './auth.ts';

export interface AccessRouteDeps {
  store: AccessStore;
  auth: TokenAuth;
  /** Per-principal and per-IP request limits, checked by the access guard; absent → unlimited. */
  limits?: RateLimits;
  /** Logout and the Redis cache of users' token versions (src/redis/token-revocations.ts); absent → logout answers 503. */
  revocations?: {
    revoke(t: RevocableToken, nowMs: number): Promise<void>;
    userChanged(userId: string, version: number | null): Promise<void>;
  };
  /** Lifetime of a login JWT in seconds. */
  jwtTtlSeconds?: number;
  now?: () => number;
}

const RoleName = z.enum(['admin', 'supervisor', 'agent']);
const AgentIdField = z.string().regex(/^[A-Za-z0-9_.@-]{1,64}$/);
const Username = z.string().regex(/^[a-z][a-z0-9_.-]{1,63}$/);
const Password = z.string().min(12).max(256);
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
/** A user as answers show it: never the password hash. */
const UserView = z.object({ id: z.string(), username: z.string(), role: RoleName, agentId: z.string().nullable(), tokenVersion: z.number().int() });
const ErrorBody = z.object({ error: z.string(), message: z.string(), errors: z.array(z.object({ path: z.string(), message: z.string() })).optional() });
const NoContent = z.null().describe('No content');
const UserParam = z.object({ username: Username });
/** An agent credential is bound to one agent, so it can act on that agent's state only. */
const bound = <T extends { role: string; agentId?: string | undefined }>(v: T) => v.role !== 'agent' || !!v.agentId;
const boundMessage = { message: 'an agent credential needs an agentId', path: ['agentId'] };

/**
 * API keys for systems (`POST/GET /keys`, `DELETE /keys/:id`) and users for people (`POST/GET
 * /users`, `DELETE /users/:username`, `PUT /users/:username/role|password`), for admins;
 * `POST /auth/login` trades a username and password for a short-lived JWT (404
 * `login_disabled` without JWT_SECRET), `POST /auth/logout` revokes the presented one and
 * `POST /auth/password` lets any logged-in person change their own password. A new key is
 * shown once, in the 201 answer: only its digest is kept. Every change is audited by the store
 * in its own transaction; a role or password change or a deletion revokes all the user's
 * earlier JWTs (users.token_version), and the last admin user is neither deleted nor demoted.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function registerAccessRoutes(app: FastifyInstance<any, any, any, any, any>, deps: AccessRouteDeps): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const admin = requireRole(deps.auth, ['admin']);
  const anyone = requireRole(deps.auth, ['admin', 'supervisor', 'agent']);
  const now = deps.now ?? Date.now;
  const ttl = deps.jwtTtlSeconds ?? 15 * 60;
  const unknownUserHash = hashPassword(randomBytes(18).toString('base64url'));
  /** After a committed user change: the cached token version follows at once (tokens die now, not when the cache expires). */
  const changed = (user: UserInfo, deleted = false) => deps.revocations?.userChanged(user.id, deleted ? null : user.tokenVersion);
  const refused = (reply: FastifyReply, why: UserRefusal, username: string) =>
    why === 'user_not_found'
      ? reply.status(404).send({ error: why, message: `no user ${username}` })
      : reply.status(409).send({ error: why, message: `${username} is the last admin user; make another admin first` });

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
      const info = await deps.store.createKey(
        { name: req.body.name, role: req.body.role, agentId: req.body.agentId ?? null, digest, createdBy: req.principal!.name, expiresAt: req.body.expiresAt ? new Date(req.body.expiresAt) : null },
        auditContext(req),
      );
      return reply.status(201).send({ ...info, key });
    },
  );

  r.get('/keys', { preHandler: admin, schema: { response: { 200: z.object({ keys: z.array(KeyInfo) }) } } }, async () => ({ keys: await deps.store.listKeys() }));

  r.delete('/keys/:id', { preHandler: admin, schema: { params: z.object({ id: z.uuid() }), response: { 204: NoContent, 404: ErrorBody } } }, async (req, reply) => {
    const before = await deps.store.revokeKey(req.params.id, auditContext(req));
    if (!before) return reply.status(404).send({ error: 'key_not_found', message: `no live key ${req.params.id}` });
    return reply.status(204).send(null);
  });

  r.post(
    '/users',
    {
      preHandler: admin,
      schema: {
        body: z.strictObject({ username: Username, role: RoleName, agentId: AgentIdField.optional(), password: Password }).refine(bound, boundMessage),
        response: { 201: z.object({ id: z.string(), username: z.string(), role: RoleName, agentId: z.string().nullable() }), 409: ErrorBody },
      },
    },
    async (req, reply) => {
      const user = await deps.store.createUser(
        { username: req.body.username, role: req.body.role, agentId: req.body.agentId ?? null, passwordHash: await hashPassword(req.body.password), createdBy: req.principal!.name },
        auditContext(req),
      );
      if (!user) return reply.status(409).send({ error: 'username_taken', message: `user ${req.body.username} exists` });
      return reply.status(201).send(user);
    },
  );

  r.get('/users', { preHandler: admin, schema: { response: { 200: z.object({ users: z.array(UserView) }) } } }, async () => ({ users: await deps.store.listUsers() }));

  r.delete('/users/:username', { preHandler: admin, schema: { params: UserParam, response: { 204: NoContent, 404: ErrorBody, 409: ErrorBody } } }, async (req, reply) => {
    const r = await deps.store.deleteUser(req.params.username, auditContext(req));
    if (typeof r === 'string') return refused(reply, r, req.params.username);
    await changed(r, true);
    return reply.status(204).send(null);
  });

  r.put(
    '/users/:username/role',
    {
      preHandler: admin,
      schema: { params: UserParam, body: z.strictObject({ role: RoleName, agentId: AgentIdField.optional() }).refine(bound, boundMessage), response: { 200: UserView, 404: ErrorBody, 409: ErrorBody } },
    },
    async (req, reply) => {
      const r = await deps.store.setRole(req.params.username, req.body.role, req.body.agentId ?? null, auditContext(req));
      if (typeof r === 'string') return refused(reply, r, req.params.username);
      await changed(r);
      return r;
    },
  );

  r.put(
    '/users/:username/password',
    { preHandler: admin, schema: { params: UserParam, body: z.strictObject({ password: Password }), response: { 204: NoContent, 404: ErrorBody } } },
    async (req, reply) => {
      const r = await deps.store.setPassword(req.params.username, await hashPassword(req.body.password), auditContext(req));
      if (typeof r === 'string') return refused(reply, r, req.params.username);
      await changed(r);
      return reply.status(204).send(null);
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
      const claims = { sub: user.username, role: user.role, ...(user.agentId ? { agentId: user.agentId } : {}), uid: user.id, ver: user.tokenVersion, jti: randomUUID(), iat, exp: iat + ttl };
      return { token: signJwt(claims, secret), expiresAt: new Date((iat + ttl) * 1000).toISOString() };
    },
  );

  r.post('/auth/logout', { preHandler: anyone, schema: { response: { 204: NoContent, 400: ErrorBody, 503: ErrorBody } } }, async (req, reply) => {
    const session = req.principal!.session;
    if (!session) return reply.status(400).send({ error: 'not_a_session', message: 'only a login JWT is logged out; API keys are revoked with DELETE /keys/:id' });
    if (!deps.revocations) return reply.status(503).send({ error: 'logout_unavailable', message: 'tokens cannot be revoked here' });
    try {
      await deps.revocations.revoke(session, now());
    } catch (err) {
      req.log.warn({ err: (err as Error).message }, 'logout not stored');
      return reply.status(503).send({ error: 'logout_unavailable', message: 'the token could not be revoked; try again' });
    }
    return reply.status(204).send(null);
  });

  r.post(
    '/auth/password',
    { preHandler: anyone, schema: { body: z.strictObject({ currentPassword: z.string().max(256), newPassword: Password }), response: { 204: NoContent, 400: ErrorBody, 403: ErrorBody, 404: ErrorBody } } },
    async (req, reply) => {
      const session = req.principal!.session;
      if (!session) return reply.status(400).send({ error: 'not_a_user', message: 'only a logged-in user has a password; log in with POST /auth/login' });
      const username = req.principal!.name.replace(/^user:/, '');
      const user = await deps.store.userByName(username);
      if (!user || user.id !== session.uid) return reply.status(404).send({ error: 'user_not_found', message: `no user ${username}` });
      if (!(await checkPassword(req.body.currentPassword, user.passwordHash))) return reply.status(403).send({ error: 'wrong_password', message: 'the current password is wrong; nothing was changed' });
      const r = await deps.store.setPassword(username, await hashPassword(req.body.newPassword), { ...auditContext(req), target: `username=${username}` });
      if (typeof r === 'string') return refused(reply, r, username);
      await changed(r);
      return reply.status(204).send(null);
    },
  );
}
