import { randomUUID } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import '../setup/provided.ts';
import type { CallEvent } from '../../src/domain/call-event.ts';
import { EventStore } from '../../src/records/event-store.ts';
import { migrate } from '../../src/records/migrate.ts';

describe('records on real Postgres', () => {
  const pool = new pg.Pool({ connectionString: inject('databaseUrl') });
  afterAll(() => pool.end());

  it('migrations apply once, also when migrators race (other test files migrate this database too)', async () => {
    const [a, b] = await Promise.all([migrate(pool), migrate(pool)]);
    // Whichever files migrated first, no version is applied by both racing migrators.
    expect(new Set([...a, ...b]).size).toBe(a.length + b.length);
    expect(await migrate(pool)).toEqual([]);
    const files = readdirSync(resolve(import.meta.dirname, '../../src/records/migrations')).map((f) => f.replace(/\.sql$/, ''));
    const { rows } = await pool.query('SELECT version FROM schema_migrations ORDER BY version');
    expect(rows.map((r) => r.version)).toEqual(files.sort());
  });

  it('inserts are idempotent on the event id and keep data and order', async () => {
    await migrate(pool);
    const store = new EventStore(pool);
    const callId = randomUUID();
    const events: CallEvent[] = [1, 2, 3].map((seq) => ({
      id: randomUUID(),
      callId,
      seq,
      type: seq === 1 ? 'call.started' : 'dtmf',
      at: new Date(Date.UTC(2026, 10, 23, 8, 0, seq)).toISOString(),
      data: { digit: String(seq), nested: { ok: true } },
    }));
    expect(await store.insertBatch(events)).toBe(3);
    expect(await store.insertBatch(events)).toBe(0);
    expect(await store.insertBatch([events[1]!])).toBe(0);
    expect(await store.eventsOfCall(callId)).toEqual(events);
  });
});
