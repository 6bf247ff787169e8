/**
 * A call-event consumer in its own process writing through CallRecordSink (events, summaries
 * and rollups in one transaction), for the kill -9 test. Prints `committed <rows>` after every
 * commit; with HANG_AFTER_COMMITS=n it stops dead after the n-th commit, before the
 * acknowledgement (prints `hanging`).
 *   DATABASE_URL REDIS_URL PREFIX SPOOL_DIR HANG_AFTER_COMMITS node call-record-child.ts
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
let commits = 0;
const writer = new EventWriter(
  {
    async insertJson(events: string): Promise<number> {
      const n = await sink.insertJson(events);
      commits += 1;
      process.stdout.write(`committed ${n}\n`);
      if (commits >= hangAfter) {
        process.stdout.write('hanging\n');
        await new Promise(() => undefined);
      }
      return n;
    },
  },
  createLogger('silent'),
  { redisUrl: env('REDIS_URL'), prefix: env('PREFIX'), name: 'call_events', spoolDir: env('SPOOL_DIR'), readEntries: 2, blockMs: 200, consumers: 1 },
);
writer.start();
process.stdout.write('started\n');
