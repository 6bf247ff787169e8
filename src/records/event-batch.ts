/**
 * Pure pieces of the event pipeline: how stream entries become one insert, which Postgres
 * errors are the data's fault, how long to wait before a retry, what a spool file holds.
 * No I/O here, so all of it is unit-tested without Redis or Postgres.
 */

/** Stream entry / spool line payload: a JSON array of events, as produced by JSON.stringify. */
export type EventsJson = string;

/** True when `payload` looks like a whole JSON array (cheap: ends are checked, not parsed). */
export function looksLikeArray(payload: string): boolean {
  return payload.length >= 2 && payload.charCodeAt(0) === 0x5b && payload.charCodeAt(payload.length - 1) === 0x5d;
}

/**
 * Joins several JSON arrays into one without parsing them: the consumer hands Postgres one
 * text and Postgres parses it (in C, on the database's core), which is what lets one Node
 * process feed tens of thousands of events per second.
 */
export function joinJsonArrays(parts: readonly EventsJson[]): EventsJson {
  let out = '';
  for (const p of parts) {
    const inner = p.slice(1, -1);
    if (!inner) continue;
    out = out ? `${out},${inner}` : inner;
  }
  return `[${out}]`;
}

/**
 * Postgres refused the rows themselves (SQLSTATE class 22 data exception, 23 integrity
 * violation: a bad uuid, a seq of 0, broken JSON). Retrying cannot help, so such events are
 * isolated and dead-lettered. Everything else (connection lost, server shutting down, a
 * missing table before migrations) is transient and retried.
 */
export function isDataError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^2[23][0-9A-Z]{3}$/.test(code);
}

/** Exponential backoff without jitter (one consumer per process; nothing to de-synchronise). */
export function retryDelay(failures: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.min(Math.max(failures - 1, 0), 20));
}

export interface Rejected<T> {
  readonly item: T;
  readonly error: string;
}

/**
 * Inserts `items`; when Postgres refuses the batch for its data, bisects until the refused
 * items are alone and returns them (the rest is inserted). A transient error propagates: the
 * caller retries the whole batch, and halves already committed are no-ops the second time
 * because inserts are idempotent.
 */
export async function insertIsolating<T>(
  items: readonly T[],
  insert: (items: readonly T[]) => Promise<void>,
  isPoison: (err: unknown) => boolean = isDataError,
): Promise<Rejected<T>[]> {
  if (items.length === 0) return [];
  try {
    await insert(items);
    return [];
  } catch (err) {
    if (!isPoison(err)) throw err;
    if (items.length === 1) return [{ item: items[0]!, error: (err as Error).message }];
    const mid = Math.ceil(items.length / 2);
    const left = await insertIsolating(items.slice(0, mid), insert, isPoison);
    const right = await insertIsolating(items.slice(mid), insert, isPoison);
    return [...left, ...right];
  }
}

/**
 * The complete lines of a spool file with their event counts. Every batch is written as whole
 * lines ending in '\n'; a last line without one is a write torn by a crash (never fsynced) and
 * is dropped, as is any line that is not a JSON array.
 */
export function spoolLines(text: string): { lines: { events: EventsJson; count: number }[]; dropped: number } {
  const parts = text.split('\n');
  const tail = parts.pop() ?? '';
  const lines: { events: EventsJson; count: number }[] = [];
  let dropped = tail.length > 0 ? 1 : 0;
  for (const line of parts) {
    if (!line) continue;
    const count = looksLikeArray(line) ? arrayLength(line) : -1;
    if (count >= 0) lines.push({ events: line, count });
    else dropped += 1;
  }
  return { lines, dropped };
}

function arrayLength(line: string): number {
  try {
    const v: unknown = JSON.parse(line);
    return Array.isArray(v) ? v.length : -1;
  } catch {
    return -1;
  }
}

/** Redis stream ids compare as (milliseconds, sequence) pairs, not as strings. */
export function compareStreamIds(a: string, b: string): number {
  const [am, as] = a.split('-').map(Number) as [number, number];
  const [bm, bs] = b.split('-').map(Number) as [number, number];
  return am !== bm ? am - bm : (as ?? 0) - (bs ?? 0);
}

/** Splits `events` into stream entries of at most `max` events, oldest first. */
export function chunk<T>(events: readonly T[], max: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < events.length; i += max) out.push(events.slice(i, i + max));
  return out;
}
