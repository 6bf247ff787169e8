import { Queue, Worker, type Job } from 'bullmq';
import type { Logger } from '../log/logger.ts';

/**
 * Routing's timers. Wrap-up belongs to the agent, so any instance may end it; the others
 * belong to a waiting caller, whose channel (and runner) only the owning instance holds.
 */
export type TimerJob =
  | { readonly kind: 'wrap-up'; readonly agentId: string; readonly callId: string }
  | { readonly kind: 'max-wait'; readonly callId: string }
  | { readonly kind: 'announce'; readonly callId: string; readonly n: number }
  | { readonly kind: 'overflow'; readonly callId: string; readonly rule: number }
  /**
   * Time to try a failed callback again. It carries what is needed to put the request back
   * in its queue, so a restarted instance (same INSTANCE_ID) can still do it.
   */
  | { readonly kind: 'callback-retry'; readonly callId: string; readonly attempt: number; readonly request: CallbackRequest }
  /** Midnight in the hotline's time zone: calls-today counters start over. */
  | { readonly kind: 'reset-calls-today' };

/** A callback request as it waits between attempts (see RoutingService). */
export interface CallbackRequest {
  readonly number: string;
  readonly dialed: string;
  /** Queue and extra skills as overflow had left them when the attempt was made (not as enqueued). */
  readonly queue: string;
  readonly entryQueue: string;
  readonly skills: readonly string[];
  readonly priority: number;
  /** The original enqueue time: a retry keeps the caller's place. */
  readonly enqueuedAt: number;
  /**
   * Indexes of the entry queue's overflow rules already applied; the retry arms the others,
   * due from `enqueuedAt`. Absent in retries scheduled before it existed: none are re-armed.
   */
  readonly overflowApplied?: readonly number[];
  /** The callback's own call record and how many events it has. */
  readonly recordId: string;
  readonly seq: number;
  /**
   * The queue the request was left in, whose callbackRetry every attempt follows. Absent in
   * retries scheduled before it existed: the entry queue's, as then.
   */
  readonly leftIn?: string;
}

export interface RoutingTimers {
  schedule(job: TimerJob, delayMs: number): Promise<void>;
  cancel(job: TimerJob): Promise<void>;
}

/** BullMQ job ids may not contain ':'; agent ids and call ids never do. */
export function timerJobId(job: TimerJob): string {
  switch (job.kind) {
    case 'wrap-up':
      return `wrap-up-${job.agentId}-${job.callId}`;
    case 'max-wait':
      return `max-wait-${job.callId}`;
    case 'announce':
      return `announce-${job.callId}-${job.n}`;
    case 'overflow':
      return `overflow-${job.callId}-${job.rule}`;
    case 'callback-retry':
      return `callback-retry-${job.callId}-${job.attempt}`;
    case 'reset-calls-today':
      return 'reset-calls-today';
  }
}

const SHARED = 'routing-timers';

/**
 * Timers as BullMQ delayed jobs, so they outlive the process: a restarted instance (same
 * INSTANCE_ID) runs the caller timers it had armed, and any instance ends a wrap-up.
 * A fired job only reports; the handler re-checks state in Redis (a timer that lost a race
 * with a hang-up or an answer does nothing).
 */
export class BullRoutingTimers implements RoutingTimers {
  private readonly shared: Queue<TimerJob>;
  private readonly own: Queue<TimerJob>;
  private readonly workers: Worker<TimerJob>[];

  constructor(redisUrl: string, prefix: string, instanceId: string, handle: (job: TimerJob) => Promise<void>, log: Logger) {
    const opts = { connection: { url: redisUrl }, prefix: `${prefix}bull` };
    const ownName = `routing-timers-${instanceId}`;
    this.shared = new Queue<TimerJob>(SHARED, opts);
    this.own = new Queue<TimerJob>(ownName, opts);
    const run = async (job: Job<TimerJob>) => handle(job.data);
    const workerOpts = { connection: { url: redisUrl, maxRetriesPerRequest: null }, prefix: `${prefix}bull`, concurrency: 16 };
    this.workers = [new Worker<TimerJob>(SHARED, run, workerOpts), new Worker<TimerJob>(ownName, run, workerOpts)];
    for (const w of this.workers) {
      w.on('failed', (job, err) => log.warn({ timer: job?.id, err: err.message }, 'routing timer failed'));
      w.on('error', (err) => log.warn({ err: err.message }, 'routing timer worker error'));
    }
  }

  private queueOf(job: TimerJob): Queue<TimerJob> {
    return job.kind === 'wrap-up' || job.kind === 'reset-calls-today' ? this.shared : this.own;
  }

  async schedule(job: TimerJob, delayMs: number): Promise<void> {
    const jobId = timerJobId(job);
    const q = this.queueOf(job);
    // A job id is used once: a finished job with the same id would make add() a no-op.
    await q.remove(jobId).catch(() => 0);
    await q.add(job.kind, job, { jobId, delay: Math.max(0, delayMs), attempts: 3, backoff: { type: 'fixed', delay: 500 }, removeOnComplete: true, removeOnFail: 1_000 });
  }

  async cancel(job: TimerJob): Promise<void> {
    // 0 when already gone or running; the handler's own state check covers a timer that fires anyway.
    await this.queueOf(job).remove(timerJobId(job)).catch(() => 0);
  }

  /** One scheduler for every instance (upsert by id): the reset runs once per day, not once per instance. */
  async scheduleDailyReset(timezone: string): Promise<void> {
    await this.shared.upsertJobScheduler('reset-calls-today', { pattern: '0 0 0 * * *', tz: timezone }, { name: 'reset-calls-today', data: { kind: 'reset-calls-today' } });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.close()));
    await Promise.all([this.shared.close(), this.own.close()]);
  }
}
