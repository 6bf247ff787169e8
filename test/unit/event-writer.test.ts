import { describe, expect, it } from 'vitest';
import type { CallEvent } from '../../src/domain/call-event.ts';
import { createLogger } from '../../src/log/logger.ts';
import { EventWriter } from '../../src/records/event-writer.ts';

const ev = (n: number): CallEvent => ({ id: `id-${n}`, callId: 'c', seq: n, type: 'dtmf', at: '2026-11-23T08:00:00Z', data: {} });

describe('event writer (write-behind with retry)', () => {
  it('keeps events while the sink fails and writes each once, in order, when it recovers', async () => {
    const stored: CallEvent[] = [];
    let failures = 3;
    const sink = {
      async insertBatch(batch: readonly CallEvent[]) {
        if (failures > 0) {
          failures -= 1;
          throw new Error('connection refused');
        }
        stored.push(...batch);
        return batch.length;
      },
    };
    const w = new EventWriter(sink, createLogger('silent'), { batchSize: 4, retryBaseMs: 1, retryMaxMs: 5 });
    for (let i = 1; i <= 10; i++) w.append(ev(i));
    expect(w.pending).toBe(10); // not started: nothing written before migrations ran
    w.start();
    expect(await w.drain(2_000)).toBe(true);
    expect(stored.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(w.totalWritten).toBe(10);
    expect(w.healthy).toBe(true);
  });

  it('reports unwritten events when the sink stays down past the drain timeout', async () => {
    const w = new EventWriter({ insertBatch: async () => Promise.reject(new Error('down')) }, createLogger('silent'), {
      batchSize: 10,
      retryBaseMs: 1,
      retryMaxMs: 2,
    });
    w.start();
    w.append(ev(1));
    expect(await w.drain(50)).toBe(false);
    expect(w.pending).toBe(1);
    expect(w.healthy).toBe(false);
  });
});
