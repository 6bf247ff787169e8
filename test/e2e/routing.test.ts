import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../setup/provided.ts';
import { startFloor, type Floor } from './helpers/floor.ts';
import { waitFor } from './helpers/hotline-process.ts';
import { Records, type Row } from './helpers/records.ts';
import { sippCall, uniqueCaller } from './helpers/sipp.ts';

/**
 * Routing decisions on real calls, with three baresip agents (ivr-flows/agents.json):
 * agent1001 general+billing (answers), agent1002 general+english (answers), agent1003
 * general+vip (rings, never answers). The general queue rings an agent for 15 s.
 */
describe('skill routing, ring-no-answer and a caller who gives up while an agent rings', () => {
  let floor: Floor;
  const records = new Records();
  const act = (id: string, action: string) => floor.act(id, action);
  const agent = (id: string) => floor.agent(id);
  const routingEvents = (rows: Row[]) =>
    rows.filter((r) => r.type.startsWith('agent.') || r.type === 'queue.left').map((r) => [r.type, r.data.agentId ?? r.data.reason]);
  /** Keys to reach the agent queue: skip the welcome, language (1 zh / 2 en), then 0. */
  const toQueue = (language: '1' | '2') => [
    { waitMs: 600, digit: '1' },
    { waitMs: 900, digit: language },
    { waitMs: 900, digit: '0' },
  ];

  beforeAll(async () => {
    floor = await startFloor({ CLOCK_FIXED_AT: '2026-11-23T10:00:00+08:00' }, [
      { id: 'agent1001', port: 25311 },
      { id: 'agent1002', port: 25321 },
      { id: 'agent1003', port: 25331, answer: 'manual' },
    ]);
  });
  afterAll(async () => {
    await floor.stop();
    await records.close();
  });

  it('an English-speaking caller is offered only to the agent with the english skill', async () => {
    await act('agent1001', 'login');
    await act('agent1002', 'login');
    const caller = uniqueCaller();
    const sipp = await sippCall({ dialed: '10010', caller, steps: [...toQueue('2'), { waitMs: 6_000 }], end: 'hangup' });
    expect(sipp.code, sipp.output).toBe(0);
    const rows = await records.endedCallOf(caller);
    expect(routingEvents(rows)).toEqual([
      ['agent.offered', 'agent1002'],
      ['agent.answered', 'agent1002'],
      ['queue.left', 'agent1002'],
    ]);
    expect(rows.find((r) => r.type === 'queue.requested')?.data).toMatchObject({ queue: 'general', skills: ['general', 'english'] });
    expect(rows.at(-1)!.data).toMatchObject({ cause: 'caller_hangup' });
    await waitFor(async () => (await agent('agent1002')).state === 'wrap_up', 10_000, () => 'agent1002 not in wrap-up after the call');
  });

  it('an agent who does not answer is paused (rona) and the call goes to the next agent', async () => {
    await act('agent1001', 'logout');
    await act('agent1002', 'logout');
    await act('agent1003', 'login');
    const caller = uniqueCaller();
    const call = sippCall({ dialed: '10010', caller, steps: [...toQueue('1'), { waitMs: 26_000 }], end: 'hangup', recvTimeoutMs: 40_000 });
    let rows: Row[] = [];
    await waitFor(
      async () => (rows = await records.eventsOfCaller(caller)).some((r) => r.type === 'agent.rona'),
      30_000,
      () => `no RONA: ${JSON.stringify(routingEvents(rows))}\n${floor.app.logs().slice(-2000)}`,
    );
    expect(await agent('agent1003')).toMatchObject({ state: 'paused', pauseReason: 'rona' });
    await act('agent1001', 'login');
    const sipp = await call;
    expect(sipp.code, sipp.output).toBe(0);
    rows = await records.endedCallOf(caller);
    expect(routingEvents(rows)).toEqual([
      ['agent.offered', 'agent1003'],
      ['agent.rona', 'agent1003'],
      ['agent.offered', 'agent1001'],
      ['agent.answered', 'agent1001'],
      ['queue.left', 'agent1001'],
    ]);
    expect(rows.find((r) => r.type === 'agent.rona')?.data).toMatchObject({ requeued: true });
  });

  it('a caller who hangs up while the agent rings cancels the ringing leg at once; the agent is free again', async () => {
    await waitFor(async () => (await agent('agent1001')).state !== 'on_call', 10_000, () => 'agent1001 still on a call');
    await act('agent1001', 'logout');
    await act('agent1003', 'unpause');
    const caller = uniqueCaller();
    const sipp = await sippCall({ dialed: '10010', caller, steps: [...toQueue('1'), { waitMs: 4_000 }], end: 'hangup' });
    expect(sipp.code, sipp.output).toBe(0);
    const rows = await records.endedCallOf(caller);
    expect(routingEvents(rows)).toEqual([['agent.offered', 'agent1003']]);
    await waitFor(async () => (await agent('agent1003')).state === 'available', 5_000, () => 'agent1003 not available after the caller left');
  });

  it('key 2 while waiting leaves the queue for voicemail; the ringing agent is released', async () => {
    const caller = uniqueCaller();
    // Ringing agent1003 (who never answers); 2 s later the caller presses 2, then # ends the message.
    const sipp = await sippCall({ dialed: '10010', caller, steps: [...toQueue('1'), { waitMs: 2_000, digit: '2' }, { waitMs: 9_000, digit: '#' }], end: 'wait-bye', recvTimeoutMs: 30_000 });
    expect(sipp.code, sipp.output).toBe(0);
    const rows = await records.endedCallOf(caller);
    expect(routingEvents(rows)).toEqual([
      ['agent.offered', 'agent1003'],
      ['queue.left', 'exit'],
    ]);
    expect(rows.filter((r) => r.type === 'flow.node_entered').map((r) => r.data.node).slice(-2)).toEqual(['leave_message', 'goodbye']);
    expect(rows.find((r) => r.type === 'voicemail.recorded')?.data).toMatchObject({ ok: true });
    await waitFor(async () => (await agent('agent1003')).state === 'available', 5_000, () => 'agent1003 not released');
  });
});
