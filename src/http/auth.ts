import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

export type Role = 'admin' | 'supervisor' | 'agent';

/**
 * Bearer tokens from the environment (API_TOKENS="admin:<token>,supervisor:<token>"), kept
 * only as SHA-256 digests and compared in constant time. With no tokens configured every
 * protected route answers 401: secure by default. Keys and JWTs are the security issue's.
 */
export class TokenAuth {
  private readonly tokens: Array<{ digest: Buffer; role: Role; name: string }>;

  constructor(spec: string) {
    this.tokens = spec
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
      .map((pair, i) => {
        const m = /^(admin|supervisor|agent):(.{16,})$/.exec(pair);
        if (!m) throw new Error(`API_TOKENS entry ${i + 1} is not role:token with a token of 16+ characters`);
        return { role: m[1] as Role, digest: digest(m[2]!), name: `${m[1]}#${i + 1}` };
      });
  }

  identify(header: string | undefined): { role: Role; name: string } | null {
    const m = /^Bearer (.+)$/.exec(header ?? '');
    if (!m) return null;
    const d = digest(m[1]!);
    const hit = this.tokens.find((t) => timingSafeEqual(t.digest, d));
    return hit ? { role: hit.role, name: hit.name } : null;
  }
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

declare module 'fastify' {
  interface FastifyRequest {
    principal?: { role: Role; name: string };
  }
}

/** A preHandler that lets only the given roles through: 401 without valid credentials, 403 for another role. */
export function requireRole(auth: TokenAuth, roles: readonly Role[]) {
  return async (req: FastifyRequest, reply: FastifyReply) => {
    const who = auth.identify(req.headers.authorization);
    if (!who) return reply.status(401).send({ error: 'unauthorized', message: 'missing or invalid bearer token' });
    if (!roles.includes(who.role)) return reply.status(403).send({ error: 'forbidden', message: `role ${who.role} may not do this` });
    req.principal = who;
  };
}
