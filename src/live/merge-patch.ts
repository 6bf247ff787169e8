/**
 * JSON merge patches (RFC 7396) between two snapshots, so a WebSocket client gets only what
 * changed. Objects are compared key by key; anything else is replaced whole. A merge patch
 * cannot set a value to null (null deletes the key), so a field that became null is deleted:
 * a client reads an absent field as null.
 */

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The patch that turns `from` into `to`, or undefined when they are equal. */
export function mergePatchBetween(from: unknown, to: unknown): unknown {
  if (!isObject(from) || !isObject(to)) return JSON.stringify(from) === JSON.stringify(to) ? undefined : to;
  const patch: Record<string, unknown> = {};
  for (const key of Object.keys(from)) if (!(key in to) || (to[key] === null && from[key] !== null)) patch[key] = null;
  for (const [key, value] of Object.entries(to)) {
    if (value === null) continue;
    const sub = key in from ? mergePatchBetween(from[key], value) : value;
    if (sub !== undefined) patch[key] = sub;
  }
  return Object.keys(patch).length ? patch : undefined;
}

/** Applies a merge patch (RFC 7396 section 2), as a client does. */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return patch;
  const out: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = applyMergePatch(out[key], value);
  }
  return out;
}
