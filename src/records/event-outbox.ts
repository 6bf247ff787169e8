import type { Redis } from 'ioredis';
import type { Logger } from '../log/logger.ts';
import { chunk, compareStreamIds, retryDelay, type EventsJson } from './event-batch.ts';
import type { EventSpool } from './event-spool.ts';
import type { EventStream } from './event-stream.ts';

export interface OutboxOptions {
  /** Events per stream entry: one XADD carries this many. */
  entryMaxEvents: number;
  /** Events taken per round trip (one pipeline of XADDs, or one spool write). */
  roundMaxEvents: number;
  /** At start, how long events wait in memory for Redis' first connection before spooling. */
  connectGraceMs: number;
}

interface Entry {
  events: EventsJson;
  count: number;
  appendedAt: number;
}

/**
 * The producer side: append() only pushes to memory; on the next turn of the event loop the
 * events go to Redis as stream entries (one pipeline), or, when Redis is not connected or a
 * command fails, to the fsynced local spool. While a round trip is in flight, new events
 * accumulate, so batches grow with load and no timer adds latency.
 *
 * An event is durable once its round ends (Redis acknowledged the XADD or the spool write was
 * fsynced): typically well under a millisecond after append(). A kill -9 inside that window
 * loses what was appended in it; nothing else is lost.
 *
 * When Redis is back (its 'ready' event, or the first round that reaches it), spool files are
 * replayed into the stream. Replayed events land after newer ones: order is not kept across an
 * outage, and need not be, since readers order by (call_id, seq) or by `at`. A batch whose
 * XADD failed after Redis had applied it is both in the stream and in the spool: two entries,
 * one row, as inserts are idempotent on the event id.
 */
export class EventOutbox<E> {
  private readonly redis: Redis;
  private readonly stream: EventStream;
  private readonly spool: EventSpool;
  private readonly log: Logger;
  private readonly opts: OutboxOptions;
  private queue: E[] = [];
  private times: number[] = [];
  /** Entries neither Redis nor the disk took: retried first, with backoff. */
  private stuck: Entry[] = [];
  private stuckFailures = 0;
  private scheduled = false;
  private pumping = false;
  private replaying: Promise<void> | null = null;
  private replayAgain = false;
  private readonly idleWaiters = new Set<() => void>();
  private readonly firstReady: Promise<void>;
  private everReady = false;
  private readonly createdAt = Date.now();
  private closed = false;
  /** The newest stream id this process added (directly or by replay). */
  lastAddedId: string | null = null;
  spooling = false;

  constructor(deps: { redis: Redis; stream: EventStream; spool: EventSpool; log: Logger }, opts: OutboxOptions) {
    this.redis = deps.redis;
    this.stream = deps.stream;
    this.spool = deps.spool;
    this.log = deps.log;
    this.opts = opts;
    this.firstReady = new Promise((resolve) => this.redis.once('ready', () => resolve()));
    this.redis.on('ready', () => {
      this.everReady = true;
      if (this.spooling) this.log.info('Redis is back: events go to the stream again; replaying the spool');
      this.spooling = false;
      void this.replay();
      this.schedule();
    });
  }

  push(event: E): void {
    this.queue.push(event);
    this.times.push(Date.now());
    this.schedule();
  }

  /** Events in memory, not yet in Redis or the spool. */
  get length(): number {
    return this.queue.length + this.stuck.reduce((n, e) => n + e.count, 0);
  }

  /** Resolves true once memory is empty (all in Redis or the spool), false after `timeoutMs`. */
  whenEmpty(timeoutMs: number): Promise<boolean> {
    if (this.length === 0 && !this.pumping) return Promise.resolve(true);
    this.schedule();
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(t);
        this.idleWaiters.delete(waiter);
        resolve(ok);
      };
      const waiter = () => done(true);
      const t = setTimeout(() => done(this.length === 0 && !this.pumping), timeoutMs);
      this.idleWaiters.add(waiter);
    });
  }

  /** Stops taking the connection's 'ready' as a cue; what is in memory is still flushed by whenEmpty. */
  close(): void {
    this.closed = true;
  }

  private schedule(delayMs = 0): void {
    if (this.scheduled || this.pumping) return;
    this.scheduled = true;
    const run = () => {
      this.scheduled = false;
      void this.pump();
    };
    if (delayMs > 0) setTimeout(run, delayMs).unref();
    else setImmediate(run);
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      if (!this.everReady && this.redis.status !== 'ready') {
        const left = this.opts.connectGraceMs - (Date.now() - this.createdAt);
        if (left > 0) await Promise.race([this.firstReady, new Promise((r) => setTimeout(r, left).unref())]);
      }
      while (this.stuck.length || this.queue.length) {
        const entries = this.stuck.length ? this.stuck.splice(0) : this.take();
        const left = await this.toRedis(entries);
        if (left.length && !(await this.toSpool(left))) {
          this.stuck = left;
          break;
        }
      }
    } finally {
      this.pumping = false;
    }
    if (this.stuck.length) {
      this.stuckFailures += 1;
      this.schedule(retryDelay(this.stuckFailures, 100, 5_000));
      return;
    }
    this.stuckFailures = 0;
    if (this.queue.length) this.schedule();
    else for (const w of [...this.idleWaiters]) w();
  }

  private take(): Entry[] {
    let events = this.queue;
    let times = this.times;
    if (events.length <= this.opts.roundMaxEvents) {
      this.queue = [];
      this.times = [];
    } else {
      events = this.queue.splice(0, this.opts.roundMaxEvents);
      times = this.times.splice(0, this.opts.roundMaxEvents);
    }
    let at = 0;
    return chunk(events, this.opts.entryMaxEvents).map((c) => {
      const entry = { events: JSON.stringify(c), count: c.length, appendedAt: times[at]! };
      at += c.length;
      return entry;
    });
  }

  /** XADDs the entries; returns those Redis did not take. */
  private async toRedis(entries: Entry[]): Promise<Entry[]> {
    if (this.redis.status !== 'ready') return entries;
    let ids: (string | Error)[];
    try {
      ids = await this.stream.add(this.redis, entries);
    } catch {
      return entries;
    }
    const left = entries.filter((_, i) => ids[i] instanceof Error);
    for (const id of ids) if (typeof id === 'string') this.noteAdded(id);
    if (left.length < entries.length) {
      this.spooling = false;
      if (this.spool.pendingEvents > 0) void this.replay();
    }
    return left;
  }

  private async toSpool(entries: Entry[]): Promise<boolean> {
    try {
      await this.spool.append(
        entries.map((e) => e.events),
        entries.reduce((n, e) => n + e.count, 0),
      );
      if (!this.spooling) this.log.warn({ events: entries.reduce((n, e) => n + e.count, 0) }, 'Redis unreachable: events go to the local spool');
      this.spooling = true;
      return true;
    } catch (err) {
      if (this.stuckFailures % 20 === 0) this.log.error({ err: (err as Error).message }, 'Redis and the spool both failed: events wait in memory');
      return false;
    }
  }

  private noteAdded(id: string): void {
    if (this.lastAddedId === null || compareStreamIds(id, this.lastAddedId) > 0) this.lastAddedId = id;
  }

  /** Replays every claimable spool file into the stream; one replay at a time. */
  replay(): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.replaying) {
      this.replayAgain = true;
      return this.replaying;
    }
    this.replaying = (async () => {
      do {
        this.replayAgain = false;
        await this.replayOnce().catch((err: Error) => this.log.warn({ err: err.message }, 'spool replay interrupted; it resumes when Redis answers'));
      } while (this.replayAgain && this.redis.status === 'ready');
    })().finally(() => {
      this.replaying = null;
    });
    return this.replaying;
  }

  private async replayOnce(): Promise<void> {
    if (this.redis.status !== 'ready') return;
    await this.spool.seal();
    for (const file of await this.spool.claimAll()) {
      const { lines, dropped } = await this.spool.read(file);
      if (dropped) this.log.warn({ file, dropped }, 'spool lines dropped (torn by a crash or corrupt)');
      for (const part of chunk(lines, 100)) {
        const ids = await this.stream.add(this.redis, part.map((l) => ({ ...l, appendedAt: Date.now() })));
        const err = ids.find((i): i is Error => i instanceof Error);
        if (err) throw err;
        for (const id of ids as string[]) this.noteAdded(id);
      }
      const events = lines.reduce((n, l) => n + l.count, 0);
      await this.spool.done(file, events);
      this.log.info({ file, events }, 'spool file replayed into the event stream');
    }
  }
}
