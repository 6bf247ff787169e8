import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * What a Hotline JWT carries: who (sub, and uid: the user's row id, so a new user who takes a
 * deleted user's name never inherits its tokens), their role, the agent they are, when it
 * ends, the user's token version when it was issued (ver) and its own id (jti) for logout.
 */
export interface JwtClaims {
  sub: string;
  role: 'admin' | 'supervisor' | 'agent';
  agentId?: string;
  uid: string;
  ver: number;
  jti: string;
  iat: number;
  exp: number;
}

export type JwtCheck = { ok: true; claims: JwtClaims } | { ok: false; reason: 'malformed' | 'bad_signature' | 'expired' };

const HEADER = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));

/** HS256 with node:crypto: three parts, the header fixed so no `alg` trick can pick another algorithm. */
export function signJwt(claims: JwtClaims, secret: string): string {
  const body = `${HEADER}.${b64url(JSON.stringify(claims))}`;
  return `${body}.${mac(body, secret)}`;
}

/** Checks the signature in constant time first, then the expiry against `nowSeconds`. */
export function verifyJwt(token: string, secret: string, nowSeconds: number): JwtCheck {
  const parts = token.split('.');
  if (parts.length !== 3 || parts[0] !== HEADER) return { ok: false, reason: 'malformed' };
  const want = Buffer.from(mac(`${parts[0]}.${parts[1]}`, secret));
  const got = Buffer.from(parts[2]!);
  if (got.length !== want.length || !timingSafeEqual(got, want)) return { ok: false, reason: 'bad_signature' };
  let claims: JwtClaims;
  try {
    claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as JwtClaims;
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  if (typeof claims.exp !== 'number' || typeof claims.sub !== 'string' || !['admin', 'supervisor', 'agent'].includes(claims.role)) return { ok: false, reason: 'malformed' };
  if (claims.exp <= nowSeconds) return { ok: false, reason: 'expired' };
  // Every token signed since tokens became revocable names its user, version and id; one without them cannot be revoked.
  if (typeof claims.uid !== 'string' || !Number.isInteger(claims.ver) || typeof claims.jti !== 'string') return { ok: false, reason: 'malformed' };
  return { ok: true, claims };
}

function mac(data: string, secret: string): string {
  return createHmac('sha256', secret).update(data).digest('base64url');
}

function b64url(s: string): string {
  return Buffer.from(s, 'utf8').toString('base64url');
}
