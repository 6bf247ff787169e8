import { afterAll, describe, expect, it } from 'vitest';
import { asteriskLab } from './helpers/asterisk-lab.ts';
import { startHotlineProcess, waitFor, type HotlineProcess } from './helpers/hotline-process.ts';
import { Records } from './helpers/records.ts';
import { sippCall, uniqueCaller } from './helpers/sipp.ts';

/**
 * ari-client stops reconnecting after 10 tries (~43 s of backoff). Asterisk is kept down
 * longer than that, so only the adapter's own supervisor can bring the app back.
 */
describe('Asterisk crashes and restarts under a running Hotline', () => {
  const records = new Records();
  let app: HotlineProcess | undefined;
  let asteriskRunning = true;
  afterAll(async () => {
    // Leave the lab running for the next file, even when this test failed mid-outage.
    if (!asteriskRunning) asteriskLab('start');
    await app?.stop();
    await records.close();
  });

  it('records calls lost in the outage, reconnects after ari-client gives up, and takes calls again', async () => {
    app = await startHotlineProcess({ ARI_PING_INTERVAL_MS: '1000', ARI_RECONNECT_MAX_MS: '2000' });
    const ready = async () => {
      const res = await fetch(`${app!.url}/ready`).catch((err: Error) => {
        throw new Error(`hotline is gone (${err.message}):\n${app!.logs().slice(-3000)}`);
      });
      return (await res.json()) as { checks: { ari: boolean } };
    };

    const lostCaller = uniqueCaller();
    const lost = sippCall({ dialed: '10010', caller: lostCaller, end: 'wait-bye', recvTimeoutMs: 5_000 });
    await waitFor(async () => (await records.eventsOfCaller(lostCaller)).some((r) => r.type === 'flow.node_entered'), 15_000, () => 'call never started');

    // A crash, not a clean stop: a clean stop hangs calls up and tells the app (cause 4).
    asteriskLab('kill');
    asteriskRunning = false;
    await waitFor(async () => (await ready()).checks.ari === false, 10_000, () => 'ready still claims ARI');
    await lost; // SIPp's call died with Asterisk; its exit code is not the point here
    await new Promise((r) => setTimeout(r, 48_000));
    expect(app.logs()).toMatch(/ari-client gave up/);
    asteriskLab('start');
    asteriskRunning = true;
    await waitFor(async () => (await ready()).checks.ari === true, 20_000, () => `never reconnected:\n${app!.logs().slice(-2000)}`);

    const lostRows = await records.endedCallOf(lostCaller);
    expect(lostRows.at(-1)).toMatchObject({ type: 'call.ended', data: { cause: 'lost_during_outage' } });

    const caller = uniqueCaller();
    const sipp = await sippCall({ dialed: '96000', caller, end: 'wait-bye', steps: [{ waitMs: 5500, digit: '5' }, { waitMs: 1500, digit: '1' }] });
    expect(sipp.code, sipp.output).toBe(0);
    const rows = await records.endedCallOf(caller);
    expect(rows.filter((r) => r.type === 'survey.answered').map((r) => r.data.score)).toEqual([5, 1]);
    expect(rows.at(-1)).toMatchObject({ type: 'call.ended', data: { cause: 'completed' } });
  }, 120_000);
});
