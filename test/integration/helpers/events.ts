import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { inject } from 'vitest';
import '../../setup/provided.ts';
import type { CallEvent } from '../../../src/domain/call-event.ts';
import { createLogger } from '../../../src/log/logger.ts';
import { EventStore } from '../../../src/records/event-store.ts';
import { EventWriter, type EventWriterOptions } from '../../../src/records/event-writer.ts';

/** `count` events of one new call, seq 1..count (distinct ids, so rows are countable). */
export function callEvents(count: number, from = 1, callId: string = randomUUID()): CallEvent[] {
  return Array.from({ length: count }, (_, i) => ({
    id: randomUUID(),
    callId,
    seq: from + i,
    type: 'dtmf' as const,
    at: new Date().toISOString(),
    data: { digit: String((from + i) % 10) },
  }));
}

/** Rows and distinct event ids of a call in Postgres: equal to the events sent means exactly once. */
export async function rowsOf(pool: pg.Pool, callId: string): Promise<{ rows: number; distinct: number }> {
  const { rows } = await pool.query<{ n: string; d: string }>('SELECT count(*) AS n, count(DISTINCT id) AS d FROM call_events WHERE call_id = $1', [
    callId,
  ]);
  return { rows: Number(rows[0]!.n), distinct: Number(rows[0]!.d) };
}

const spoolDirs: string[] = [];

/** A Redis prefix and spool directory of one test's own: test files share Redis and the database. */
export async function isolatedPipeline(): Promise<{ prefix: string; spoolDir: string }> {
  const spoolDir = await mkdtemp(join(tmpdir(), 'hotline-spool-'));
  spoolDirs.push(spoolDir);
  return { prefix: `${inject('redisPrefix')}ev${randomBytes(4).toString('hex')}:`, spoolDir };
}

/** Removes the spool directories isolatedPipeline made (call in afterAll). */
export async function removeSpoolDirs(): Promise<void> {
  for (const d of spoolDirs.splice(0)) await rm(d, { recursive: true, force: true });
}

/** A call-events writer with test-speed retries and claims. */
export function callEventWriter(pool: pg.Pool, opts: Partial<EventWriterOptions> & { prefix: string; spoolDir: string }): EventWriter<CallEvent> {
  return new EventWriter<CallEvent>(new EventStore(pool), createLogger('silent'), {
    redisUrl: inject('redisUrl'),
    name: 'call_events',
    retryBaseMs: 20,
    retryMaxMs: 200,
    claimIdleMs: 500,
    claimEveryMs: 200,
    blockMs: 200,
    ...opts,
  });
}
