import { createHash, randomBytes } from 'node:crypto';

/**
 * An API key is 32 random bytes behind a recognisable prefix. Only its SHA-256 is stored: with
 * that much entropy a slow hash adds nothing, and a lookup by digest needs no comparison loop.
 */
export function newApiKey(): { key: string; digest: Buffer } {
  const key = `hk_${randomBytes(32).toString('base64url')}`;
  return { key, digest: apiKeyDigest(key) };
}

export function apiKeyDigest(key: string): Buffer {
  return createHash('sha256').update(key).digest();
}
