/**
 * A call-event writer in its own process writing through CallRecordSink (raw events, then the
 * fold stage: summaries and rollups), for the kill -9 tests. Prints `committed <rows>` after
 * every commit of the stage under test (STAGE=raw, the default, or fold); with
 * HANG_AFTER_COMMITS=n it stops dead after that stage's n-th commit, before the
 * acknowledgement (prints `hanging`). The other stage runs normally.
 *   DATABASE_URL REDIS_URL PREFIX SPOOL_DIR HANG_AFTER_COMMITS [STAGE] node call-record-child.ts
 */
import { createLogger } from '../../../src/log/logger.ts';
import { CallRecordSink } from '../../../src/records/call-record-sink.ts';
import { createPool } from '../../../src/records/db.ts';
import { EventStore } from '../../../src/records/event-store.ts';
import { EventWriter } from '../../../src/records/event-writer.ts';

const env = (k: string): string => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is required`);
  return v;
};
const hangAfter = Number(env('HANG_AFTER_COMMITS'));
const pool = createPool(env('DATABASE_URL'), () => undefined);
const sink = new CallRecordSink(pool, new EventStore(pool));
const stage = process.env.STAGE === 'fold' ? 'fold' : 'raw';
let commits = 0;
/** `insert`, then a report of the commit, and after the n-th a hang before the consumer can acknowledge. */
const hanging = (insert: (events: string) => Promise<number>) => async (events: string): Promise<number> => {
  const n = await insert(events);
  commits += 1;
  process.stdout.write(`committed ${n}\n`);
  if (commits >= hangAfter) {
    process.stdout.write('hanging\n');
    await new Promise(() => undefined);
  }
  return n;
};
const fold = { insertJson: stage === 'fold' ? hanging((e) => sink.fold.insertJson(e)) : (e: string) => sink.fold.insertJson(e) };
const writer = new EventWriter(
  { insertJson: stage === 'raw' ? hanging((e) => sink.insertJson(e)) : (e: string) => sink.insertJson(e), fold },
  createLogger('silent'),
  { redisUrl: env('REDIS_URL'), prefix: env('PREFIX'), name: 'call_events', spoolDir: env('SPOOL_DIR'), readEntries: 2, foldReadEntries: 2, blockMs: 200, consumers: 1 },
);
writer.start();
process.stdout.write('started\n');
