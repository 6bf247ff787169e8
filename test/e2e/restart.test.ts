import { afterAll, describe, expect, it } from 'vitest';
import { startHotlineProcess, waitFor } from './helpers/hotline-process.ts';
import { Records } from './helpers/records.ts';
import { sippCall, uniqueCaller } from './helpers/sipp.ts';

describe('an app crash mid-call', () => {
  const records = new Records();
  afterAll(() => records.close());

  it('the next process finds the call left in Stasis, closes it and records why under the same call id', async () => {
    const first = await startHotlineProcess();
    const caller = uniqueCaller();
    // The survey flow waits for a key; nobody presses one before the crash.
    const call = sippCall({ dialed: '96000', caller, end: 'wait-bye', recvTimeoutMs: 40_000 });

    // Wait until the call is live (its first events are in Postgres), then crash the app.
    await waitFor(async () => (await records.eventsOfCaller(caller)).some((r) => r.type === 'flow.node_entered'), 15_000, () => 'call never started');
    await first.kill9();

    const second = await startHotlineProcess();
    try {
      const sipp = await call;
      expect(sipp.code, sipp.output).toBe(0);
      const rows = await records.endedCallOf(caller);
      expect(new Set(rows.map((r) => r.call_id)).size).toBe(1);
      const ended = rows.filter((r) => r.type === 'call.ended');
      expect(ended).toHaveLength(1);
      expect(ended[0]!.data).toEqual({ cause: 'app_restarted' });
      // seq continues where the crashed process stopped (kept in Redis).
      expect(rows.map((r) => r.seq)).toEqual(rows.map((_, i) => i + 1));
      expect(second.logs()).toMatch(/closing a call left in Stasis/);
    } finally {
      expect(await second.stop()).toBe(0);
    }
  });
});
