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
