import type { Logger } from '../log/logger.ts';

export interface BatchSink<E> {
  insertBatch(events: readonly E[]): Promise<number>;
}

export interface EventWriterOptions {
  batchSize: number;
  retryBaseMs: number;
  retryMaxMs: number;
}

/**
 * Write-behind for events (call events, and ops events such as agent state changes): append() never blocks a call, batches go to Postgres, and a
 * failed batch stays at the head of the buffer and is retried with backoff until Postgres is
 * back. Inserts are idempotent, so a batch that committed but whose reply was lost is safe to
 * send again.
 *
 * Limit: the buffer is in memory, so a crash of this process loses what was not yet written.
 * The durable pipeline (Redis + local spool) in the records issue removes that limit.
 */
export class EventWriter<E> {
  private readonly buffer: E[] = [];
  private flushing = false;
  private started = false;
  private failures = 0;
  private timer: NodeJS.Timeout | null = null;
  private written = 0;
  private readonly waiters = new Set<() => void>();

  private readonly sink: BatchSink<E>;
  private readonly log: Logger;
  private readonly opts: EventWriterOptions;

  constructor(sink: BatchSink<E>, log: Logger, opts: EventWriterOptions) {
    this.sink = sink;
    this.log = log;
    this.opts = opts;
  }

  append(event: E): void {
    this.buffer.push(event);
    this.kick(0);
  }

  /** Starts writing (after migrations): events appended before are kept and written then. */
  start(): void {
    this.started = true;
    this.kick(0);
  }

  get pending(): number {
    return this.buffer.length;
  }

  get healthy(): boolean {
    return this.failures === 0;
  }

  get totalWritten(): number {
    return this.written;
  }

  /** Resolves when everything appended so far is written, or after `timeoutMs`. */
  async drain(timeoutMs: number): Promise<boolean> {
    if (this.buffer.length === 0 && !this.flushing) return true;
    return new Promise<boolean>((resolve) => {
      const done = () => {
        clearTimeout(t);
        this.waiters.delete(done);
        resolve(this.buffer.length === 0);
      };
      const t = setTimeout(done, timeoutMs);
      this.waiters.add(done);
      this.kick(0);
    });
  }

  private kick(delayMs: number): void {
    if (!this.started || this.flushing || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.flush();
    }, delayMs);
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      while (this.buffer.length > 0) {
        const batch = this.buffer.slice(0, this.opts.batchSize);
        await this.sink.insertBatch(batch);
        this.buffer.splice(0, batch.length);
        this.written += batch.length;
        if (this.failures > 0) this.log.info({ afterFailures: this.failures }, 'event writes resumed');
        this.failures = 0;
      }
      for (const w of [...this.waiters]) w();
    } catch (err) {
      this.failures += 1;
      const delay = Math.min(this.opts.retryMaxMs, this.opts.retryBaseMs * 2 ** Math.min(this.failures - 1, 10));
      if (this.failures === 1 || this.failures % 20 === 0) {
        this.log.warn({ err: (err as Error).message, pending: this.buffer.length, retryInMs: delay }, 'event write failed; will retry');
      }
      this.flushing = false;
      this.kick(delay);
      return;
    }
    this.flushing = false;
  }
}
