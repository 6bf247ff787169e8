import pg from 'pg';
import { markFromPostgres } from './database-unavailable.ts';

export type Pool = pg.Pool;

/**
 * Calls pg's `method` on `target`, marking whatever it fails with as from Postgres, whether it
 * answers by callback (pg-pool calling itself and its clients) or by promise (the stores).
 */
function marking(method: (...args: unknown[]) => unknown, target: object, args: unknown[]): unknown {
  const last = args.at(-1);
  if (typeof last === 'function') {
    return method.apply(target, [...args.slice(0, -1), (err: unknown, ...rest: unknown[]) => (last as (...a: unknown[]) => unknown)(err ? markFromPostgres(err) : err, ...rest)]);
  }
  const result = method.apply(target, args);
  return result instanceof Promise ? result.catch((err: unknown) => Promise.reject(markFromPostgres(err))) : result;
}

/** The pool's clients, as checked out by inTransaction and migrate: a failed query is marked. */
class MarkingClient extends pg.Client {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  override query(...args: any[]): any {
    return marking(super.query, this, args);
  }
}

/** A pool whose query and connect failures are marked, pg-pool's own (its connect timeout) too. */
class MarkingPool extends pg.Pool {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  override connect(...args: any[]): any {
    return marking(super.connect, this, args);
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  override query(...args: any[]): any {
    return marking(super.query, this, args);
  }
}

/**
 * The Postgres pool, the records module's boundary: every error pg fails with through it is
 * marked (markFromPostgres), so the API tells Postgres down from another service down with the
 * same socket code. An idle client's error (Postgres restarting) is handled here, or pg would
 * turn it into an unhandled 'error' event and kill the process. `options` overrides the limits
 * (a test's short connect timeout).
 */
export function createPool(connectionString: string, onError: (err: Error) => void, options: Pick<pg.PoolConfig, 'max' | 'connectionTimeoutMillis'> = {}): pg.Pool {
  const pool = new MarkingPool({ connectionString, max: 10, connectionTimeoutMillis: 3_000, idleTimeoutMillis: 30_000, ...options, Client: MarkingClient });
  pool.on('error', onError);
  return pool;
}

export async function pingPostgres(pool: pg.Pool): Promise<boolean> {
  try {
    await pool.query('SELECT 1');
    return true;
  } catch {
    return false;
  }
}
