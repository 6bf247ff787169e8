import { afterAll, describe, expect, inject, it } from 'vitest';
import '../setup/provided.ts';
import { waitUntil } from './helpers/wait.ts';
import { createLogger } from '../../src/log/logger.ts';
import { BullRoutingTimers, type TimerJob } from '../../src/routing/routing-timers.ts';

/** Routing timers as BullMQ delayed jobs on the run's real Redis. */
describe('durable routing timers', () => {
  const open: BullRoutingTimers[] = [];
  const make = (prefix: string, instance: string, fired: TimerJob[]) => {
    const t = new BullRoutingTimers(inject('redisUrl'), prefix, instance, async (job) => void fired.push(job), createLogger('silent'));
    open.push(t);
    return t;
  };
  afterAll(async () => {
    for (const t of open) await t.close().catch(() => undefined);
  });

  it('a timer armed by an instance that then dies fires in its restarted successor (same instance id)', async () => {
    const prefix = `${inject('redisPrefix')}timers-a:`;
    const firedBefore: TimerJob[] = [];
    const first = make(prefix, 'app-1', firedBefore);
    await first.schedule({ kind: 'max-wait', callId: 'c1' }, 1_500);
    await first.schedule({ kind: 'wrap-up', agentId: 'a1', callId: 'c1' }, 1_500);
    await first.close(); // the process is gone before the timers are due
    const fired: TimerJob[] = [];
    make(prefix, 'app-1', fired);
    await waitUntil(() => fired.length === 2, 15_000, () => `fired: ${JSON.stringify(fired)}`);
    expect(firedBefore).toEqual([]);
    expect(fired).toEqual(expect.arrayContaining([{ kind: 'max-wait', callId: 'c1' }, { kind: 'wrap-up', agentId: 'a1', callId: 'c1' }]));
  });

  it('a caller timer goes to its own instance; a wrap-up to any instance; a cancelled timer never fires', async () => {
    const prefix = `${inject('redisPrefix')}timers-b:`;
    const one: TimerJob[] = [];
    const two: TimerJob[] = [];
    const a = make(prefix, 'app-1', one);
    make(prefix, 'app-2', two);
    await a.schedule({ kind: 'announce', callId: 'c1', n: 0 }, 200);
    await a.schedule({ kind: 'overflow', callId: 'c1', rule: 0 }, 800);
    await a.cancel({ kind: 'overflow', callId: 'c1', rule: 0 });
    await a.schedule({ kind: 'wrap-up', agentId: 'a9', callId: 'c1' }, 200);
    await waitUntil(() => one.length + two.length >= 2, 15_000, () => `fired: ${JSON.stringify({ one, two })}`);
    // Past the cancelled timer's due time: it must not appear.
    await new Promise((r) => setTimeout(r, 1_500));
    expect(one.filter((j) => j.kind !== 'wrap-up')).toEqual([{ kind: 'announce', callId: 'c1', n: 0 }]);
    expect(two.filter((j) => j.kind !== 'wrap-up')).toEqual([]);
    expect([...one, ...two].filter((j) => j.kind === 'wrap-up')).toEqual([{ kind: 'wrap-up', agentId: 'a9', callId: 'c1' }]);
  });

  it('re-arming a timer replaces it (one job per id), also after it has fired once', async () => {
    const prefix = `${inject('redisPrefix')}timers-c:`;
    const fired: TimerJob[] = [];
    const t = make(prefix, 'app-1', fired);
    await t.schedule({ kind: 'max-wait', callId: 'c2' }, 60_000);
    await t.schedule({ kind: 'max-wait', callId: 'c2' }, 100);
    await waitUntil(() => fired.length === 1, 10_000, () => 'never fired');
    await t.schedule({ kind: 'max-wait', callId: 'c2' }, 100);
    await waitUntil(() => fired.length === 2, 10_000, () => 'a finished job id blocked the second timer');
    await new Promise((r) => setTimeout(r, 500));
    expect(fired).toHaveLength(2);
  });
});
