import type pg from 'pg';

/**
 * Runs `fn` in one transaction on one pooled client: COMMIT when it resolves, ROLLBACK when it
 * throws (the error propagates, so the event consumer retries the batch). A client whose
 * ROLLBACK fails is broken (connection lost) and is destroyed instead of returned to the pool.
 */
export async function inTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch((e: Error) => (broken = e));
    throw err;
  } finally {
    client.release(broken);
  }
}

/**
 * Advisory lock classes (the two-key form, a key space apart from the one-key locks of
 * migrate.ts and migration 004). A call's summary and an agent's intervals each have one writer
 * at a time, whichever app instance or consumer loop holds the batch.
 */
export const LOCK_CLASS = { call: 704_111, agent: 704_112 } as const;

/**
 * Rebuilding the rollups takes this one-key lock exclusively; every summary writer takes it
 * shared, so a rebuild never interleaves with live deltas.
 */
export const ROLLUP_REBUILD_LOCK = 7_041_100_862;

/**
 * Making a flow version active (publish, rollback, seeding) and removing a queue both take this
 * one-key lock exclusively (see FlowStore), so on every instance a removal's "no active flow
 * names it" check and a publish's "the queue exists" check each see the other's result.
 */
export const FLOW_ACTIVATION_LOCK = 7_041_100_863;

/**
 * Takes the transaction-scoped advisory locks of `keys` in one statement, in the order of their
 * hashes: every writer locks in the same order, so two writers never wait on each other in a
 * circle (keys hash to int4; a collision only makes two keys share a lock).
 */
export async function lockKeys(client: pg.PoolClient, lockClass: number, keys: readonly string[]): Promise<void> {
  if (keys.length === 0) return;
  await client.query('SELECT pg_advisory_xact_lock($1::int, h) FROM (SELECT DISTINCT hashtext(k) AS h FROM unnest($2::text[]) AS k ORDER BY 1) AS s', [
    lockClass,
    keys,
  ]);
}
