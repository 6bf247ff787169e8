import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHotlineProcess, type HotlineProcess } from './helpers/hotline-process.ts';
import { Records, type Row } from './helpers/records.ts';
import { sippCall, uniqueCaller } from './helpers/sipp.ts';

/**
 * The minimal call path through real parts: SIPp dials the lab Asterisk, which hands the
 * call to the real `hotline start` process over ARI; events are read back from Postgres.
 */
describe('a caller on the hotline (SIPp -> Asterisk -> Hotline -> Postgres)', () => {
  let app: HotlineProcess;
  const records = new Records();

  beforeAll(async () => {
    app = await startHotlineProcess({ DIGIT_TIMEOUT_MS: '2000' });
  });
  afterAll(async () => {
    const code = await app?.stop();
    await records.close();
    expect(code).toBe(0);
    expect(app.logs()).not.toMatch(/unhandled rejection|UnhandledPromiseRejection/i);
  });

  const types = (rows: Row[]) => rows.map((r) => r.type);
  const seqs = (rows: Row[]) => rows.map((r) => r.seq);
  const ofType = (rows: Row[], type: string) => rows.filter((r) => r.type === type);

  it('plays the welcome, takes digit 1 after it, confirms and hangs up', async () => {
    const caller = uniqueCaller();
    // hello-world lasts ~1.4 s: at 2.5 s the caller is waiting for a digit.
    const sipp = await sippCall({ scenario: 'uac-dtmf', dialed: '10010', caller, waitMs: 2500, digit: '1' });
    expect(sipp.code, sipp.output).toBe(0);

    const rows = await records.endedCallOf(caller);
    expect(types(rows)).toEqual(['call.started', 'prompt.played', 'dtmf', 'prompt.played', 'call.ended']);
    expect(seqs(rows)).toEqual([1, 2, 3, 4, 5]);
    expect(new Set(rows.map((r) => r.call_id)).size).toBe(1);
    expect(rows[0]!.data).toMatchObject({ caller, dialed: '10010', role: 'inbound' });
    expect(rows[1]!.data).toMatchObject({ prompt: 'welcome', outcome: 'done' });
    expect(rows[2]!.data).toEqual({ digit: '1', bargeIn: false });
    expect(rows[3]!.data).toMatchObject({ prompt: 'confirmation', outcome: 'done' });
    expect(rows[4]!.data).toEqual({ cause: 'completed', digit: '1' });
  });

  it('takes a digit pressed during the welcome (barge-in) and cuts the prompt short', async () => {
    const caller = uniqueCaller();
    const sipp = await sippCall({ scenario: 'uac-dtmf', dialed: '10086', caller, waitMs: 300, digit: '7' });
    expect(sipp.code, sipp.output).toBe(0);

    const rows = await records.endedCallOf(caller);
    expect(ofType(rows, 'dtmf').map((r) => r.data)).toEqual([{ digit: '7', bargeIn: true }]);
    const played = ofType(rows, 'prompt.played').map((r) => [r.data.prompt, r.data.outcome]);
    expect(played).toContainEqual(['welcome', 'interrupted']);
    expect(played).toContainEqual(['confirmation', 'done']);
    expect(rows.at(-1)!.data).toEqual({ cause: 'completed', digit: '7' });
  });

  it('says goodbye when no digit comes within the timeout', async () => {
    const caller = uniqueCaller();
    const sipp = await sippCall({ scenario: 'uac-wait-bye', dialed: '10010', caller });
    expect(sipp.code, sipp.output).toBe(0);

    const rows = await records.endedCallOf(caller);
    expect(types(rows)).toEqual(['call.started', 'prompt.played', 'digit.timeout', 'prompt.played', 'call.ended']);
    expect(rows[2]!.data).toEqual({ afterMs: 2000 });
    expect(rows[3]!.data).toMatchObject({ prompt: 'goodbye', outcome: 'done' });
    expect(rows[4]!.data).toEqual({ cause: 'completed', digit: null });
  });

  it('tells a caller of an unknown number that it is not in service, and records it', async () => {
    const caller = uniqueCaller();
    const sipp = await sippCall({ scenario: 'uac-wait-bye', dialed: '99999', caller });
    expect(sipp.code, sipp.output).toBe(0);

    const rows = await records.endedCallOf(caller);
    expect(types(rows)).toEqual(['call.started', 'number.unknown', 'prompt.played', 'call.ended']);
    expect(rows[1]!.data).toEqual({ dialed: '99999' });
    expect(rows[2]!.data).toMatchObject({ prompt: 'not_in_service', outcome: 'done' });
    expect(rows[3]!.data).toEqual({ cause: 'not_in_service', digit: null });
  });

  it('records the cause when the caller hangs up mid-prompt', async () => {
    const caller = uniqueCaller();
    const sipp = await sippCall({ scenario: 'uac-hangup', dialed: '10010', caller, waitMs: 500 });
    expect(sipp.code, sipp.output).toBe(0);

    const rows = await records.endedCallOf(caller);
    expect(rows[0]!.type).toBe('call.started');
    expect(rows.at(-1)!).toMatchObject({ type: 'call.ended', data: { cause: 'caller_hangup', digit: null } });
    expect(ofType(rows, 'call.ended')).toHaveLength(1);
  });
});
