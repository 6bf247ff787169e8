import { Redis } from 'ioredis';
import type { EventsJson } from './event-batch.ts';

/** One stream entry: a batch of events, how many, and when the oldest was appended. */
export interface StreamEntry {
  readonly id: string;
  readonly events: EventsJson;
  readonly count: number;
  readonly appendedAt: number;
}

const GROUP = 'writers';

/**
 * The Redis side of the event pipeline: a stream per table (`<prefix>events:<name>`) read by
 * one consumer group, and a dead-letter stream (`…:dead`) for events Postgres refuses.
 *
 * Why a stream and not BullMQ (measured with `node bench/events.ts transport`): an event is
 * one XADD field and a batch of hundreds of events is one entry, one XREADGROUP returns many
 * entries, and one XACK+XDEL retires them. BullMQ stores every job as a hash plus list/zset
 * moves and an events-stream record, its worker takes one job per round trip (batches are a
 * paid feature), and it has no notion of "claim the pending work of a dead consumer" beyond
 * its stalled-job checker. The stream gives exactly the primitives exactly-once needs: a
 * pending-entries list per consumer, ack after commit, and XAUTOCLAIM.
 */
export class EventStream {
  readonly key: string;
  readonly deadKey: string;
  readonly group = GROUP;

  constructor(prefix: string, name: string) {
    this.key = `${prefix}events:${name}`;
    this.deadKey = `${this.key}:dead`;
  }

  /** XADDs entries in one pipeline; returns each entry's id, or the error it got. */
  async add(redis: Redis, entries: readonly { events: EventsJson; count: number; appendedAt: number }[]): Promise<(string | Error)[]> {
    const p = redis.pipeline();
    for (const e of entries) p.xadd(this.key, '*', 'e', e.events, 'n', e.count, 't', e.appendedAt);
    const res = (await p.exec()) ?? [];
    return entries.map((_, i) => {
      const [err, id] = res[i] ?? [new Error('no reply'), null];
      return err ?? (typeof id === 'string' ? id : new Error('no id'));
    });
  }

  /** Creates the group if missing, from the start of the stream: nothing added before is skipped. */
  async ensureGroup(redis: Redis): Promise<void> {
    try {
      await redis.xgroup('CREATE', this.key, GROUP, '0', 'MKSTREAM');
    } catch (err) {
      if (!/BUSYGROUP/.test((err as Error).message)) throw err;
    }
  }

  /** New entries for `consumer`, waiting up to `blockMs` for some. */
  async read(redis: Redis, consumer: string, count: number, blockMs: number): Promise<StreamEntry[]> {
    const res = (await redis.xreadgroup('GROUP', GROUP, consumer, 'COUNT', count, 'BLOCK', blockMs, 'STREAMS', this.key, '>')) as
      | [string, [string, string[]][]][]
      | null;
    return res?.[0]?.[1].map(toEntry).filter((e): e is StreamEntry => e !== null) ?? [];
  }

  /**
   * Takes over entries another consumer (a crashed process) received but never acknowledged
   * for `minIdleMs`. Entries deleted meanwhile come back as ids only and are dropped from the
   * pending list by Redis itself.
   */
  async claim(redis: Redis, consumer: string, minIdleMs: number, count: number): Promise<StreamEntry[]> {
    const out: StreamEntry[] = [];
    let cursor = '0-0';
    do {
      const [next, entries] = (await redis.xautoclaim(this.key, GROUP, consumer, minIdleMs, cursor, 'COUNT', count)) as [
        string,
        [string, string[] | null][],
      ];
      for (const raw of entries) {
        const e = toEntry(raw);
        if (e) out.push(e);
      }
      cursor = next;
    } while (cursor !== '0-0' && out.length < count);
    return out;
  }

  /**
   * Acknowledges and deletes committed entries in one transaction: the stream holds only
   * unwritten work. With `forward`, the same MULTI appends `entries` to the fold stream, so an
   * entry is always either pending here or waiting there, never both and never neither.
   */
  async ack(redis: Redis, ids: readonly string[], forward?: { stream: EventStream; entries: readonly StreamEntry[] }): Promise<void> {
    if (ids.length === 0) return;
    const m = redis.multi();
    for (const e of forward?.entries ?? []) m.xadd(forward!.stream.key, '*', 'e', e.events, 'n', e.count, 't', e.appendedAt);
    const res = await m.xack(this.key, GROUP, ...ids).xdel(this.key, ...ids).exec();
    const failed = res?.find(([err]) => err);
    if (!res || failed) throw failed?.[0] ?? new Error('ack transaction aborted');
  }

  async deadLetter(redis: Redis, events: readonly { event: string; error: string }[]): Promise<void> {
    const p = redis.pipeline();
    for (const d of events) p.xadd(this.deadKey, '*', 'e', d.event, 'error', d.error);
    await p.exec();
  }

  /** The id of the oldest entry still in the stream (unwritten), or null when it is empty. */
  async oldest(redis: Redis): Promise<string | null> {
    const res = await redis.xrange(this.key, '-', '+', 'COUNT', 1);
    return res[0]?.[0] ?? null;
  }

  /** The id of the newest entry in the stream, or null when it is empty. */
  async newest(redis: Redis): Promise<string | null> {
    const res = await redis.xrevrange(this.key, '+', '-', 'COUNT', 1);
    return res[0]?.[0] ?? null;
  }

  async length(redis: Redis): Promise<number> {
    return redis.xlen(this.key);
  }

  /**
   * Forgets consumers that have nothing pending and were idle for `idleMs` (crashed or
   * stopped processes); consumers with pending entries are kept until those are claimed.
   */
  async forgetIdleConsumers(redis: Redis, idleMs: number): Promise<void> {
    const list = (await redis.xinfo('CONSUMERS', this.key, GROUP)) as unknown[][];
    for (const row of list) {
      const info: Record<string, unknown> = {};
      for (let i = 0; i + 1 < row.length; i += 2) info[String(row[i])] = row[i + 1];
      if (Number(info.pending) === 0 && Number(info.idle) > idleMs) await redis.xgroup('DELCONSUMER', this.key, GROUP, String(info.name));
    }
  }
}

function toEntry([id, fields]: [string, string[] | null]): StreamEntry | null {
  if (!fields) return null;
  let events = '[]';
  let count = 0;
  let appendedAt = 0;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const v = fields[i + 1]!;
    if (fields[i] === 'e') events = v;
    else if (fields[i] === 'n') count = Number(v);
    else if (fields[i] === 't') appendedAt = Number(v);
  }
  return { id, events, count, appendedAt };
}
