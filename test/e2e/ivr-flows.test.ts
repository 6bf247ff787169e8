import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { E2E_ADMIN_TOKEN, startHotlineProcess, type HotlineProcess } from './helpers/hotline-process.ts';
import { Records, type Row } from './helpers/records.ts';
import { sippCall, uniqueCaller, type Step } from './helpers/sipp.ts';

/**
 * The shipped IVR flows on real calls: SIPp dials the lab Asterisk and presses keys (RFC 2833),
 * the real `hotline start` process runs ivr-flows/*.json, and the test reads the events back
 * from Postgres, in order. Menus take keys during their prompts (barge-in), so the steps only
 * need each menu to have started; `welcome` is a barge-in play whose key is dropped.
 */
const types = (rows: Row[], ...only: string[]) => rows.filter((r) => only.includes(r.type));
const selected = (rows: Row[]) => types(rows, 'menu.selected').map((r) => [r.data.node, r.data.digit]);
const entered = (rows: Row[]) => types(rows, 'flow.node_entered').map((r) => r.data.node);
const ended = (rows: Row[]) => rows.filter((r) => r.type === 'call.ended').map((r) => r.data);

/** Skip the welcome (its key is dropped), then choose Mandarin in the language menu. */
const intoMainMenu: Step[] = [
  { waitMs: 600, digit: '1' },
  { waitMs: 900, digit: '1' },
];

describe('IVR flows on real calls — night clock, demo CRM up', () => {
  let app: HotlineProcess;
  const records = new Records();
  beforeAll(async () => {
    // 23:30 in Shanghai on a Monday: after hours.
    app = await startHotlineProcess({ CLOCK_FIXED_AT: '2026-11-23T23:30:00+08:00' });
  });
  afterAll(async () => {
    const code = await app.stop();
    await records.close();
    expect(code).toBe(0);
    expect(app.logs()).not.toMatch(/unhandled rejection|UnhandledPromiseRejection|interpreter threw/i);
  });

  it('navigates two menu levels with DTMF and records every step in order', async () => {
    const caller = uniqueCaller();
    const sipp = await sippCall({
      dialed: '10010',
      caller,
      steps: [...intoMainMenu, { waitMs: 900, digit: '2' }, { waitMs: 900, digit: '1' }, { waitMs: 1500 }],
      end: 'hangup',
    });
    expect(sipp.code, sipp.output).toBe(0);
    const rows = await records.endedCallOf(caller);
    expect(rows.map((r) => r.seq)).toEqual(rows.map((_, i) => i + 1));
    expect(rows[0]).toMatchObject({ type: 'call.started', data: { flow: 'main', version: 4, dialed: '10010' } });
    expect(types(rows, 'http.completed').map((r) => r.data)).toEqual([{ node: 'lookup_customer', service: 'crm', ok: true, status: 200 }]);
    expect(selected(rows)).toEqual([
      ['choose_language', '1'],
      ['main_menu', '2'],
      ['services_menu', '1'],
    ]);
    expect(types(rows, 'menu.selected').map((r) => r.data.firstLevel)).toEqual([false, true, false]);
    expect(entered(rows)).toEqual(['welcome', 'lookup_customer', 'check_vip', 'choose_language', 'main_menu', 'services_menu', 'plan_info', ...entered(rows).slice(7)]);
    expect(ended(rows)).toEqual([{ cause: 'caller_hangup', node: expect.any(String), flow: 'main', version: 4 }]);
  });

  it('an invalid key is refused with a retry, then a valid one is taken', async () => {
    const caller = uniqueCaller();
    const sipp = await sippCall({
      dialed: '10086',
      caller,
      steps: [...intoMainMenu, { waitMs: 900, digit: '9' }, { waitMs: 1200, digit: '1' }, { waitMs: 2500 }],
      end: 'hangup',
    });
    expect(sipp.code, sipp.output).toBe(0);
    const rows = await records.endedCallOf(caller);
    const menuEvents = types(rows, 'menu.invalid', 'menu.selected').map((r) => [r.type, r.data.node, r.data.digit]);
    expect(menuEvents).toEqual([
      ['menu.selected', 'choose_language', '1'],
      ['menu.invalid', 'main_menu', '9'],
      ['menu.selected', 'main_menu', '1'],
    ]);
    expect(types(rows, 'menu.invalid')[0]!.data.retries).toBe(1);
    // Balance self-service: the CRM answered, and the balance was read out.
    expect(entered(rows)).toContain('say_balance');
  });

  it('switches to English, then asks for a data pack by SMS (a durable job) in the second menu', async () => {
    const caller = uniqueCaller();
    const sipp = await sippCall({
      dialed: '10010',
      caller,
      steps: [{ waitMs: 600, digit: '1' }, { waitMs: 900, digit: '2' }, { waitMs: 900, digit: '2' }, { waitMs: 900, digit: '2' }, { waitMs: 1500 }],
      end: 'hangup',
    });
    expect(sipp.code, sipp.output).toBe(0);
    const rows = await records.endedCallOf(caller);
    expect(types(rows, 'language.changed').map((r) => r.data)).toEqual([{ node: 'lang_en', from: 'zh', to: 'en' }]);
    expect(selected(rows)).toEqual([
      ['choose_language', '2'],
      ['main_menu', '2'],
      ['services_menu', '2'],
    ]);
    expect(types(rows, 'sms.requested').map((r) => r.data)).toEqual([{ node: 'data_pack_sms', template: 'data_pack' }]);
    expect(types(rows, 'flow.error')).toEqual([]);
    expect(entered(rows).at(-1)).toBe('data_pack_sent');
  });

  it('a VIP caller (CRM lookup) goes straight to the VIP queue', async () => {
    const caller = uniqueCaller('8888');
    const sipp = await sippCall({ dialed: '10010', caller, end: 'wait-bye', recvTimeoutMs: 30_000 });
    expect(sipp.code, sipp.output).toBe(0);
    const rows = await records.endedCallOf(caller);
    expect(entered(rows)).toEqual(['welcome', 'lookup_customer', 'check_vip', 'vip_greeting', 'vip_queue']);
    expect(types(rows, 'queue.requested').map((r) => r.data)).toEqual([{ node: 'vip_queue', queue: 'vip', skills: ['vip'], priority: 5 }]);
    expect(ended(rows)).toEqual([{ cause: 'queue_unavailable', node: 'vip_queue', flow: 'main', version: 4 }]);
  });

  it('after hours (injected clock), asking for an agent leads to the closed notice and a recorded voicemail', async () => {
    const caller = uniqueCaller();
    // closed (~6.7 s) and leave_message (~5.3 s) play, then a beep; # ends the message after ~2 s.
    const sipp = await sippCall({
      dialed: '10010',
      caller,
      steps: [...intoMainMenu, { waitMs: 900, digit: '0' }, { waitMs: 14_500, digit: '#' }],
      end: 'wait-bye',
      recvTimeoutMs: 30_000,
    });
    expect(sipp.code, sipp.output).toBe(0);
    const rows = await records.endedCallOf(caller);
    expect(types(rows, 'schedule.evaluated').map((r) => r.data)).toEqual([{ node: 'hours_check', outcome: 'closed' }]);
    expect(entered(rows).slice(-4)).toEqual(['hours_check', 'closed_notice', 'leave_message', 'goodbye']);
    const [vm] = types(rows, 'voicemail.recorded');
    expect(vm?.data).toMatchObject({ node: 'leave_message', ok: true, recording: expect.stringMatching(/^voicemail-/) });
    expect(ended(rows)).toEqual([{ cause: 'completed', node: 'goodbye', flow: 'main', version: 4 }]);
  });

  it('keys pressed while a slow CRM lookup runs are kept and answer the next menus (type-ahead)', async () => {
    // The demo CRM answers numbers ending in 7777 after 1.2 s: the keys at ~0.9 s and ~1.2 s
    // arrive while lookup_customer waits; the first key only skips the welcome.
    const caller = uniqueCaller('7777');
    const sipp = await sippCall({
      dialed: '10010',
      caller,
      steps: [{ waitMs: 600, digit: '9' }, { waitMs: 300, digit: '2' }, { waitMs: 300, digit: '1' }, { waitMs: 6000 }],
      end: 'hangup',
    });
    expect(sipp.code, sipp.output).toBe(0);
    const rows = await records.endedCallOf(caller);
    expect(types(rows, 'dtmf').filter((r) => r.data.node === 'lookup_customer').map((r) => [r.data.digit, r.data.typeAhead])).toEqual([
      ['2', true],
      ['1', true],
    ]);
    expect(types(rows, 'http.completed').map((r) => [r.data.node, r.data.ok])).toEqual([
      ['lookup_customer', true],
      ['balance', true],
    ]);
    // Fed after the answer, in order: 2 = English in the language menu, 1 = balance.
    expect(selected(rows)).toEqual([
      ['choose_language', '2'],
      ['main_menu', '1'],
    ]);
    expect(types(rows, 'language.changed').map((r) => r.data.to)).toEqual(['en']);
    expect(types(rows, 'menu.timeout', 'menu.invalid')).toEqual([]);
    expect(entered(rows).slice(0, 8)).toEqual(['welcome', 'lookup_customer', 'check_vip', 'choose_language', 'lang_en', 'main_menu', 'balance', 'say_balance']);
  });

  it('a caller who hangs up mid-menu ends the call once, at that menu', async () => {
    const caller = uniqueCaller();
    const sipp = await sippCall({ dialed: '10010', caller, steps: [{ waitMs: 600, digit: '1' }, { waitMs: 500 }], end: 'hangup' });
    expect(sipp.code, sipp.output).toBe(0);
    const rows = await records.endedCallOf(caller);
    expect(ended(rows)).toEqual([{ cause: 'caller_hangup', node: 'choose_language', flow: 'main', version: 4 }]);
  });

  it('the survey flow stores both answers', async () => {
    const caller = uniqueCaller();
    const sipp = await sippCall({ dialed: '96000', caller, steps: [{ waitMs: 5500, digit: '4' }, { waitMs: 1500, digit: '1' }], end: 'wait-bye' });
    expect(sipp.code, sipp.output).toBe(0);
    const rows = await records.endedCallOf(caller);
    expect(types(rows, 'survey.answered').map((r) => [r.data.question, r.data.score])).toEqual([
      ['satisfaction', 4],
      ['resolved', 1],
    ]);
    expect(ended(rows)).toEqual([{ cause: 'completed', node: 'thanks', flow: 'survey', version: 1 }]);
  });

  it('an unknown number hears the not-in-service flow, recorded', async () => {
    const caller = uniqueCaller();
    const sipp = await sippCall({ dialed: '99999', caller, end: 'wait-bye' });
    expect(sipp.code, sipp.output).toBe(0);
    const rows = await records.endedCallOf(caller);
    expect(rows.slice(0, 2).map((r) => r.type)).toEqual(['call.started', 'number.unknown']);
    expect(ended(rows)).toEqual([{ cause: 'not_in_service', node: 'notice_en', flow: 'not-in-service', version: 1 }]);
  });

  it('a flow published through the API runs on the next call: no-input timeouts until retries run out', async () => {
    const auth = { authorization: `Bearer ${E2E_ADMIN_TOKEN}`, 'content-type': 'application/json' };
    const flow = {
      id: 'e2e-short',
      version: 1,
      name: 'short timeouts',
      language: 'en',
      start: 'ask',
      nodes: {
        ask: { type: 'menu', prompts: ['sound:beep'], options: { '1': 'bye' }, timeoutMs: 1000, maxRetries: 1, onExhausted: 'bye' },
        bye: { type: 'hangup', reason: 'completed' },
      },
    };
    const pub = await fetch(`${app.url}/flows/e2e-short/versions`, { method: 'POST', headers: auth, body: JSON.stringify(flow) });
    expect(pub.status, await pub.clone().text()).toBe(201);
    expect(await pub.json()).toEqual({ id: 'e2e-short', version: 1 });
    const map = await fetch(`${app.url}/numbers/77001`, { method: 'PUT', headers: auth, body: JSON.stringify({ flowId: 'e2e-short' }) });
    expect(map.status).toBe(200);

    const caller = uniqueCaller();
    const sipp = await sippCall({ dialed: '77001', caller, end: 'wait-bye' });
    expect(sipp.code, sipp.output).toBe(0);
    const rows = await records.endedCallOf(caller);
    expect(types(rows, 'menu.timeout', 'node.exhausted').map((r) => [r.type, r.data.retries])).toEqual([
      ['menu.timeout', 1],
      ['menu.timeout', 2],
      ['node.exhausted', 2],
    ]);
    expect(ended(rows)).toEqual([{ cause: 'completed', node: 'bye', flow: 'e2e-short', version: 1 }]);
  });
});

describe('IVR flows on real calls — business hours, demo CRM down', () => {
  let app: HotlineProcess;
  const records = new Records();
  beforeAll(async () => {
    // 10:00 on a Monday in Shanghai; nothing listens on port 1, so every CRM call fails.
    app = await startHotlineProcess({ CLOCK_FIXED_AT: '2026-11-23T10:00:00+08:00', HTTP_SERVICES: 'crm=http://127.0.0.1:1' });
  });
  afterAll(async () => {
    expect(await app.stop()).toBe(0);
    await records.close();
  });

  it('the CRM error branch skips VIP detection; balance lookup fails politely; an agent request reaches the queue', async () => {
    const caller = uniqueCaller('8888'); // would be VIP if the CRM answered
    const sipp = await sippCall({
      dialed: '10010',
      caller,
      // lookup_failed (a plain play, ~5 s) must end before the key for the main menu.
      steps: [...intoMainMenu, { waitMs: 900, digit: '1' }, { waitMs: 7000, digit: '0' }],
      end: 'wait-bye',
      recvTimeoutMs: 40_000,
    });
    expect(sipp.code, sipp.output).toBe(0);
    const rows = await records.endedCallOf(caller);
    expect(types(rows, 'http.completed').map((r) => [r.data.node, r.data.ok])).toEqual([
      ['lookup_customer', false],
      ['balance', false],
    ]);
    expect(entered(rows)).toContain('lookup_failed');
    expect(entered(rows)).not.toContain('vip_greeting');
    expect(types(rows, 'schedule.evaluated').map((r) => r.data.outcome)).toEqual(['open']);
    expect(types(rows, 'queue.requested').map((r) => r.data.queue)).toEqual(['general']);
    expect(ended(rows)).toEqual([{ cause: 'queue_unavailable', node: 'agent_queue', flow: 'main', version: 4 }]);
  });
});
