import { describe, expect, it } from 'vitest';
import { initialState, step } from '../../src/flows/interpreter.ts';
import { FlowSchema, type Flow } from '../../src/flows/schema.ts';
import type { FlowCommand, FlowInput, FlowResolver, FlowState } from '../../src/flows/state.ts';

/** A flow from its nodes (defaults applied by the schema); the first node is the start. */
function flow(id: string, nodes: Record<string, unknown>, extra: Record<string, unknown> = {}): Flow {
  return FlowSchema.parse({ id, version: 1, name: id, language: 'zh', start: Object.keys(nodes)[0], nodes, ...extra });
}

function resolver(...flows: Flow[]): FlowResolver {
  return {
    get: (id, version) => flows.find((f) => f.id === id && f.version === version),
    active: (id) => flows.find((f) => f.id === id),
  };
}

const NOW = new Date('2026-03-04T10:00:00+08:00'); // a Wednesday morning in Shanghai

/** Drives one call: each send is one step; `all` keeps every command emitted. */
class Call {
  state: FlowState;
  all: FlowCommand[] = [];
  last: readonly FlowCommand[] = [];
  now: Date;
  readonly flows: FlowResolver;

  constructor(flows: Flow[], opts: { vars?: Record<string, string | number | boolean>; now?: Date } = {}) {
    this.flows = resolver(...flows);
    this.state = initialState('c1', flows[0]!, { caller: '13800138000', ...opts.vars });
    this.now = opts.now ?? NOW;
  }

  send(input: FlowInput): readonly FlowCommand[] {
    const r = step(this.flows, this.state, input, this.now);
    this.state = r.state;
    this.last = r.commands;
    this.all.push(...r.commands);
    return r.commands;
  }

  start = () => this.send({ type: 'started' });
  key = (digit: string) => this.send({ type: 'dtmf', digit });
  hangup = (cause = 'caller_hangup') => this.send({ type: 'hungup', cause });

  /** The playback the flow waits for. */
  get pb(): string {
    if (this.state.phase.kind !== 'playing') throw new Error(`not playing: ${this.state.phase.kind}`);
    return this.state.phase.playbackId;
  }

  get timer(): string {
    if (this.state.phase.kind !== 'listening') throw new Error(`not listening: ${this.state.phase.kind}`);
    return this.state.phase.timer;
  }

  finish = () => this.send({ type: 'playback.finished', playbackId: this.pb });
  timeout = () => this.send({ type: 'timer.fired', name: this.timer });
}

const events = (cmds: readonly FlowCommand[]) => cmds.flatMap((c) => (c.type === 'RecordEvent' ? [c.event] : []));
const eventsOf = (cmds: readonly FlowCommand[], name: string) =>
  cmds.flatMap((c) => (c.type === 'RecordEvent' && c.event === name ? [c.data] : []));
const plays = (cmds: readonly FlowCommand[]) => cmds.flatMap((c) => (c.type === 'PlayPrompt' ? [c.media] : []));
const types = (cmds: readonly FlowCommand[]) => cmds.map((c) => (c.type === 'RecordEvent' ? `event:${c.event}` : c.type));

const end = { type: 'hangup', reason: 'completed' };
const menuFlow = (extra: Record<string, unknown> = {}) =>
  flow('m', {
    menu: {
      type: 'menu',
      prompts: ['prompt:main_menu'],
      options: { '1': 'one', '2': 'two' },
      invalidPrompts: ['prompt:invalid_key'],
      noInputPrompts: ['prompt:no_input'],
      onExhausted: 'bye',
      firstLevel: true,
      ...extra,
    },
    one: end,
    two: end,
    bye: { type: 'hangup', prompts: ['prompt:goodbye'], reason: 'completed' },
  });

describe('interpreter: start and menu', () => {
  it('answers, records the start and plays the menu prompt; the timer starts after the prompt', () => {
    const call = new Call([menuFlow()]);
    expect(call.start()).toEqual([
      { type: 'Answer' },
      { type: 'RecordEvent', event: 'flow.started', data: { flow: 'm', version: 1, language: 'zh' } },
      { type: 'RecordEvent', event: 'flow.node_entered', data: { flow: 'm', version: 1, node: 'menu', type: 'menu' } },
      { type: 'PlayPrompt', playbackId: 'c1:pb1:menu', media: ['sound:hotline/zh/main_menu'] },
    ]);
    expect(call.finish()).toEqual([{ type: 'StartTimer', name: 'c1:t2:menu', ms: 5000 }]);
    expect(call.state.phase).toEqual({ kind: 'listening', timer: 'c1:t2:menu' });
  });

  it('selects an option after the prompt: cancels the timer, records dtmf and menu.selected', () => {
    const call = new Call([menuFlow()]);
    call.start();
    call.finish();
    expect(call.key('2')).toEqual([
      { type: 'CancelTimer', name: 'c1:t2:menu' },
      { type: 'RecordEvent', event: 'dtmf', data: { digit: '2', node: 'menu', bargeIn: false } },
      { type: 'RecordEvent', event: 'menu.selected', data: { node: 'menu', digit: '2', target: 'two', firstLevel: true } },
      { type: 'RecordEvent', event: 'flow.node_entered', data: { flow: 'm', version: 1, node: 'two', type: 'hangup' } },
      { type: 'Hangup' },
      { type: 'RecordEvent', event: 'call.ended', data: { cause: 'completed', node: 'two', flow: 'm', version: 1 } },
    ]);
    expect(call.state.path).toEqual(['menu', 'two']);
  });

  it('an invalid key re-prompts with the invalid prompts first, then a valid key selects', () => {
    const call = new Call([menuFlow()]);
    call.start();
    call.finish();
    const c = call.key('9');
    expect(events(c)).toEqual(['dtmf', 'menu.invalid']);
    expect(eventsOf(c, 'menu.invalid')).toEqual([{ node: 'menu', retries: 1, digit: '9' }]);
    expect(plays(c)).toEqual([['sound:hotline/zh/invalid_key', 'sound:hotline/zh/main_menu']]);
    expect(call.state.retries).toBe(1);
    call.finish();
    expect(eventsOf(call.key('1'), 'menu.selected')).toEqual([{ node: 'menu', digit: '1', target: 'one', firstLevel: true }]);
    expect(call.state.node).toBe('one');
  });

  it('silence re-prompts with the no-input prompts', () => {
    const call = new Call([menuFlow()]);
    call.start();
    call.finish();
    const c = call.timeout();
    // (The fired timer is cancelled as well: harmless, the runner ignores unknown timers.)
    expect(types(c)).toEqual(['CancelTimer', 'event:menu.timeout', 'PlayPrompt']);
    expect(eventsOf(c, 'menu.timeout')).toEqual([{ node: 'menu', retries: 1 }]);
    expect(plays(c)).toEqual([['sound:hotline/zh/no_input', 'sound:hotline/zh/main_menu']]);
  });

  it('leaves through onExhausted when the retries are used up, with the exact events in order', () => {
    const call = new Call([menuFlow({ maxRetries: 1 })]);
    call.start();
    call.finish();
    call.key('7'); // retry 1
    call.finish();
    call.timeout(); // retry 2 > maxRetries
    expect(call.state.node).toBe('bye');
    call.finish();
    expect(events(call.all)).toEqual([
      'flow.started',
      'flow.node_entered',
      'dtmf',
      'menu.invalid',
      'menu.timeout',
      'node.exhausted',
      'flow.node_entered',
      'call.ended',
    ]);
    expect(eventsOf(call.all, 'node.exhausted')).toEqual([{ node: 'menu', retries: 2 }]);
    expect(call.state.phase.kind).toBe('ended');
  });

  it('takes a key during the prompt (barge-in): stops the prompt; its late playback.finished is stale', () => {
    const call = new Call([menuFlow()]);
    call.start();
    const pb = call.pb;
    const c = call.key('1');
    expect(c[0]).toEqual({ type: 'StopPlayback', playbackId: pb });
    expect(eventsOf(c, 'dtmf')).toEqual([{ digit: '1', node: 'menu', bargeIn: true }]);
    expect(call.state.node).toBe('one');
    const before = call.state;
    expect(call.send({ type: 'playback.finished', playbackId: pb })).toEqual([]);
    expect(call.state).toBe(before);
  });

  it('ignores a stale timer and a key while nothing listens is recorded as ignored', () => {
    const call = new Call([flow('p', { intro: { type: 'play', prompts: ['prompt:welcome'], next: 'menu' }, menu: menuFlow().nodes.menu, one: end, two: end, bye: end })]);
    call.start();
    expect(call.key('5')).toEqual([{ type: 'RecordEvent', event: 'dtmf', data: { digit: '5', node: 'intro', ignored: true } }]);
    call.finish();
    call.finish();
    expect(call.send({ type: 'timer.fired', name: 'c1:t99:menu' })).toEqual([]);
    expect(call.state.phase.kind).toBe('listening');
  });

  it('a play node with bargeIn moves on at a key and drops the key', () => {
    const call = new Call([flow('p', { intro: { type: 'play', prompts: ['prompt:welcome'], bargeIn: true, next: 'menu' }, menu: menuFlow().nodes.menu, one: end, two: end, bye: end })]);
    call.start();
    const pb = call.pb;
    const c = call.key('1');
    expect(types(c)).toEqual(['event:dtmf', 'StopPlayback', 'event:flow.node_entered', 'PlayPrompt']);
    expect(c[1]).toEqual({ type: 'StopPlayback', playbackId: pb });
    expect(call.state.node).toBe('menu');
    expect(call.state.phase.kind).toBe('playing');
  });
});

describe('interpreter: gather', () => {
  const gatherFlow = (extra: Record<string, unknown> = {}) =>
    flow('g', {
      ask: {
        type: 'gather',
        prompts: ['prompt:enter_number'],
        minDigits: 3,
        maxDigits: 6,
        terminator: '#',
        into: 'acct',
        maxRetries: 1,
        invalidPrompts: ['prompt:invalid_key'],
        next: 'done',
        onExhausted: 'bye',
        ...extra,
      },
      done: end,
      bye: end,
    });

  it('collects digits until the terminator, stores them, records only their count', () => {
    const call = new Call([gatherFlow()]);
    call.start();
    call.key('1'); // barge-in
    for (const d of '23') call.key(d);
    const c = call.key('#');
    expect(eventsOf(c, 'gather.completed')).toEqual([{ node: 'ask', into: 'acct', length: 3 }]);
    expect(call.state.vars.acct).toBe('123');
    expect(call.state.node).toBe('done');
    expect(eventsOf(call.all, 'dtmf').map((d) => d.bargeIn)).toEqual([true, false, false, false]);
  });

  it('restarts the inter-digit timer at each key and finishes at maxDigits', () => {
    const call = new Call([gatherFlow()]);
    call.start();
    call.finish();
    const first = call.timer;
    const c = call.key('1');
    expect(types(c)).toEqual(['CancelTimer', 'event:dtmf', 'StartTimer']);
    expect(call.timer).not.toBe(first);
    for (const d of '23456') call.key(d);
    expect(call.state.vars.acct).toBe('123456');
    expect(call.state.node).toBe('done');
  });

  it('the inter-digit timeout ends the input: enough digits complete it', () => {
    const call = new Call([gatherFlow()]);
    call.start();
    call.finish();
    for (const d of '4711') call.key(d);
    const c = call.timeout();
    expect(events(c)).toEqual(['gather.completed', 'flow.node_entered', 'call.ended']);
    expect(call.state.vars.acct).toBe('4711');
  });

  it('too few digits at the inter-digit timeout count as invalid', () => {
    const call = new Call([gatherFlow()]);
    call.start();
    call.finish();
    call.key('4');
    const c = call.timeout();
    expect(eventsOf(c, 'gather.invalid')).toEqual([{ node: 'ask', retries: 1, length: 1 }]);
    expect(plays(c)).toEqual([['sound:hotline/zh/invalid_key', 'sound:hotline/zh/enter_number']]);
    expect(call.state.digits).toBe('');
  });

  it('a pattern failure re-prompts, then exhausts into onExhausted', () => {
    const call = new Call([gatherFlow({ pattern: '^9' })]);
    call.start();
    for (const d of '123#') call.key(d);
    expect(eventsOf(call.last, 'gather.invalid')).toEqual([{ node: 'ask', retries: 1, length: 3 }]);
    for (const d of '456#') call.key(d);
    expect(events(call.last)).toEqual(['dtmf', 'gather.invalid', 'node.exhausted', 'flow.node_entered', 'call.ended']);
    expect(call.state.node).toBe('bye');
    expect(call.state.vars.acct).toBeUndefined();
  });

  it('silence with no digits is a gather.timeout', () => {
    const call = new Call([gatherFlow({ maxRetries: 0 })]);
    call.start();
    call.finish();
    expect(events(call.timeout())).toEqual(['gather.timeout', 'node.exhausted', 'flow.node_entered', 'call.ended']);
  });
});

describe('interpreter: branch, schedule, set', () => {
  const branchFlow = flow('b', {
    check: {
      type: 'branch',
      conditions: [
        { when: { var: 'tier', eq: 'vip' }, next: 'vip' },
        { when: { all: [{ var: 'balance', lt: 0 }, { not: { var: 'tier', exists: true } }] }, next: 'owes' },
      ],
      default: 'other',
    },
    vip: end,
    owes: end,
    other: end,
  });

  it.each([
    [{ tier: 'vip' }, 'vip'],
    [{ balance: -5 }, 'owes'],
    [{ balance: -5, tier: 'normal' }, 'other'],
    [{}, 'other'],
  ])('branch with %j goes to %s', (vars, target) => {
    const call = new Call([branchFlow], { vars });
    call.start();
    expect(call.state.path).toEqual(['check', target]);
  });

  const scheduleFlow = flow('s', {
    hours: {
      type: 'schedule',
      timezone: 'Asia/Shanghai',
      weekly: { mon: [['08:00', '22:00']], wed: [['08:00', '12:00'], ['13:00', '22:00']], sun: [['09:00', '18:00']] },
      holidays: ['2026-10-01', '2026-10-04'],
      special: { '2026-10-04': [['09:00', '17:00']], '2026-10-06': [['10:00', '11:00']] },
      open: 'is_open',
      closed: 'is_closed',
      holiday: 'is_holiday',
    },
    is_open: end,
    is_closed: end,
    is_holiday: end,
  });

  it.each([
    ['2026-03-04T10:00:00+08:00', 'open'], // Wednesday morning
    ['2026-03-04T12:30:00+08:00', 'closed'], // Wednesday lunch break
    ['2026-03-04T23:30:00+08:00', 'closed'], // Wednesday night
    ['2026-03-04T22:00:00+08:00', 'closed'], // closing time is exclusive
    ['2026-03-05T10:00:00+08:00', 'closed'], // Thursday: no hours at all
    ['2026-03-02T01:00:00Z', 'open'], // 09:00 Monday in Shanghai (still Monday in UTC)
    ['2026-03-01T23:30:00Z', 'closed'], // 07:30 Monday in Shanghai, Sunday in UTC
    ['2026-09-30T17:00:00Z', 'holiday'], // 01:00 on 1 October in Shanghai, 30 September in UTC
    ['2026-10-01T10:00:00+08:00', 'holiday'],
    ['2026-10-04T16:30:00+08:00', 'open'], // a special day wins over the holiday list
    ['2026-10-04T17:30:00+08:00', 'closed'],
    ['2026-10-06T10:30:00+08:00', 'open'], // special hours on a Tuesday (no weekly hours)
    ['2026-10-06T11:30:00+08:00', 'closed'],
  ])('schedule at %s is %s', (at, outcome) => {
    const call = new Call([scheduleFlow], { now: new Date(at) });
    const c = call.start();
    expect(eventsOf(c, 'schedule.evaluated')).toEqual([{ node: 'hours', outcome }]);
    expect(call.state.path).toEqual(['hours', `is_${outcome}`]);
  });

  it('set assigns scalars and fills templates with sanitised values', () => {
    const f = flow('v', {
      assign: { type: 'set', assign: { greeting: 'hi-{{caller}}', path: 'x/{{input}}', n: 5, flag: true, missing: '{{nope}}' }, next: 'done' },
      done: end,
    });
    const call = new Call([f], { vars: { input: '../a b;c' } });
    call.start();
    expect(call.state.vars).toMatchObject({ greeting: 'hi-13800138000', path: 'x/..abc', n: 5, flag: true, missing: '' });
  });
});

describe('interpreter: http', () => {
  const httpFlow = flow('h', {
    lookup: {
      type: 'http',
      service: 'crm',
      path: '/customers/{{caller}}',
      map: { tier: 'customer.tier', balance: 'balance', obj: 'customer', missing: 'x.y' },
      next: 'ok',
      onError: 'failed',
    },
    ok: end,
    failed: end,
  });

  it('requests with the path filled, maps scalar fields of the answer', () => {
    const call = new Call([httpFlow]);
    const c = call.start();
    expect(c).toContainEqual({ type: 'HttpRequest', requestId: 'c1:http1:lookup', service: 'crm', path: '/customers/13800138000', timeoutMs: 2000 });
    expect(call.state.phase).toEqual({ kind: 'http', requestId: 'c1:http1:lookup' });
    const r = call.send({ type: 'http.result', requestId: 'c1:http1:lookup', ok: true, status: 200, body: { customer: { tier: 'gold' }, balance: 12.5 } });
    expect(eventsOf(r, 'http.completed')).toEqual([{ node: 'lookup', service: 'crm', ok: true, status: 200 }]);
    expect(call.state.vars).toMatchObject({ tier: 'gold', balance: 12.5 });
    expect(call.state.vars).not.toHaveProperty('obj');
    expect(call.state.vars).not.toHaveProperty('missing');
    expect(call.state.path).toEqual(['lookup', 'ok']);
  });

  it('an error answer takes onError', () => {
    const call = new Call([httpFlow]);
    call.start();
    const r = call.send({ type: 'http.result', requestId: 'c1:http1:lookup', ok: false, status: 504, body: null });
    expect(eventsOf(r, 'http.completed')).toEqual([{ node: 'lookup', service: 'crm', ok: false, status: 504 }]);
    expect(call.state.path).toEqual(['lookup', 'failed']);
  });

  it('ignores a stale answer (another request id) and keys while waiting', () => {
    const call = new Call([httpFlow]);
    call.start();
    const before = call.state;
    expect(call.send({ type: 'http.result', requestId: 'c1:http0:lookup', ok: true, status: 200, body: { balance: 1 } })).toEqual([]);
    expect(call.state).toBe(before);
    expect(events(call.key('1'))).toEqual(['dtmf']);
    expect(call.state.phase.kind).toBe('http');
  });
});

describe('interpreter: type-ahead during an http lookup', () => {
  const lookup = { type: 'http', service: 'crm', path: '/customers/{{caller}}', map: { balance: 'balance' }, next: 'note', onError: 'note' };
  const typeAheadFlow = flow('t', {
    lookup,
    note: { type: 'play', prompts: ['prompt:balance_is'], next: 'menu' },
    menu: { type: 'menu', prompts: ['prompt:main_menu'], options: { '1': 'number', '2': 'queue' }, onExhausted: 'bye' },
    number: { type: 'gather', prompts: ['prompt:enter_number'], minDigits: 3, maxDigits: 3, into: 'other', next: 'bye', onExhausted: 'bye' },
    queue: { type: 'queue', queue: 'general', next: 'rate' },
    rate: { type: 'survey', question: 'rating', prompts: ['prompt:survey_rating'], next: 'bye', onNoAnswer: 'bye' },
    bye: end,
  });
  const answer = (call: Call) => call.send({ type: 'http.result', requestId: 'c1:http1:lookup', ok: true, status: 200, body: { balance: 5 } });

  it('keeps keys pressed while waiting and feeds them to the next menu and gather, as if pressed there', () => {
    const call = new Call([typeAheadFlow]);
    call.start();
    expect(eventsOf(call.key('1'), 'dtmf')).toEqual([{ digit: '1', node: 'lookup', typeAhead: true }]);
    ['4', '0', '7'].forEach((d) => call.key(d));
    expect(call.state).toMatchObject({ phase: { kind: 'http' }, typeAhead: '1407' });
    answer(call);
    // The play between the lookup and the menu is not a collector: it plays in full.
    expect(call.state).toMatchObject({ node: 'note', phase: { kind: 'playing' }, typeAhead: '1407' });
    const r = call.finish();
    expect(eventsOf(r, 'menu.selected')).toEqual([{ node: 'menu', digit: '1', target: 'number', firstLevel: false }]);
    expect(eventsOf(r, 'gather.completed')).toEqual([{ node: 'number', into: 'other', length: 3 }]);
    expect(call.state.vars.other).toBe('407');
    expect(call.state.typeAhead).toBe('');
    // The menu and gather prompts were answered before they began: neither reaches Asterisk.
    expect(types(r).filter((t) => !t.startsWith('event:'))).toEqual(['Hangup']);
    expect(call.state.path).toEqual(['lookup', 'note', 'menu', 'number', 'bye']);
  });

  it('a wrong kept key re-prompts like a live one; the next kept key answers the re-prompt', () => {
    const call = new Call([typeAheadFlow]);
    call.start();
    call.key('9');
    call.key('2');
    answer(call);
    const r = call.finish();
    expect(events(r).filter((e) => e.startsWith('menu.'))).toEqual(['menu.invalid', 'menu.selected']);
    // Only the re-prompt after the invalid key is cut short; the queue drops nothing it needs.
    expect(plays(r)).toEqual([]);
    expect(call.state.node).toBe('queue');
  });

  it('kept keys the menu does not use are dropped at a queue, so the survey after the agent never sees them', () => {
    const call = new Call([typeAheadFlow]);
    call.start();
    ['2', '5'].forEach((d) => call.key(d));
    answer(call);
    call.finish();
    expect(call.state).toMatchObject({ node: 'queue', typeAhead: '' });
  });

  it('with no keys kept, the menu prompt plays and waits as usual', () => {
    const call = new Call([typeAheadFlow]);
    call.start();
    answer(call);
    const r = call.finish();
    expect(plays(r)).toEqual([['sound:hotline/zh/main_menu']]);
    expect(call.state.phase.kind).toBe('playing');
  });

  it('keeps at most 16 keys; further ones are recorded as not kept', () => {
    const call = new Call([typeAheadFlow]);
    call.start();
    for (let i = 0; i < 16; i++) call.key('3');
    expect(eventsOf(call.key('4'), 'dtmf')).toEqual([{ digit: '4', node: 'lookup', typeAhead: false }]);
    expect(call.state.typeAhead).toBe('3'.repeat(16));
  });
});

describe('interpreter: numbers and digits in the caller\'s language', () => {
  const sayFlow = (language: 'zh' | 'en') =>
    flow('n', { say: { type: 'play', prompts: ['prompt:balance_is', 'number:{{balance}}', 'prompt:yuan', 'digits:{{caller}}'], next: 'done' }, done: end }, { language });
  const zh = (...names: string[]) => names.map((n) => `sound:hotline/zh/num_${n}`);

  it('a Mandarin caller hears the number and the digits from the Mandarin number words', () => {
    const call = new Call([sayFlow('zh')], { vars: { balance: 108, caller: '10086' } });
    expect(plays(call.start())).toEqual([
      [
        'sound:hotline/zh/balance_is',
        ...zh('1', 'hundred', '0', '8'),
        'sound:hotline/zh/yuan',
        ...zh('1', '0', '0', '8', '6'),
      ],
    ]);
  });

  it('an English caller keeps Asterisk\'s own English number: and digits:', () => {
    const call = new Call([sayFlow('en')], { vars: { balance: 108, caller: '10086' } });
    expect(plays(call.start())).toEqual([['sound:hotline/en/balance_is', 'number:108', 'sound:hotline/en/yuan', 'digits:10086']]);
  });

  it('switching language mid-call switches how numbers are said', () => {
    const f = flow('s', {
      first: { type: 'play', prompts: ['number:{{balance}}'], next: 'en' },
      en: { type: 'language', language: 'en', next: 'second' },
      second: { type: 'play', prompts: ['number:{{balance}}'], next: 'done' },
      done: end,
    });
    const call = new Call([f], { vars: { balance: -15 } });
    expect(plays(call.start())).toEqual([zh('minus', 'ten', '5')]);
    expect(plays(call.finish())).toEqual([['number:-15']]);
  });

  it.each([
    ['0', ['0']],
    ['7', ['7']],
    ['10', ['ten']],
    ['15', ['ten', '5']],
    ['20', ['2', 'ten']],
    ['88', ['8', 'ten', '8']],
    ['100', ['1', 'hundred']],
    ['108', ['1', 'hundred', '0', '8']],
    ['110', ['1', 'hundred', '1', 'ten']],
    ['1005', ['1', 'thousand', '0', '5']],
    ['1020', ['1', 'thousand', '0', '2', 'ten']],
    ['1200', ['1', 'thousand', '2', 'hundred']],
    ['10000', ['1', 'wan']],
    ['10005', ['1', 'wan', '0', '5']],
    ['12000', ['1', 'wan', '2', 'thousand']],
    ['100200', ['ten', 'wan', '0', '2', 'hundred']],
    ['120000', ['ten', '2', 'wan']],
    ['99999', ['9', 'wan', '9', 'thousand', '9', 'hundred', '9', 'ten', '9']],
    ['100001000', ['1', 'yi', '0', '1', 'thousand']],
    ['200000000', ['2', 'yi']],
    ['-3', ['minus', '3']],
    ['007', ['7']],
  ])('number:%s in Mandarin', (n, words) => {
    const call = new Call([flow('m', { say: { type: 'play', prompts: [`number:${n}`], next: 'done' }, done: end })]);
    expect(plays(call.start())).toEqual([zh(...words)]);
  });
});

/** The announcement a queued call is playing between stretches of hold music. */
function announcement(call: Call): string {
  const p = call.state.phase;
  if (p.kind !== 'queued' || !p.announcement) throw new Error(`no announcement playing: ${JSON.stringify(p)}`);
  return p.announcement;
}

describe('interpreter: language, queue, transfer, voicemail, sms, survey', () => {
  it('a language switch changes how prompt: media resolve', () => {
    const f = flow('l', {
      en: { type: 'language', language: 'en', next: 'hello' },
      hello: { type: 'play', prompts: ['prompt:welcome', 'digits:{{caller}}', 'sound:beep'], next: 'done' },
      done: end,
    });
    const call = new Call([f]);
    const c = call.start();
    expect(eventsOf(c, 'language.changed')).toEqual([{ node: 'en', from: 'zh', to: 'en' }]);
    expect(plays(c)).toEqual([['sound:hotline/en/welcome', 'digits:13800138000', 'sound:beep']]);
    expect(call.state.language).toBe('en');
    expect(call.state.vars.language).toBe('en');
  });

  it('a queue with no agent available apologises and ends the call with cause queue_unavailable', () => {
    const f = flow('q', { q: { type: 'queue', queue: 'general', skills: ['general'], priority: 3, next: 'bye' }, bye: end });
    const call = new Call([f]);
    const c = call.start();
    expect(eventsOf(c, 'queue.requested')).toEqual([{ node: 'q', queue: 'general', skills: ['general'], priority: 3 }]);
    expect(c).toContainEqual({ type: 'Enqueue', queue: 'general', skills: ['general'], priority: 3, mohClass: 'default' });
    const u = call.send({ type: 'queue.unavailable', reason: 'no agent logged in' });
    expect(eventsOf(u, 'queue.left')).toEqual([{ node: 'q', queue: 'general', reason: 'unavailable', detail: 'no agent logged in' }]);
    expect(plays(u)).toEqual([['sound:hotline/zh/agents_unavailable']]);
    const done = call.finish();
    expect(done).toContainEqual({ type: 'Hangup' });
    expect(eventsOf(done, 'call.ended')).toEqual([{ cause: 'queue_unavailable', node: 'q', flow: 'q', version: 1 }]);
    expect(call.state.phase.kind).toBe('ended');
  });

  it('a queued caller is connected, and continues at next (the survey) when the agent hangs up', () => {
    const f = flow('q', { q: { type: 'queue', queue: 'general', next: 'rate' }, rate: { type: 'survey', question: 'satisfaction', prompts: ['prompt:survey_rating'], next: 'bye', onNoAnswer: 'bye' }, bye: end });
    const call = new Call([f]);
    call.start();
    expect(eventsOf(call.send({ type: 'queue.joined', position: 2 }), 'queue.joined')).toEqual([{ node: 'q', queue: 'general', position: 2 }]);
    // No exit key: a key while waiting is only recorded.
    expect(call.key('5')).toEqual([{ type: 'RecordEvent', event: 'dtmf', data: { digit: '5', node: 'q', ignored: true } }]);
    const con = call.send({ type: 'queue.connected', agentId: 'agent1001' });
    expect(eventsOf(con, 'queue.left')).toEqual([{ node: 'q', queue: 'general', reason: 'answered', agentId: 'agent1001' }]);
    expect(call.state.phase).toEqual({ kind: 'connected', agentId: 'agent1001' });
    const left = call.send({ type: 'queue.agent_left' });
    expect(eventsOf(left, 'bridge.ended')).toEqual([{ node: 'q', agentId: 'agent1001', by: 'agent' }]);
    expect(plays(left)).toEqual([['sound:hotline/zh/survey_rating']]);
    call.key('4');
    expect(eventsOf(call.all, 'survey.answered')).toEqual([{ question: 'satisfaction', score: 4, scale: 5, node: 'rate', agentId: 'agent1001' }]);
  });

  it('a queue exit key leaves the queue for onExit; the maximum wait leaves for onTimeout', () => {
    const nodes = { q: { type: 'queue', queue: 'general', next: 'bye', exitKey: '1', onExit: 'vm', onTimeout: 'late' }, vm: end, late: end, bye: end };
    const exit = new Call([flow('q', nodes)]);
    exit.start();
    const x = exit.key('1');
    expect(x).toContainEqual({ type: 'LeaveQueue', reason: 'exit' });
    expect(eventsOf(x, 'queue.left')).toEqual([{ node: 'q', queue: 'general', reason: 'exit' }]);
    expect(exit.state.path.at(-1)).toBe('vm');
    const late = new Call([flow('q', nodes)]);
    late.start();
    const t = late.send({ type: 'queue.timeout' });
    expect(t).toContainEqual({ type: 'LeaveQueue', reason: 'timeout' });
    expect(late.state.path.at(-1)).toBe('late');
  });

  it('a position announcement stops the hold music, says position and wait, then the music resumes', () => {
    const f = flow('q', { q: { type: 'queue', queue: 'general', mohClass: 'jazz', next: 'bye' }, bye: end });
    const call = new Call([f]);
    call.start();
    call.send({ type: 'queue.joined', position: 3 });
    const a = call.send({ type: 'queue.announce', position: 3, ewtSeconds: 125 });
    expect(eventsOf(a, 'queue.position_announced')).toEqual([{ node: 'q', queue: 'general', position: 3, ewtSeconds: 125 }]);
    expect(a[1]).toEqual({ type: 'StopHold' });
    // 125 s is said as 3 minutes (rounded up: never promise less than the estimate).
    expect(plays(a)).toEqual([
      ['sound:hotline/zh/queue_position', 'sound:hotline/zh/num_3', 'sound:hotline/zh/queue_position_end', 'sound:hotline/zh/queue_wait', 'sound:hotline/zh/num_3', 'sound:hotline/zh/queue_minutes'],
    ]);
    // A second announcement while the first plays is dropped, not queued behind it.
    expect(call.send({ type: 'queue.announce', position: 2, ewtSeconds: null })).toEqual([]);
    expect(call.send({ type: 'playback.finished', playbackId: announcement(call) })).toEqual([{ type: 'StartHold', mohClass: 'jazz' }]);
    expect(call.state.phase).toEqual({ kind: 'queued' });
    // No estimate (nobody staffs the queue): only the position.
    expect(plays(call.send({ type: 'queue.announce', position: 2, ewtSeconds: null }))).toEqual([
      ['sound:hotline/zh/queue_position', 'sound:hotline/zh/num_2', 'sound:hotline/zh/queue_position_end'],
    ]);
    // Answered mid-announcement: the announcement is cut off.
    const con = call.send({ type: 'queue.connected', agentId: 'agent1001' });
    expect(con.find((c) => c.type === 'StopPlayback')).toBeDefined();
    expect(call.state.phase).toEqual({ kind: 'connected', agentId: 'agent1001' });
  });

  it('the callback key turns the wait into a callback request: confirmation, then the call ends', () => {
    const nodes = { q: { type: 'queue', queue: 'general', next: 'bye', exitKey: '2', onExit: 'vm', callbackKey: '1' }, vm: end, bye: end };
    const call = new Call([flow('q', nodes)]);
    call.start();
    expect(call.key('1')).toContainEqual({ type: 'RequestCallback' });
    expect(call.state.phase).toEqual({ kind: 'callback' });
    const ok = call.send({ type: 'queue.callback', ok: true });
    expect(eventsOf(ok, 'callback.requested')).toEqual([{ node: 'q', queue: 'general' }]);
    expect(eventsOf(ok, 'queue.left')).toEqual([{ node: 'q', queue: 'general', reason: 'callback' }]);
    expect(ok).toContainEqual({ type: 'StopHold' });
    expect(plays(ok)).toEqual([['sound:hotline/zh/callback_confirmed']]);
    const done = call.finish();
    expect(done).toContainEqual({ type: 'Hangup' });
    expect(done).not.toContainEqual(expect.objectContaining({ type: 'LeaveQueue' }));
    expect(eventsOf(done, 'call.ended')).toEqual([{ cause: 'callback_requested', node: 'q', flow: 'q', version: 1 }]);
  });

  it('a refused callback request keeps the caller waiting, with an apology between the music', () => {
    const nodes = { q: { type: 'queue', queue: 'general', next: 'bye', callbackKey: '1' }, bye: end };
    const call = new Call([flow('q', nodes)]);
    call.start();
    call.key('1');
    const no = call.send({ type: 'queue.callback', ok: false, reason: 'no number to call back' });
    expect(eventsOf(no, 'callback.refused')).toEqual([{ node: 'q', queue: 'general', reason: 'no number to call back' }]);
    expect(plays(no)).toEqual([['sound:hotline/zh/callback_unavailable']]);
    expect(call.send({ type: 'playback.finished', playbackId: announcement(call) })).toEqual([{ type: 'StartHold', mohClass: 'default' }]);
    expect(call.state.phase).toEqual({ kind: 'queued' });
    // Still queued: the agent can be connected.
    call.send({ type: 'queue.connected', agentId: 'agent1002' });
    expect(call.state.phase).toEqual({ kind: 'connected', agentId: 'agent1002' });
  });

  it('transfer plays its prompts, then transfers to the filled number without hanging up', () => {
    const f = flow('t', { out: { type: 'transfer', number: '{{target}}', prompts: ['prompt:goodbye'] } });
    const call = new Call([f], { vars: { target: '+8610086' } });
    call.start();
    expect(call.finish()).toEqual([
      { type: 'RecordEvent', event: 'call.transferred', data: { node: 'out', to: '+8610086' } },
      { type: 'Transfer', number: '+8610086' },
      { type: 'RecordEvent', event: 'call.ended', data: { cause: 'transferred', node: 'out', flow: 't', version: 1 } },
    ]);
    expect(call.state.phase.kind).toBe('ended');
  });

  it('transfer without prompts transfers at once', () => {
    const call = new Call([flow('t', { out: { type: 'transfer', number: '95555' } })]);
    expect(types(call.start())).toEqual([
      'Answer',
      'event:flow.started',
      'event:flow.node_entered',
      'event:call.transferred',
      'Transfer',
      'event:call.ended',
    ]);
  });

  it('voicemail records after the greeting and continues when that recording finishes', () => {
    const f = flow('vm', { vm: { type: 'voicemail', prompts: ['prompt:leave_message'], maxSeconds: 30, next: 'bye' }, bye: end });
    const call = new Call([f]);
    call.start();
    expect(call.finish()).toEqual([{ type: 'RecordMessage', name: 'voicemail-c1-2', maxSeconds: 30 }]);
    expect(call.state.phase).toEqual({ kind: 'recording', name: 'voicemail-c1-2' });
    expect(call.send({ type: 'recording.finished', name: 'voicemail-c1-1', ok: true, seconds: 3 })).toEqual([]);
    const c = call.send({ type: 'recording.finished', name: 'voicemail-c1-2', ok: true, seconds: 12 });
    expect(eventsOf(c, 'voicemail.recorded')).toEqual([{ node: 'vm', recording: 'voicemail-c1-2', ok: true, seconds: 12 }]);
    expect(call.state.path).toEqual(['vm', 'bye']);
  });

  it('sms requests a message to the caller with the listed variables and moves on', () => {
    const f = flow('sms', { text: { type: 'sms', template: 'data_pack', variables: ['language', 'nope'], next: 'bye' }, bye: end });
    const call = new Call([f]);
    const c = call.start();
    expect(c).toContainEqual({ type: 'SendSms', to: '13800138000', template: 'data_pack', variables: { language: 'zh' } });
    expect(eventsOf(c, 'sms.requested')).toEqual([{ node: 'text', template: 'data_pack' }]);
    expect(call.state.node).toBe('bye');
  });

  const surveyFlow = flow('sv', {
    rate: { type: 'survey', question: 'satisfaction', prompts: ['prompt:survey_rating'], scale: 5, maxRetries: 1, invalidPrompts: ['prompt:invalid_key'], next: 'thanks', onNoAnswer: 'skipped' },
    thanks: end,
    skipped: end,
  });

  it('survey: a key in 1..scale is the answer', () => {
    const call = new Call([surveyFlow]);
    call.start();
    call.finish();
    const c = call.key('4');
    expect(eventsOf(c, 'survey.answered')).toEqual([{ question: 'satisfaction', score: 4, scale: 5, node: 'rate' }]);
    expect(call.state.vars.survey_satisfaction).toBe(4);
    expect(call.state.node).toBe('thanks');
  });

  it('survey: out-of-scale keys are invalid and re-ask; no answer at all goes to onNoAnswer', () => {
    const call = new Call([surveyFlow]);
    call.start();
    const c = call.key('7');
    expect(eventsOf(c, 'survey.invalid')).toEqual([{ node: 'rate', retries: 1, digit: '7' }]);
    expect(plays(c)).toEqual([['sound:hotline/zh/invalid_key', 'sound:hotline/zh/survey_rating']]);
    call.finish();
    expect(events(call.timeout())).toEqual(['survey.timeout', 'node.exhausted', 'flow.node_entered', 'call.ended']);
    expect(call.state.node).toBe('skipped');
    expect(call.state.vars).not.toHaveProperty('survey_satisfaction');
  });

  it.each(['0', '*', '#'])('survey: key %s is not a score', (digit) => {
    const call = new Call([surveyFlow]);
    call.start();
    expect(events(call.key(digit))).toEqual(['dtmf', 'survey.invalid']);
  });
});

describe('interpreter: subflow, goto, hangup, failures', () => {
  const sub = flow('sub', {
    ask: { type: 'menu', prompts: ['prompt:survey_resolved'], options: { '1': 'back' }, maxRetries: 0, onExhausted: 'back' },
    back: { type: 'return' },
  });
  const main = flow('main', {
    intro: { type: 'subflow', flow: 'sub', next: 'after' },
    after: { type: 'play', prompts: ['prompt:goodbye'], next: 'jump' },
    jump: { type: 'goto', flow: 'other' },
  });
  const other = flow('other', { bye: { type: 'hangup', prompts: ['prompt:goodbye'], reason: 'closed' } }, { language: 'en' });

  it('runs a subflow, returns to next, then goes to another flow for good', () => {
    const call = new Call([main, sub, other]);
    call.start();
    expect(call.state).toMatchObject({ flowId: 'sub', node: 'ask', stack: [{ flowId: 'main', version: 1, next: 'after' }] });
    call.finish();
    call.key('1');
    expect(call.state).toMatchObject({ flowId: 'main', node: 'after', stack: [] });
    call.finish();
    expect(call.state).toMatchObject({ flowId: 'other', node: 'bye', stack: [] });
    // The call keeps its language: a goto does not switch to the target flow's language.
    expect(plays(call.last)).toEqual([['sound:hotline/zh/goodbye']]);
    const c = call.finish();
    expect(types(c)).toContain('Hangup');
    expect(eventsOf(c, 'call.ended')).toEqual([{ cause: 'closed', node: 'bye', flow: 'other', version: 1 }]);
    expect(call.state.path).toEqual(['intro', 'ask', 'back', 'after', 'jump', 'bye']);
  });

  it('a return at the top level ends the call as completed', () => {
    const call = new Call([flow('r', { back: { type: 'return' } })]);
    expect(eventsOf(call.start(), 'call.ended')).toEqual([{ cause: 'completed', node: 'back', flow: 'r', version: 1 }]);
  });

  it('a subflow or goto to a flow that is not loaded ends the call with an error', () => {
    for (const type of ['subflow', 'goto']) {
      const call = new Call([flow('x', { go: { type, flow: 'missing', ...(type === 'subflow' ? { next: 'go' } : {}) } })]);
      const c = call.start();
      expect(events(c)).toEqual(['flow.started', 'flow.node_entered', 'flow.error', 'call.ended']);
      expect(eventsOf(c, 'call.ended')[0]).toMatchObject({ cause: 'error' });
      expect(c).toContainEqual({ type: 'Hangup' });
    }
  });

  it('hangup plays its prompts first, then hangs up with its reason', () => {
    const call = new Call([flow('x', { bye: { type: 'hangup', prompts: ['prompt:goodbye'], reason: 'closed' } })]);
    call.start();
    expect(call.state.phase.kind).toBe('playing');
    expect(events(call.key('1'))).toEqual(['dtmf']); // keys do not cut the goodbye short
    const c = call.finish();
    expect(c).toContainEqual({ type: 'Hangup' });
    expect(eventsOf(c, 'call.ended')).toEqual([{ cause: 'closed', node: 'bye', flow: 'x', version: 1 }]);
  });

  it('a hang-up mid-menu stops the prompt, records call.ended once with the cause; later inputs do nothing', () => {
    const call = new Call([menuFlow()]);
    call.start();
    const pb = call.pb;
    expect(call.hangup('hangup:16')).toEqual([
      { type: 'StopPlayback', playbackId: pb },
      { type: 'RecordEvent', event: 'call.ended', data: { cause: 'hangup:16', node: 'menu', flow: 'm', version: 1 } },
    ]);
    expect(call.hangup()).toEqual([]);
    expect(call.key('1')).toEqual([]);
    expect(call.send({ type: 'playback.finished', playbackId: pb })).toEqual([]);
    expect(eventsOf(call.all, 'call.ended')).toHaveLength(1);
  });

  it('a hang-up while listening cancels the timer and does not send Hangup', () => {
    const call = new Call([menuFlow()]);
    call.start();
    call.finish();
    expect(types(call.hangup())).toEqual(['CancelTimer', 'event:call.ended']);
  });

  it('command.failed: a failed prompt ends the call with an error, a failed SMS is only recorded', () => {
    const call = new Call([menuFlow()]);
    call.start();
    const c = call.send({ type: 'command.failed', command: 'PlayPrompt', error: 'no such sound' });
    expect(events(c)).toEqual(['flow.error', 'call.ended']);
    expect(eventsOf(c, 'flow.error')).toEqual([{ node: 'menu', command: 'PlayPrompt', error: 'no such sound' }]);
    expect(c).toContainEqual({ type: 'Hangup' });
    expect(eventsOf(c, 'call.ended')[0]).toMatchObject({ cause: 'error' });

    const call2 = new Call([menuFlow()]);
    call2.start();
    const before = call2.state;
    expect(events(call2.send({ type: 'command.failed', command: 'SendSms', error: 'queue down' }))).toEqual(['flow.error']);
    expect(call2.state).toBe(before);
  });

  it('a loop without waiting (which the validator rejects) is cut off instead of spinning', () => {
    const raw = flow('loop', { a: { type: 'set', assign: { n: 1 }, next: 'b' }, b: { type: 'set', assign: { n: 2 }, next: 'a' } });
    const call = new Call([raw]);
    const c = call.start();
    expect(eventsOf(c, 'flow.error')).toEqual([{ node: expect.any(String), error: 'too many nodes without waiting' }]);
    expect(call.state.phase.kind).toBe('ended');
  });
});

describe('fixed interpreter issues (found by these tests)', () => {
  it('hangup after its prompt finished does not stop that finished playback', () => {
    const call = new Call([flow('x', { bye: { type: 'hangup', prompts: ['prompt:goodbye'] } })]);
    call.start();
    expect(types(call.finish())).toEqual(['Hangup', 'event:call.ended']);
  });

  it('the queue apology does not stop its finished playback', () => {
    const call = new Call([flow('q', { q: { type: 'queue', queue: 'general', next: 'bye' }, bye: end })]);
    call.start();
    call.send({ type: 'queue.unavailable', reason: 'none' });
    expect(types(call.finish())).toEqual(['Hangup', 'event:call.ended']);
  });

  it('a template on a missing variable does not produce an empty media URI', () => {
    const call = new Call([flow('n', { say: { type: 'play', prompts: ['prompt:balance_is', 'number:{{balance}}'], next: 'bye' }, bye: end })]);
    const media = plays(call.start()).flat();
    expect(media.every((m) => /^[a-z]+:.+/.test(m))).toBe(true);
  });
});
