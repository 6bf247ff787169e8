/**
 * A consumer in its own process, for the kill -9 tests: it writes the stream to Postgres and
 * prints `inserting` before and `committed <rows>` after every insert. With HANG_AFTER_COMMITS=n
 * it stops dead after the n-th commit, before the acknowledgement (prints `hanging`): the worst
 * moment to die.
 *   DATABASE_URL REDIS_URL PREFIX SPOOL_DIR [HANG_AFTER_COMMITS] node event-consumer-child.ts
 */
import { createLogger } from '../../../src/log/logger.ts';
import { createPool } from '../../../src/records/db.ts';
import { EventStore } from '../../../src/records/event-store.ts';
import { EventWriter } from '../../../src/records/event-writer.ts';

const env = (k: string): string => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is required`);
  return v;
};
const hangAfter = Number(process.env.HANG_AFTER_COMMITS ?? 0);
const pool = createPool(env('DATABASE_URL'), () => undefined);
const store = new EventStore(pool);
let commits = 0;
const sink = {
  async insertJson(events: string): Promise<number> {
    process.stdout.write('inserting\n');
    const n = await store.insertJson(events);
    commits += 1;
    process.stdout.write(`committed ${n}\n`);
    if (hangAfter && commits >= hangAfter) {
      process.stdout.write('hanging\n');
      await new Promise(() => undefined);
    }
    return n;
  },
};
const writer = new EventWriter(sink, createLogger('silent'), {
  redisUrl: env('REDIS_URL'),
  prefix: env('PREFIX'),
  name: 'call_events',
  spoolDir: env('SPOOL_DIR'),
  readEntries: 4,
  blockMs: 200,
});
writer.start();
process.stdout.write('started\n');
