import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { Redis } from 'ioredis';
import type { Logger } from '../log/logger.ts';
import { compareStreamIds } from './event-batch.ts';
import { EventConsumer, type CommitInfo, type ConsumerOptions, type JsonBatchSink } from './event-consumer.ts';
import { EventOutbox, type OutboxOptions } from './event-outbox.ts';
import { EventSpool } from './event-spool.ts';
import { EventStream } from './event-stream.ts';

export type { CommitInfo, JsonBatchSink };

export interface EventWriterOptions extends Partial<OutboxOptions>, Partial<ConsumerOptions> {
  redisUrl: string;
  /** The app's Redis key prefix; the stream is `<prefix>events:<name>`. */
  prefix: string;
  /** Names the stream and the spool files: the table, e.g. `call_events`. */
  name: string;
  spoolDir: string;
  /** A producer XADD slower than this counts as failed and goes to the spool. */
  commandTimeoutMs?: number;
  /**
   * Consumer loops in this process, each with its own connection and group member name: while
   * one waits for Postgres to commit, another reads and sends the next batch, so Postgres works
   * on two cores (measured: one loop tops out near 45,000 events/s here, two pass 60,000).
   */
  consumers?: number;
  /** Called after each committed batch (metrics, the bench's lag percentiles). */
  onCommit?: (info: CommitInfo) => void;
  /** Fold consumer loops in this process (when the sink has a fold stage); default `consumers`. */
  folders?: number;
  /**
   * Fold stream entries per read: more than the writers' `readEntries`, because a fold's cost
   * is per call touched, and a bigger batch holds more events of each call in progress.
   */
  foldReadEntries?: number;
  /**
   * Raw events go first: a folder waits while the raw stream holds more unwritten entries than
   * this (checking every 50 ms), for at most `foldYieldMaxMs` in a row, so on 2 cores a burst
   * is written at the raw writers' speed and folded after (measured in bench/events.ts).
   */
  foldYieldEntries?: number;
  foldYieldMaxMs?: number;
  /** Called after each committed fold batch; `appendedAt` of its entries is still the producer's. */
  onFold?: (info: CommitInfo) => void;
}

const DEFAULTS: OutboxOptions & ConsumerOptions & { commandTimeoutMs: number; consumers: number } = {
  entryMaxEvents: 250,
  roundMaxEvents: 5_000,
  connectGraceMs: 3_000,
  readEntries: 20,
  blockMs: 2_000,
  retryBaseMs: 250,
  retryMaxMs: 5_000,
  claimIdleMs: 10_000,
  claimEveryMs: 2_000,
  commandTimeoutMs: 2_000,
  consumers: 2,
};

const MAINTAIN_EVERY_MS = 3_600_000;
/** Default fold read: up to 25,000 events per fold transaction (100 entries of 250). */
const FOLD_READ_ENTRIES = 100;
/** Default: folders wait while more than 10,000 raw events (40 entries) wait, up to 5 s in a row. */
const FOLD_YIELD_ENTRIES = 40;
const FOLD_YIELD_MAX_MS = 5_000;

/**
 * Durable write-behind for events (call events, ops events): producers append() without ever
 * waiting; events go to a Redis stream (or, when Redis is away, to a local fsynced spool that
 * is replayed later); a consumer group member in this process writes them to Postgres in
 * batches, idempotently, and acknowledges only after commit. Any number of app instances may
 * share the stream: each consumes, and a crashed one's pending batches are claimed by the
 * others (or by its own next start). See event-outbox.ts, event-consumer.ts, event-spool.ts.
 */
export class EventWriter<E> {
  private readonly producer: Redis;
  private readonly stream: EventStream;
  /** `<stream>:fold`: batches committed to the raw table, waiting for the sink's fold stage. */
  private readonly foldStream: EventStream;
  private readonly spool: EventSpool;
  private readonly outbox: EventOutbox<E>;
  private readonly sink: JsonBatchSink;
  private readonly log: Logger;
  private readonly opts: typeof DEFAULTS & EventWriterOptions;
  private consumers: EventConsumer[] = [];
  private folders: EventConsumer[] = [];
  private maintenance: NodeJS.Timeout | null = null;

  constructor(sink: JsonBatchSink, log: Logger, options: EventWriterOptions) {
    const opts = { ...DEFAULTS, ...options };
    this.sink = sink;
    this.log = log;
    this.opts = opts;
    this.stream = new EventStream(opts.prefix, opts.name);
    this.foldStream = new EventStream(opts.prefix, `${opts.name}:fold`);
    this.spool = new EventSpool(opts.spoolDir, opts.name);
    // Producer connection: fail fast instead of queueing, so a Redis outage sends events to
    // the spool at once rather than into an unbounded in-memory offline queue.
    this.producer = new Redis(opts.redisUrl, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: opts.commandTimeoutMs,
      retryStrategy: (times) => Math.min(times * 100, 1_000),
    });
    this.producer.on('error', () => undefined); // state changes are logged by the outbox
    this.outbox = new EventOutbox({ redis: this.producer, stream: this.stream, spool: this.spool, log }, opts);
  }

  /** Never blocks and never throws: the event is in Redis or the spool within a few milliseconds. */
  append(event: E): void {
    this.outbox.push(event);
  }

  /**
   * Starts consuming (after migrations): what was appended before waits in Redis meanwhile.
   *
   * With a fold stage, two consumer groups run on two streams. The writers insert the raw
   * events and, in the MULTI that acknowledges a batch, append it to the fold stream; the
   * folders fold it into summaries and rollups and acknowledge it after their own commit. Why
   * a derived stream rather than the alternatives:
   * - a second group on the same stream cannot tell when both groups are done with an entry
   *   (Redis 7 has no ack-and-delete-when-all-acked), so the writers could no longer XDEL and
   *   the stream would have to be trimmed by guesswork;
   * - a "folded up to" watermark over call_events needs a commit-ordered key: ids and
   *   recorded_at are assigned before commit, so two writers committing out of order would
   *   make the folder skip rows, and the snapshot-xmin cure adds an indexed column to the hot
   *   insert and stalls behind any long transaction; it would also read every event back.
   * The raw insert keeps its speed (the fold's locks and upserts are off its path), and the
   * fold stream carries the payload already in hand, so the folder reads nothing back.
   * Exactly-once for the fold: summaries are a deterministic fold of the stored events, and a
   * redelivered batch (a folder died before its ack) holds seqs its calls' summaries have
   * already seen, which makes those calls fold again from call_events: same rows, same rollup.
   */
  start(): void {
    if (this.consumers.length) return;
    if (this.sink.maintain) {
      const maintain = () =>
        void this.sink.maintain?.().catch((err: Error) => this.log.warn({ err: err.message }, 'event table maintenance failed; retried within the hour'));
      maintain();
      this.maintenance = setInterval(maintain, MAINTAIN_EVERY_MS).unref();
    }
    const base = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
    const fold = this.sink.fold;
    for (let i = 0; i < Math.max(1, this.opts.consumers); i++) {
      const consumer = new EventConsumer(
        { redis: this.connection(), stream: this.stream, sink: this.sink, log: this.log, name: `${base}:${i}`, onCommit: this.opts.onCommit, ...(fold ? { forward: this.foldStream } : {}) },
        this.opts,
      );
      this.consumers.push(consumer);
      consumer.start();
    }
    if (!fold) return;
    for (let i = 0; i < Math.max(1, this.opts.folders ?? this.opts.consumers); i++) {
      const folder = new EventConsumer(
        { redis: this.connection(), stream: this.foldStream, sink: fold, log: this.log, name: `${base}:fold:${i}`, onCommit: this.opts.onFold, gate: (stopping) => this.rawFirst(stopping) },
        { ...this.opts, readEntries: this.opts.foldReadEntries ?? Math.max(this.opts.readEntries, FOLD_READ_ENTRIES) },
      );
      this.folders.push(folder);
      folder.start();
    }
  }

  /** A folder's gate: returns once the raw backlog is small, after `foldYieldMaxMs`, or on stop. */
  private async rawFirst(stopping: () => boolean): Promise<void> {
    const limit = this.opts.foldYieldEntries ?? FOLD_YIELD_ENTRIES;
    const until = Date.now() + (this.opts.foldYieldMaxMs ?? FOLD_YIELD_MAX_MS);
    while (!stopping() && Date.now() < until) {
      let backlog: number;
      try {
        backlog = await this.stream.length(this.producer);
      } catch {
        return; // Redis away: the read that follows reports it
      }
      if (backlog <= limit) return;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Blocking reads hold a connection: each loop has its own, queueing while Redis is away. */
  private connection(): Redis {
    const redis = new Redis(this.opts.redisUrl, { maxRetriesPerRequest: null, retryStrategy: (times) => Math.min(times * 100, 1_000) });
    redis.on('error', () => undefined); // read failures are logged by the consumer
    return redis;
  }

  /** Events this process holds that are not in Redis yet (memory, or spooled and not replayed). */
  get pending(): number {
    return this.outbox.length + this.spool.pendingEvents;
  }

  /** False while Postgres writes fail or Redis is unreachable (events are spooled). */
  get healthy(): boolean {
    return [...this.consumers, ...this.folders].every((c) => c.failures === 0) && !this.outbox.spooling;
  }

  /** Rows this process inserted (re-deliveries that inserted nothing are not counted). */
  get totalWritten(): number {
    return this.consumers.reduce((n, c) => n + c.written, 0);
  }

  /** Events this process wrote again that were already in Postgres (re-deliveries, replays). */
  get duplicatesSkipped(): number {
    return this.consumers.reduce((n, c) => n + c.duplicates, 0);
  }

  /** Resolves true once every event appended so far is in Redis or fsynced in the spool. */
  whenDurable(timeoutMs: number): Promise<boolean> {
    return this.outbox.whenEmpty(timeoutMs);
  }

  /** Unwritten entries in the stream, from every producer (for metrics and tests). */
  backlog(): Promise<number> {
    return this.stream.length(this.producer);
  }

  /** Written entries not folded yet (0 without a fold stage). */
  foldBacklog(): Promise<number> {
    return this.foldStream.length(this.producer);
  }

  /**
   * Resolves true once everything appended here so far is in Postgres (whoever wrote it) and,
   * with a fold stage, folded; false after `timeoutMs`. False loses nothing: the rest waits in
   * Redis or the spool.
   */
  async drain(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    if (!(await this.outbox.whenEmpty(timeoutMs))) return false;
    const pause = () => new Promise((r) => setTimeout(r, Math.min(50, Math.max(1, deadline - Date.now()))));
    for (;;) {
      if (await this.written()) break;
      if (Date.now() >= deadline) return false;
      if (this.spool.pendingEvents > 0) void this.outbox.replay();
      await pause();
    }
    if (!this.sink.fold) return true;
    // Written batches are in the fold stream by now (forwarded with their ack): wait for its newest.
    let last: string | null;
    try {
      last = await this.foldStream.newest(this.producer);
    } catch {
      return false;
    }
    for (;;) {
      if (last === null || (await this.passed(this.foldStream, last))) return true;
      if (Date.now() >= deadline) return false;
      await pause();
    }
  }

  /** Flushes memory to Redis or the spool, stops consuming and closes the connections. */
  async close(timeoutMs = 5_000): Promise<void> {
    await this.outbox.whenEmpty(timeoutMs);
    this.outbox.close();
    if (this.maintenance) clearInterval(this.maintenance);
    await Promise.all([...this.consumers, ...this.folders].map((c) => c.stop()));
    await this.spool.close();
    this.producer.disconnect();
  }

  private async written(): Promise<boolean> {
    if (this.outbox.length > 0 || this.spool.pendingEvents > 0) return false;
    const last = this.outbox.lastAddedId;
    return last === null || this.passed(this.stream, last);
  }

  /** Whether every entry of `stream` up to `id` is acknowledged (and so deleted). */
  private async passed(stream: EventStream, id: string): Promise<boolean> {
    try {
      const oldest = await stream.oldest(this.producer);
      return oldest === null || compareStreamIds(oldest, id) > 0;
    } catch {
      return false;
    }
  }
}
