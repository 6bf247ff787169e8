import { createHmac, timingSafeEqual } from 'node:crypto';

/** What a Hotline JWT carries: who (sub), their role, the agent they are, and when it ends. */
export interface JwtClaims {
  sub: string;
  role: 'admin' | 'supervisor' | 'agent';
  agentId?: string;
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
  return { ok: true, claims };
}

function mac(data: string, secret: string): string {
  return createHmac('sha256', secret).update(data).digest('base64url');
}

function b64url(s: string): string {
  return Buffer.from(s, 'utf8').toString('base64url');
}
