import pg from 'pg';

export type Pool = pg.Pool;

/**
 * The Postgres pool. An idle client's error (Postgres restarting) is handled here, or pg
 * would turn it into an unhandled 'error' event and kill the process.
 */
export function createPool(connectionString: string, onError: (err: Error) => void): pg.Pool {
  const pool = new pg.Pool({ connectionString, max: 10, connectionTimeoutMillis: 3_000, idleTimeoutMillis: 30_000 });
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
