import { Queue, Worker } from 'bullmq';
import type { Logger } from '../log/logger.ts';
import type { SmsMessage, SmsRequests, SmsSender } from './sms.ts';

const QUEUE = 'sms';

/**
 * SMS requests as BullMQ jobs on Redis: durable across app restarts, retried with backoff,
 * and idempotent by job id (a request id is used once).
 */
export class SmsQueue implements SmsRequests {
  private readonly queue: Queue<SmsMessage>;

  constructor(redisUrl: string, prefix: string) {
    this.queue = new Queue<SmsMessage>(QUEUE, { connection: { url: redisUrl }, prefix: `${prefix}bull` });
  }

  async request(message: SmsMessage): Promise<void> {
    await this.queue.add('send', message, {
      jobId: message.id,
      attempts: 8,
      backoff: { type: 'exponential', delay: 1_000 },
      removeOnComplete: 1_000,
      removeOnFail: 5_000,
    });
  }

  async close(): Promise<void> {
    await this.queue.close();
  }
}

export function startSmsWorker(redisUrl: string, prefix: string, sender: SmsSender, log: Logger): Worker<SmsMessage> {
  const worker = new Worker<SmsMessage>(QUEUE, async (job) => sender.send(job.data), {
    connection: { url: redisUrl, maxRetriesPerRequest: null },
    prefix: `${prefix}bull`,
    concurrency: 4,
  });
  worker.on('failed', (job, err) => log.warn({ sms: job?.id, err: err.message, attempts: job?.attemptsMade }, 'sms send failed'));
  worker.on('error', (err) => log.warn({ err: err.message }, 'sms worker error'));
  return worker;
}
