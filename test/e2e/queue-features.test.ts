import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import '../setup/provided.ts';
import { ADMIN_HEADERS, startFloor, type Floor } from './helpers/floor.ts';
import { waitFor } from './helpers/hotline-process.ts';
import { Records, type Row } from './helpers/records.ts';
import { sippAnswer, sippCall, uniqueCaller } from './helpers/sipp.ts';

/**
 * What a waiting caller gets besides hold music, on real calls: position and wait
 * announcements, a VIP served before an earlier ordinary caller, a callback request that keeps
 * the caller's place (the agent is called first, then the caller on the trunk: a SIPp UAS),
 * a callback retried after a busy phone, and an overflow rule set at run time through the admin API.
 * Agents: agent1001 (general, billing) and agent1003 (general, vip), both auto-answering.
 */
describe('queue announcements, VIP priority, callback and overflow', () => {
  let floor: Floor;
  const records = new Records();
  const ast = inject('asterisk');
  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${floor.app.url}${path}`, { method, headers: ADMIN_HEADERS, body: body === undefined ? (method === 'GET' ? undefined : '{}') : JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const act = (id: string, action: string) => floor.act(id, action);
  const stateOf = async (id: string) => (await floor.agent(id)).state;
  /** Every agent of the run logged out (routing state in Redis is shared by the run's e2e files). */
  const allOut = async () => {
    for (const id of ['agent1001', 'agent1002', 'agent1003']) {
      await waitFor(async () => !['ringing', 'on_call'].includes(await stateOf(id)), 30_000, () => `${id} still busy`);
      const s = await stateOf(id);
      if (s !== 'logged_out') await act(id, 'logout');
    }
  };
  const has = (rows: Row[], type: string) => rows.some((r) => r.type === type);
  /** Skip the welcome, Chinese (1), then 0 for an agent. */
  const toQueue = [
    { waitMs: 600, digit: '1' },
    { waitMs: 900, digit: '1' },
    { waitMs: 900, digit: '0' },
  ];

  beforeAll(async () => {
    floor = await startFloor({ CLOCK_FIXED_AT: '2026-11-23T10:00:00+08:00' }, [
      { id: 'agent1001', port: 25411 },
      { id: 'agent1003', port: 25431 },
    ]);
  });
  afterAll(async () => {
    await floor.stop();
    await records.close();
  });

  it('a waiting caller hears position and estimated wait, repeated; agent state changes land in ops_events', async () => {
    await allOut();
    const since = new Date();
    await act('agent1001', 'login');
    await act('agent1001', 'pause');
    const caller = uniqueCaller();
    const logBefore = readFileSync(ast.logFile, 'utf8').length;
    // The general queue announces 2 s after joining, then every 30 s: wait for two.
    const sipp = await sippCall({ dialed: '10010', caller, steps: [...toQueue, { waitMs: 36_000 }], end: 'hangup', recvTimeoutMs: 60_000 });
    expect(sipp.code, sipp.output).toBe(0);
    const rows = await records.endedCallOf(caller);
    const announced = rows.filter((r) => r.type === 'queue.position_announced').map((r) => r.data);
    expect(announced).toHaveLength(2);
    // Nobody staffs the queue (the only agent is paused): position only, no wait estimate.
    for (const a of announced) expect(a).toEqual({ node: 'agent_queue', queue: 'general', position: 1, ewtSeconds: null });
    // The announcement really played on the channel, hold options included (Asterisk's own log).
    const added = readFileSync(ast.logFile, 'utf8').slice(logBefore);
    expect(added).toMatch(/Playing 'hotline\/zh\/queue_position/);
    expect(added).toMatch(/Playing 'hotline\/zh\/hold_options/);
    const ops = (await records.opsEventsOf('agent:agent1001')).filter((e) => e.at >= new Date(since.getTime() - 1_000));
    expect(ops.map((e) => [e.data.from, e.data.to, e.data.reason])).toEqual(
      expect.arrayContaining([
        ['logged_out', 'available', null],
        ['available', 'paused', null],
      ]),
    );
    await act('agent1001', 'logout');
  });

  it('a VIP caller who arrives later is served before an ordinary caller waiting for the same agent', async () => {
    await allOut();
    await act('agent1003', 'login');
    await act('agent1003', 'pause');
    const ordinary = uniqueCaller();
    const vip = uniqueCaller('8888'); // the demo CRM's VIP numbers end in 8888
    const first = sippCall({ dialed: '10010', caller: ordinary, steps: [...toQueue, { waitMs: 22_000 }], end: 'hangup', recvTimeoutMs: 60_000 });
    let rows: Row[] = [];
    await waitFor(async () => has((rows = await records.eventsOfCaller(ordinary)), 'queue.joined'), 15_000, () => `ordinary caller never queued: ${JSON.stringify(rows.map((r) => r.type))}`);
    // The VIP greeting plays first (~8 s with the welcome), then the vip queue.
    const second = sippCall({ dialed: '10010', caller: vip, steps: [{ waitMs: 18_000 }], end: 'hangup', recvTimeoutMs: 60_000 });
    await waitFor(async () => has((rows = await records.eventsOfCaller(vip)), 'queue.joined'), 20_000, () => `VIP caller never queued: ${JSON.stringify(rows.map((r) => r.type))}`);
    await act('agent1003', 'unpause');
    const [a, b] = await Promise.all([first, second]);
    expect(a.code, a.output).toBe(0);
    expect(b.code, b.output).toBe(0);
    const vipRows = await records.endedCallOf(vip);
    const ordinaryRows = await records.endedCallOf(ordinary);
    expect(vipRows.find((r) => r.type === 'queue.requested')?.data).toMatchObject({ queue: 'vip', priority: 5 });
    expect(vipRows.filter((r) => r.type.startsWith('agent.')).map((r) => [r.type, r.data.agentId])).toEqual([
      ['agent.offered', 'agent1003'],
      ['agent.answered', 'agent1003'],
    ]);
    // The ordinary caller waited longer, but the one agent took the VIP; the ordinary caller gave
    // up (22 s in the queue) before that agent's VIP call and wrap-up were over.
    expect(ordinaryRows.some((r) => r.type === 'agent.answered')).toBe(false);
    await waitFor(async () => (await stateOf('agent1003')) !== 'on_call', 20_000, () => 'agent1003 still on the VIP call');
  });

  it('key 1 while waiting leaves a callback request: the call ends, the agent is called first, then the caller', async () => {
    await allOut();
    await act('agent1001', 'login');
    await act('agent1001', 'pause');
    const caller = uniqueCaller();
    // Announcement at ~2 s (position, wait, "press 1 for a callback"), key 1 at ~6 s; Hotline confirms and hangs up.
    const sipp = await sippCall({ dialed: '10010', caller, steps: [...toQueue, { waitMs: 6_000, digit: '1' }], end: 'wait-bye', recvTimeoutMs: 30_000 });
    expect(sipp.code, sipp.output).toBe(0);
    const rows = await records.endedCallOf(caller);
    expect(rows.filter((r) => ['callback.requested', 'queue.left', 'call.ended'].includes(r.type)).map((r) => [r.type, r.data.reason ?? r.data.cause ?? ''])).toEqual([
      ['callback.requested', ''],
      ['queue.left', 'callback'],
      ['call.ended', 'callback_requested'],
    ]);
    const callId = rows[0]!.call_id;

    // The caller's phone, on the trunk: it answers the callback.
    const phone = sippAnswer(60_000);
    await act('agent1001', 'unpause');
    let cb: Row[] = [];
    await waitFor(async () => has((cb = await records.callbackOf(callId)), 'callback.connected'), 30_000, () => `callback not connected: ${JSON.stringify(cb.map((r) => r.type))}\n${floor.app.logs().slice(-3000)}`);
    expect(await stateOf('agent1001')).toBe('on_call');
    // The agent ends the call from the softphone.
    floor.phones[0]!.command('/hangup');
    const answered = await phone.done;
    expect(answered.code, answered.output).toBe(0);
    await waitFor(async () => has((cb = await records.callbackOf(callId)), 'call.ended'), 15_000, () => `callback record not ended: ${JSON.stringify(cb.map((r) => r.type))}`);
    expect(cb.map((r) => r.type)).toEqual(['call.started', 'agent.offered', 'agent.answered', 'callback.dialing', 'callback.connected', 'callback.completed', 'call.ended']);
    expect(cb[0]!.data).toMatchObject({ direction: 'callback', originalCallId: callId, caller, dialed: '10010', queue: 'general' });
    expect(cb.at(-1)!.data).toMatchObject({ cause: 'completed' });
    expect(cb[0]!.call_id).not.toBe(callId);
    await waitFor(async () => (await stateOf('agent1001')) === 'wrap_up', 10_000, () => 'agent1001 not in wrap-up after the callback');
  });

  it('a callback the caller\'s phone refuses (486 busy) is tried again after the queue\'s retrySeconds and then connects', async () => {
    await allOut();
    const before = (await api('GET', '/queues/general')).body;
    const { name: _name, ...config } = before;
    const put = await api('PUT', '/queues/general', { ...config, callbackRetry: { maxAttempts: 3, retrySeconds: 3 } });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    try {
      await act('agent1001', 'login');
      await act('agent1001', 'pause');
      const caller = uniqueCaller();
      const sipp = await sippCall({ dialed: '10010', caller, steps: [...toQueue, { waitMs: 6_000, digit: '1' }], end: 'wait-bye', recvTimeoutMs: 30_000 });
      expect(sipp.code, sipp.output).toBe(0);
      const callId = (await records.endedCallOf(caller))[0]!.call_id;

      // The caller's phone is busy for the first attempt.
      const busy = sippAnswer(60_000, 'uas-busy');
      await act('agent1001', 'unpause');
      const refused = await busy.done;
      expect(refused.code, refused.output).toBe(0);
      let cb: Row[] = [];
      await waitFor(async () => has((cb = await records.callbackOf(callId)), 'callback.retry_scheduled'), 15_000, () => `no retry scheduled: ${JSON.stringify(cb.map((r) => r.type))}`);
      expect(cb.find((r) => r.type === 'callback.attempt_failed')?.data).toMatchObject({ attempt: 1, maxAttempts: 3, cause: 17, agentId: 'agent1001' });
      expect(cb.find((r) => r.type === 'callback.retry_scheduled')?.data).toEqual({ attempt: 2, inSeconds: 3 });

      // Free for the second attempt (after the agent's wrap-up): it answers.
      const phone = sippAnswer(60_000);
      await waitFor(async () => has((cb = await records.callbackOf(callId)), 'callback.connected'), 40_000, () => `second attempt not connected: ${JSON.stringify(cb.map((r) => r.type))}\n${floor.app.logs().slice(-3000)}`);
      floor.phones[0]!.command('/hangup');
      const answered = await phone.done;
      expect(answered.code, answered.output).toBe(0);
      await waitFor(async () => has((cb = await records.callbackOf(callId)), 'call.ended'), 15_000, () => `callback record not ended: ${JSON.stringify(cb.map((r) => r.type))}`);
      expect(cb.map((r) => r.type)).toEqual([
        'call.started',
        'agent.offered',
        'agent.answered',
        'callback.dialing',
        'callback.attempt_failed',
        'callback.retry_scheduled',
        'agent.offered',
        'agent.answered',
        'callback.dialing',
        'callback.connected',
        'callback.completed',
        'call.ended',
      ]);
      expect(cb.at(-1)!.data).toMatchObject({ cause: 'completed', attempts: 2 });
    } finally {
      // Routing state is shared by the run's e2e files: put the queue back as it was.
      const back = await api('PUT', '/queues/general', config);
      expect(back.status, JSON.stringify(back.body)).toBe(200);
    }
  });

  it('an overflow rule set at run time drops a waiting caller\'s language skill after 3 s', async () => {
    await allOut();
    const before = (await api('GET', '/queues/general')).body;
    const { name: _name, ...config } = before;
    const put = await api('PUT', '/queues/general', { ...config, overflow: [{ afterSeconds: 3, action: 'relax-skills' }] });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    try {
      // Only agent1001 (no english skill) is available; an English caller needs english.
      await act('agent1001', 'login');
      const caller = uniqueCaller();
      const sipp = await sippCall({
        dialed: '10010',
        caller,
        steps: [
          { waitMs: 600, digit: '1' },
          { waitMs: 900, digit: '2' },
          { waitMs: 900, digit: '0' },
          { waitMs: 9_000 },
        ],
        end: 'hangup',
        recvTimeoutMs: 30_000,
      });
      expect(sipp.code, sipp.output).toBe(0);
      const rows = await records.endedCallOf(caller);
      expect(rows.find((r) => r.type === 'queue.overflowed')?.data).toMatchObject({ action: 'relax-skills', from: 'general', to: 'general', afterSeconds: 3 });
      const order = rows.filter((r) => ['queue.joined', 'queue.overflowed', 'agent.offered', 'agent.answered'].includes(r.type)).map((r) => r.type);
      expect(order).toEqual(['queue.joined', 'queue.overflowed', 'agent.offered', 'agent.answered']);
      expect(rows.find((r) => r.type === 'agent.answered')?.data).toMatchObject({ agentId: 'agent1001' });
    } finally {
      // Routing state is shared by the run's e2e files: put the queue back as it was.
      const back = await api('PUT', '/queues/general', config);
      expect(back.status, JSON.stringify(back.body)).toBe(200);
    }
  });
});
