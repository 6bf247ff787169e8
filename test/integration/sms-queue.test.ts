import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import '../setup/provided.ts';
import { createLogger } from '../../src/log/logger.ts';
import { WebhookSmsSender } from '../../src/sms/senders.ts';
import { SmsQueue, startSmsWorker } from '../../src/sms/sms-queue.ts';
import type { SmsMessage } from '../../src/sms/sms.ts';
import { waitFor } from '../e2e/helpers/hotline-process.ts';

describe('SMS follow-up jobs (real Redis, BullMQ, webhook sender to a local HTTP server)', () => {
  const received: Array<{ key: string | undefined; body: SmsMessage }> = [];
  let failNext = 1;
  let server: Server;
  let url = '';
  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        if (failNext > 0) {
          failNext -= 1;
          res.writeHead(503).end();
          return;
        }
        received.push({ key: req.headers['idempotency-key'] as string | undefined, body: JSON.parse(body) });
        res.writeHead(202).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/sms`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('delivers each request once, retrying a failed webhook, and ignores a repeated request id', async () => {
    const prefix = `${inject('redisPrefix')}sms-test:`;
    const queue = new SmsQueue(inject('redisUrl'), prefix);
    const worker = startSmsWorker(inject('redisUrl'), prefix, new WebhookSmsSender(url), createLogger('silent'));
    try {
      const msg: SmsMessage = { id: 'call-1-7', callId: 'call-1', to: '13800138000', template: 'data_pack', variables: { language: 'zh' } };
      await queue.request(msg);
      await queue.request(msg); // a retried command must not text the caller twice
      await waitFor(() => received.length >= 1, 15_000, () => 'the webhook never got the message');
      await new Promise((r) => setTimeout(r, 1_500));
      expect(received).toEqual([{ key: 'call-1-7', body: msg }]);
      expect(failNext).toBe(0); // the first attempt failed and was retried
    } finally {
      await worker.close();
      await queue.close();
    }
  });
});
