import type { Redis } from 'ioredis';
import type { Logger } from '../log/logger.ts';
import { insertIsolating, isDataError, joinJsonArrays, looksLikeArray, retryDelay, type EventsJson } from './event-batch.ts';
import type { EventStream, StreamEntry } from './event-stream.ts';

/** Where a batch goes: one idempotent insert of a JSON array of events (ON CONFLICT DO NOTHING). */
export interface JsonBatchSink {
  /** Returns how many rows were new (the rest were already there). */
  insertJson(events: EventsJson): Promise<number>;
  /** Housekeeping (partitions ahead, retention), run by the writer at start and hourly. */
  maintain?(): Promise<void>;
  /** Work left over by a crashed process that this sink finishes when the stream is quiet. */
  idle?(): Promise<void>;
  /**
   * The second stage: what is derived from the stored events (summaries, intervals, rollups).
   * When set, the writer forwards every committed batch to a fold stream and a fold consumer
   * group applies this sink to it (see EventWriter).
   */
  readonly fold?: JsonBatchSink;
}

export interface ConsumerOptions {
  /** Stream entries per read (each holds up to `entryMaxEvents` events). */
  readEntries: number;
  blockMs: number;
  retryBaseMs: number;
  retryMaxMs: number;
  /** An entry pending this long with another consumer is taken over (that consumer is presumed dead). */
  claimIdleMs: number;
  claimEveryMs: number;
}

/** How often a consumer looks for group members that are gone (crashed processes' names). */
const FORGET_EVERY_MS = 600_000;

/** What a committed batch looked like: for metrics and the bench's lag percentiles. */
export interface CommitInfo {
  readonly entries: readonly StreamEntry[];
  readonly inserted: number;
  readonly committedAt: number;
}

/**
 * Reads the stream as one member of the consumer group and writes each batch to Postgres:
 * insert (idempotent) -> commit -> XACK+XDEL. A crash between commit and ack leaves the entries
 * pending; another consumer claims them after `claimIdleMs` and inserts them again, which
 * inserts nothing: no loss, no duplicate. A failing insert is retried with backoff, holding
 * the batch (and reading nothing new) until Postgres is back. Events Postgres refuses as data
 * are isolated and dead-lettered so one bad event cannot stop the pipeline.
 */
export class EventConsumer {
  private readonly redis: Redis;
  private readonly stream: EventStream;
  private readonly sink: JsonBatchSink;
  private readonly log: Logger;
  private readonly opts: ConsumerOptions;
  private readonly onCommit: (info: CommitInfo) => void;
  private readonly forward: EventStream | null;
  private readonly gate: ((stopping: () => boolean) => Promise<void>) | null;
  readonly name: string;
  private stopping = false;
  private loop: Promise<void> | null = null;
  private nextClaimAt = 0;
  private nextForgetAt = 0;
  private sleeper: { timer: NodeJS.Timeout; wake: () => void } | null = null;
  /** Consecutive failed attempts (Postgres or Redis); 0 when the last one succeeded. */
  failures = 0;
  written = 0;
  duplicates = 0;

  /**
   * `forward`: the fold stream that receives each committed batch in the same MULTI as its
   * XACK+XDEL. `gate`: awaited before each read (the folders let the raw writers go first).
   */
  constructor(
    deps: {
      redis: Redis;
      stream: EventStream;
      sink: JsonBatchSink;
      log: Logger;
      name: string;
      onCommit?: (info: CommitInfo) => void;
      forward?: EventStream;
      gate?: (stopping: () => boolean) => Promise<void>;
    },
    opts: ConsumerOptions,
  ) {
    this.redis = deps.redis;
    this.forward = deps.forward ?? null;
    this.gate = deps.gate ?? null;
    this.stream = deps.stream;
    this.sink = deps.sink;
    this.log = deps.log;
    this.name = deps.name;
    this.onCommit = deps.onCommit ?? (() => undefined);
    this.opts = opts;
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** Stops after the batch in hand (its retries end; unacknowledged entries stay pending for a claim). */
  async stop(): Promise<void> {
    this.stopping = true;
    this.sleeper?.wake();
    // A blocked XREADGROUP holds the connection: closing it ends the read at once.
    this.redis.disconnect();
    await this.loop;
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      let batch: StreamEntry[];
      try {
        await this.gate?.(() => this.stopping);
        if (this.stopping) break;
        batch = await this.next();
      } catch (err) {
        if (this.stopping) break;
        await this.failed(err, 'event stream read failed');
        continue;
      }
      if (batch.length) await this.write(batch);
      else await this.quiet();
    }
  }

  private async next(): Promise<StreamEntry[]> {
    if (Date.now() >= this.nextClaimAt) {
      this.nextClaimAt = Date.now() + this.opts.claimEveryMs;
      await this.stream.ensureGroup(this.redis);
      const claimed = await this.stream.claim(this.redis, this.name, this.opts.claimIdleMs, this.opts.readEntries);
      if (claimed.length) {
        this.log.info({ entries: claimed.length }, 'claimed pending events of a stopped consumer');
        this.nextClaimAt = 0; // more may be waiting
        return claimed;
      }
      if (Date.now() >= this.nextForgetAt) {
        this.nextForgetAt = Date.now() + FORGET_EVERY_MS;
        await this.stream.forgetIdleConsumers(this.redis, Math.max(3_600_000, this.opts.claimIdleMs * 10));
      }
    }
    try {
      return await this.stream.read(this.redis, this.name, this.opts.readEntries, this.opts.blockMs);
    } catch (err) {
      // Redis restarted without its data (or the stream was deleted): recreate the group.
      if (/NOGROUP/.test((err as Error).message)) this.nextClaimAt = 0;
      throw err;
    }
  }

  /** Nothing to read: the sink may finish a crashed process' leftovers meanwhile. */
  private async quiet(): Promise<void> {
    if (!this.sink.idle) return this.recovered();
    try {
      await this.sink.idle();
      this.recovered();
    } catch (err) {
      if (!this.stopping) await this.failed(err, 'event sink housekeeping failed; will retry');
    }
  }

  /** Insert until it commits (or we stop), then ack (and forward) until that succeeds (or we stop). */
  private async write(batch: StreamEntry[]): Promise<void> {
    let done: { inserted: number; accepted: StreamEntry[] } | null = null;
    while (!this.stopping && done === null) {
      try {
        done = await this.insert(batch);
      } catch (err) {
        await this.failed(err, 'event write failed; will retry');
      }
    }
    if (done === null) return;
    const { inserted, accepted } = done;
    const events = batch.reduce((n, e) => n + e.count, 0);
    this.written += inserted;
    this.duplicates += Math.max(0, events - inserted);
    this.onCommit({ entries: batch, inserted, committedAt: Date.now() });
    while (!this.stopping) {
      try {
        // Every accepted event is forwarded, not only the rows inserted now: a batch that comes
        // again after a crash between commit and this MULTI inserts nothing, yet was never forwarded.
        await this.stream.ack(this.redis, batch.map((e) => e.id), this.forward ? { stream: this.forward, entries: accepted } : undefined);
        this.recovered();
        return;
      } catch (err) {
        await this.failed(err, 'event ack failed; will retry (the rows are committed; a re-delivery inserts nothing)');
      }
    }
  }

  /** Rows inserted, and the entries as Postgres accepted them (without dead-lettered events). */
  private async insert(batch: StreamEntry[]): Promise<{ inserted: number; accepted: StreamEntry[] }> {
    const whole = batch.filter((e) => looksLikeArray(e.events));
    try {
      if (whole.length !== batch.length) throw Object.assign(new Error('stream entry is not a JSON array'), { code: '22P02' });
      return { inserted: await this.sink.insertJson(joinJsonArrays(whole.map((e) => e.events))), accepted: batch };
    } catch (err) {
      if (!isDataError(err)) throw err;
    }
    // Some event is refused for its data: find it, keep the rest, dead-letter the refused.
    let inserted = 0;
    const events: string[] = [];
    for (const e of batch) {
      try {
        for (const ev of JSON.parse(e.events) as unknown[]) events.push(JSON.stringify(ev));
      } catch {
        events.push(e.events);
      }
    }
    const rejected = await insertIsolating(events, async (part) => {
      inserted += await this.sink.insertJson(`[${part.join(',')}]`);
    });
    if (rejected.length) {
      await this.stream.deadLetter(this.redis, rejected.map((r) => ({ event: r.item, error: r.error })));
      this.log.error({ rejected: rejected.length, first: rejected[0]!.error, deadLetters: this.stream.deadKey }, 'events refused by Postgres were dead-lettered');
    }
    const refused = new Set(rejected.map((r) => r.item));
    const kept = events.filter((e) => !refused.has(e));
    const appendedAt = Math.min(...batch.map((e) => e.appendedAt));
    return { inserted, accepted: kept.length ? [{ id: batch[0]!.id, events: `[${kept.join(',')}]`, count: kept.length, appendedAt }] : [] };
  }

  private recovered(): void {
    if (this.failures > 0) this.log.info({ afterFailures: this.failures }, 'event writes resumed');
    this.failures = 0;
  }

  private async failed(err: unknown, msg: string): Promise<void> {
    this.failures += 1;
    const delay = retryDelay(this.failures, this.opts.retryBaseMs, this.opts.retryMaxMs);
    if (this.failures === 1 || this.failures % 20 === 0) this.log.warn({ err: (err as Error).message, retryInMs: delay, failures: this.failures }, msg);
    await new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(this.sleeper?.timer);
        this.sleeper = null;
        resolve();
      };
      this.sleeper = { timer: setTimeout(wake, delay), wake };
    });
  }
}
