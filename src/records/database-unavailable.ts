/**
 * Postgres could not answer a statement a change depends on (unreachable, a connection lost, no
 * connection within the pool's timeout, not migrated yet), before anything was changed. The API
 * turns it into 503 `database_unavailable`: the caller may try again, unlike a 500.
 */
export class DatabaseUnavailableError extends Error {
  constructor(cause: unknown) {
    super(`database unavailable: ${(cause as Error | null)?.message ?? String(cause)}`, { cause });
    this.name = 'DatabaseUnavailableError';
  }
}

/**
 * Set on what pg and pg-pool fail with through a pool of createPool (db.ts), the records
 * module's boundary: only such an error can say Postgres is down. A socket code alone cannot,
 * as Redis, an HTTP lookup or any other client fails with the same ECONNREFUSED.
 */
const FROM_POSTGRES = Symbol('fromPostgres');

/** Marks `err` as failed by pg (createPool's pool and its clients do it to everything they reject with); returns it. */
export function markFromPostgres<T>(err: T): T {
  if (err instanceof Error && !(FROM_POSTGRES in err)) Object.defineProperty(err, FROM_POSTGRES, { value: true });
  return err;
}

/** Socket errors of a connection that could not be made or was cut (Node's `code`). */
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE']);
/**
 * SQLSTATEs of a server that cannot serve this connection: admin_shutdown, crash_shutdown,
 * cannot_connect_now (starting or stopping) and too_many_connections. Class 08 (connection
 * exceptions) is matched as a class.
 */
const SERVER_CODES = new Set(['57P01', '57P02', '57P03', '53300']);
/**
 * What pg and pg-pool throw, without a code, when a connection could not be had or was lost:
 * the pool's connect timeout, a connection closed under a query, a client left broken by one.
 */
const CONNECTION_MESSAGES = [/^timeout exceeded when trying to connect$/, /^Connection terminated/, /^Client has encountered a connection error/];

/**
 * True when `err` says Postgres could not be reached or dropped the connection, rather than
 * refusing a statement: the API answers 503 `database_unavailable` for these (try again) and
 * keeps 500 for everything else (a bad statement, a constraint, a bug, another service down).
 * A DatabaseUnavailableError, or an error pg failed with through createPool's pool (marked
 * there) whose code or message says so, so callers outside this module need not import pg.
 * Follows `cause` and an AggregateError's `errors` (a host name with several addresses fails
 * once per address); what a marked error wraps is pg's too.
 */
export function isDatabaseUnavailable(err: unknown, depth = 0, fromPostgres = false): boolean {
  if (!(err instanceof Error) || depth > 5) return false;
  if (err instanceof DatabaseUnavailableError) return true;
  const pg = fromPostgres || FROM_POSTGRES in err;
  const code = (err as { code?: unknown }).code;
  if (pg && typeof code === 'string' && (SOCKET_CODES.has(code) || SERVER_CODES.has(code) || /^08[0-9A-Z]{3}$/.test(code))) return true;
  if (pg && CONNECTION_MESSAGES.some((m) => m.test(err.message))) return true;
  if (err instanceof AggregateError && err.errors.some((e) => isDatabaseUnavailable(e, depth + 1, pg))) return true;
  return err.cause !== undefined && isDatabaseUnavailable(err.cause, depth + 1, pg);
}
