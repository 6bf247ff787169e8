import { describe, expect, it } from 'vitest';
import { signJwt, verifyJwt } from '../../src/access/jwt.ts';
import { checkPassword, hashPassword } from '../../src/access/passwords.ts';
import { apiKeyDigest, newApiKey } from '../../src/access/api-key.ts';

const SECRET = 'unit-test-secret-0123456789abcdefghij';
const claims = { sub: 'ana', role: 'agent' as const, agentId: 'a7', uid: 'u-1', ver: 0, jti: 'j-1', iat: 1_000, exp: 1_900 };

describe('JWT HS256 (node:crypto)', () => {
  it('verifies what it signed, before expiry only', () => {
    const t = signJwt(claims, SECRET);
    expect(verifyJwt(t, SECRET, 1_899)).toEqual({ ok: true, claims });
    expect(verifyJwt(t, SECRET, 1_900)).toEqual({ ok: false, reason: 'expired' });
  });

  it('matches an independent HS256 signature (RFC 7515 shape)', async () => {
    const { createHmac } = await import('node:crypto');
    const t = signJwt(claims, SECRET);
    const [h, p, s] = t.split('.');
    expect(JSON.parse(Buffer.from(h!, 'base64url').toString())).toEqual({ alg: 'HS256', typ: 'JWT' });
    expect(s).toBe(createHmac('sha256', SECRET).update(`${h}.${p}`).digest('base64url'));
  });

  it('refuses another secret, a changed payload, alg none and garbage', () => {
    const t = signJwt(claims, SECRET);
    expect(verifyJwt(t, `${SECRET}x`, 1_000)).toEqual({ ok: false, reason: 'bad_signature' });
    const [h, , s] = t.split('.');
    const forged = Buffer.from(JSON.stringify({ ...claims, role: 'admin' })).toString('base64url');
    expect(verifyJwt(`${h}.${forged}.${s}`, SECRET, 1_000)).toEqual({ ok: false, reason: 'bad_signature' });
    const none = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
    expect(verifyJwt(`${none}.${t.split('.')[1]}.`, SECRET, 1_000)).toEqual({ ok: false, reason: 'malformed' });
    expect(verifyJwt('a.b', SECRET, 1_000)).toEqual({ ok: false, reason: 'malformed' });
  });

  it('refuses a live token without the user id, version or token id that make it revocable', () => {
    for (const drop of ['uid', 'ver', 'jti'] as const) {
      const { [drop]: _gone, ...rest } = claims;
      expect(verifyJwt(signJwt(rest as typeof claims, SECRET), SECRET, 1_000), drop).toEqual({ ok: false, reason: 'malformed' });
    }
  });
});

describe('passwords (scrypt) and API keys', () => {
  it('a hash checks its own password only, and two hashes of one password differ (salt)', async () => {
    const h = await hashPassword('correct horse battery');
    expect(await checkPassword('correct horse battery', h)).toBe(true);
    expect(await checkPassword('correct horse batterz', h)).toBe(false);
    expect(await hashPassword('correct horse battery')).not.toBe(h);
    expect(await checkPassword('x', 'md5$abc')).toBe(false);
  });

  it('keys are distinct and their digest is their SHA-256', () => {
    const a = newApiKey();
    const b = newApiKey();
    expect(a.key).not.toBe(b.key);
    expect(a.key).toMatch(/^hk_[A-Za-z0-9_-]{43}$/);
    expect(a.digest.equals(apiKeyDigest(a.key))).toBe(true);
  });
});
