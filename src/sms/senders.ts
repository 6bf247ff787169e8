import { maskNumber, type Logger } from '../log/logger.ts';
import type { SmsMessage, SmsSender } from './sms.ts';

export class LogSmsSender implements SmsSender {
  private readonly log: Logger;
  constructor(log: Logger) {
    this.log = log;
  }
  async send(m: SmsMessage): Promise<void> {
    this.log.info({ sms: m.id, callId: m.callId, to: maskNumber(m.to), template: m.template }, 'sms (log sender)');
  }
}

/** POSTs the message as JSON; a non-2xx answer fails the job, which BullMQ retries. */
export class WebhookSmsSender implements SmsSender {
  private readonly url: string;
  constructor(url: string) {
    this.url = url;
  }
  async send(m: SmsMessage): Promise<void> {
    const res = await fetch(this.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': m.id },
      body: JSON.stringify(m),
      signal: AbortSignal.timeout(5_000),
    });
    if (!res.ok) throw new Error(`sms webhook answered ${res.status}`);
  }
}
