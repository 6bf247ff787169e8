import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import '../setup/provided.ts';
import { startSoftphone, type Softphone } from './helpers/baresip.ts';
import { E2E_ADMIN_TOKEN, startHotlineProcess, waitFor, type HotlineProcess } from './helpers/hotline-process.ts';
import { Records, type Row } from './helpers/records.ts';
import { sippCall, uniqueCaller } from './helpers/sipp.ts';

/**
 * Skill-based routing on real parts: a baresip softphone registers as agent1001 (skills
 * general, billing), logs in through the API, and a SIPp caller who asks for an agent is
 * connected to it. When the agent hangs up, the caller stays on the line and rates the call.
 */
describe('a caller reaches a real softphone agent, then rates the call', () => {
  let app: HotlineProcess;
  let phone: Softphone | undefined;
  const records = new Records();
  const ast = inject('asterisk');
  const headers = { authorization: `Bearer ${E2E_ADMIN_TOKEN}`, 'content-type': 'application/json' };
  const agent = async (id: string) => (await fetch(`${app.url}/agents/${id}`, { headers })).json() as Promise<{ state: string; callsToday: number; pauseReason: string | null }>;
  const endpointState = async (resource: string) => {
    const res = await fetch(`${ast.ariUrl}/ari/endpoints/PJSIP/${resource}`, { headers: { authorization: `Basic ${Buffer.from(`${ast.ariUser}:${ast.ariPassword}`).toString('base64')}` } });
    return ((await res.json()) as { state: string }).state;
  };

  beforeAll(async () => {
    // 10:00 on a Monday in Shanghai: open.
    app = await startHotlineProcess({ CLOCK_FIXED_AT: '2026-11-23T10:00:00+08:00' });
  });
  afterAll(async () => {
    await phone?.stop();
    expect(await app.stop()).toBe(0);
    await records.close();
    expect(app.logs()).not.toMatch(/unhandled rejection|uncaught exception|interpreter threw/i);
  });

  it('login by API, a call routed to the agent, bridged; after the agent hangs up the survey answers are stored', async () => {
    phone = startSoftphone('agent1001', 25301);
    await waitFor(async () => (await endpointState('agent1001')) === 'online', 15_000, () => `agent1001 never registered:\n${phone?.output()}`);
    // Routing state lives in Redis, shared by the e2e files of one run: count from here.
    const callsBefore = (await agent('agent1001')).callsToday;
    const login = await fetch(`${app.url}/agents/agent1001/login`, { method: 'POST', headers, body: '{}' });
    expect(login.status, await login.clone().text()).toBe(200);
    expect(await login.json()).toMatchObject({ agentId: 'agent1001', from: 'logged_out', to: 'available' });

    const caller = uniqueCaller();
    const call = sippCall({
      dialed: '10010',
      caller,
      // Skip the welcome, Mandarin, 0 for an agent; then, ~14 s in, rate 4 and answer "resolved".
      steps: [{ waitMs: 600, digit: '1' }, { waitMs: 900, digit: '1' }, { waitMs: 900, digit: '0' }, { waitMs: 11_600, digit: '4' }, { waitMs: 1_500, digit: '1' }],
      end: 'wait-bye',
      recvTimeoutMs: 40_000,
    });
    let rows: Row[] = [];
    await waitFor(
      async () => (rows = await records.eventsOfCaller(caller)).some((r) => r.type === 'queue.left' && r.data.reason === 'answered'),
      20_000,
      () => `never connected to the agent: ${JSON.stringify(rows.map((r) => [r.type, r.data]))}\n${app.logs().slice(-3000)}`,
    );
    expect((await agent('agent1001')).state).toBe('on_call');
    await new Promise((r) => setTimeout(r, 1_000));
    phone.command('/hangup');

    const sipp = await call;
    expect(sipp.code, sipp.output).toBe(0);
    rows = await records.endedCallOf(caller);
    const seq = rows.filter((r) => ['queue.requested', 'queue.joined', 'agent.offered', 'agent.answered', 'queue.left', 'bridge.ended', 'survey.answered', 'call.ended'].includes(r.type));
    expect(seq.map((r) => r.type)).toEqual(['queue.requested', 'queue.joined', 'agent.offered', 'agent.answered', 'queue.left', 'bridge.ended', 'survey.answered', 'survey.answered', 'call.ended']);
    expect(seq[1]!.data).toMatchObject({ queue: 'general', position: 1 });
    expect(seq[2]!.data).toEqual({ agentId: 'agent1001', queue: 'general' });
    expect(seq[5]!.data).toMatchObject({ agentId: 'agent1001', by: 'agent' });
    expect(rows.filter((r) => r.type === 'survey.answered').map((r) => [r.data.question, r.data.score, r.data.agentId])).toEqual([
      ['satisfaction', 4, 'agent1001'],
      ['resolved', 1, 'agent1001'],
    ]);
    expect(rows.at(-1)!.data).toMatchObject({ cause: 'completed', flow: 'survey' });
    const after = await agent('agent1001');
    expect(['wrap_up', 'available']).toContain(after.state);
    expect(after.callsToday).toBe(callsBefore + 1);
  });

  it('feature codes from the softphone: *3 pauses with a reason, *4 unpauses, *2 logs out, *1 logs in', async () => {
    await waitFor(async () => (await agent('agent1001')).state === 'available', 20_000, () => 'agent1001 never left wrap-up');
    const dial = async (code: string, expected: { state: string; pauseReason?: string | null }) => {
      phone!.command(`/dial sip:${code}@127.0.0.1:${ast.sipPort}`);
      await waitFor(async () => (await agent('agent1001')).state === expected.state, 10_000, () => `after ${code} agent1001 is not ${expected.state}:\n${phone?.output().slice(-1500)}`);
      expect(await agent('agent1001')).toMatchObject(expected);
      // The confirmation plays, then Hotline hangs up; let the softphone be idle again.
      await new Promise((r) => setTimeout(r, 3_000));
    };
    await dial('*32', { state: 'paused', pauseReason: 'lunch' });
    await dial('*4', { state: 'available' });
    await dial('*2', { state: 'logged_out' });
    await dial('*1', { state: 'available' });
  });

  it('a softphone that unregisters logs its agent out', async () => {
    await waitFor(async () => (await agent('agent1001')).state === 'available', 20_000, () => 'agent1001 never left wrap-up');
    await phone!.stop();
    phone = undefined;
    await waitFor(async () => (await agent('agent1001')).state === 'logged_out', 15_000, () => `agent1001 still logged in:\n${app.logs().slice(-2000)}`);
  });
});
