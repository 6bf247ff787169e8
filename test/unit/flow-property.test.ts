import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { CallEventType } from '../../src/domain/call-event.ts';
import { initialState, step } from '../../src/flows/interpreter.ts';
import { loadFlowDir, type FlowBundle } from '../../src/flows/loader.ts';
import type { Flow } from '../../src/flows/schema.ts';
import type { FlowCommand, FlowInput, FlowResolver, FlowState } from '../../src/flows/state.ts';

/**
 * Property test of the interpreter over the shipped flows: random callers (keys, silence,
 * hang-ups) and a random world (stale timers and playbacks, HTTP answers late or failed,
 * failing commands). Whatever happens, `step` never throws, every command is well-formed,
 * and every call ends with exactly one call.ended.
 */

const RUNS_PER_FLOW = 600;
const MAX_RANDOM_INPUTS = 80;

/** mulberry32: a tiny seeded PRNG, so a failure names its seed and replays. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!,
    chance: (p: number) => next() < p,
  };
}
type Rng = ReturnType<typeof prng>;

const EVENTS = [
  'call.started',
  'number.unknown',
  'flow.started',
  'flow.node_entered',
  'flow.error',
  'prompt.played',
  'dtmf',
  'digit.timeout',
  'queue.joined',
  'queue.left',
  'bridge.ended',
  'menu.selected',
  'menu.invalid',
  'menu.timeout',
  'gather.completed',
  'gather.invalid',
  'gather.timeout',
  'survey.answered',
  'survey.invalid',
  'survey.timeout',
  'node.exhausted',
  'schedule.evaluated',
  'language.changed',
  'http.completed',
  'queue.requested',
  'queue.position_announced',
  'callback.requested',
  'callback.refused',
  'call.transferred',
  'voicemail.recorded',
  'sms.requested',
  'call.ended',
] as const satisfies readonly CallEventType[];

/** `<callId>:<kind><seq>:<node>`, as runtime.nextId makes them. */
const Id = (kind: string) => z.string().regex(new RegExp(`^p\\d+:${kind}\\d+:[a-z][a-z0-9_]*$`));
/** What ARI can play: a scheme and a non-empty name, no unfilled template. */
const AriMedia = z
  .string()
  .regex(/^(sound|digits|number|tone|recording):[A-Za-z0-9_\-./+]+$/, 'an ARI media URI with a non-empty name')
  .refine((m) => !m.includes('{{'), 'no unfilled template')
  .refine((m) => !m.startsWith('number:') || /^number:-?\d+(\.\d+)?$/.test(m), 'number: takes a number')
  .refine((m) => !m.startsWith('sound:hotline/') || /^sound:hotline\/(zh|en)\/[a-z][a-z0-9_]*$/.test(m), 'prompt sounds are per language');
const Scalar = z.union([z.string(), z.number(), z.boolean()]);
const FlowCommandSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('Answer') }),
  z.strictObject({ type: z.literal('PlayPrompt'), playbackId: Id('pb'), media: z.array(AriMedia).min(1).max(20) }),
  z.strictObject({ type: z.literal('StopPlayback'), playbackId: Id('pb') }),
  z.strictObject({ type: z.literal('StartTimer'), name: Id('t'), ms: z.number().int().positive().max(30_000) }),
  z.strictObject({ type: z.literal('CancelTimer'), name: Id('t') }),
  z.strictObject({
    type: z.literal('HttpRequest'),
    requestId: Id('http'),
    service: z.string().regex(/^[a-z][a-z0-9_-]*$/),
    path: z.string().regex(/^\/[A-Za-z0-9_\-./+]*$/).refine((p) => !p.includes('{{')),
    timeoutMs: z.number().int().positive().max(10_000),
  }),
  z.strictObject({ type: z.literal('RecordMessage'), name: z.string().regex(/^voicemail-p\d+-\d+$/), maxSeconds: z.number().int().positive().max(300) }),
  z.strictObject({ type: z.literal('SendSms'), to: z.string().regex(/^\+?[0-9]{3,20}$/), template: z.string().min(1), variables: z.record(z.string(), Scalar) }),
  z.strictObject({ type: z.literal('Transfer'), number: z.string().regex(/^\+?[0-9]{2,20}$/) }),
  z.strictObject({
    type: z.literal('Enqueue'),
    queue: z.string().regex(/^[a-z][a-z0-9_-]*$/),
    skills: z.array(z.string().regex(/^[a-z][a-z0-9_-]*$/)),
    priority: z.number().int().min(0).max(10),
    mohClass: z.string().min(1),
  }),
  z.strictObject({ type: z.literal('LeaveQueue'), reason: z.enum(['exit', 'timeout']) }),
  z.strictObject({ type: z.literal('StartHold'), mohClass: z.string().min(1) }),
  z.strictObject({ type: z.literal('StopHold') }),
  z.strictObject({ type: z.literal('RequestCallback') }),
  z.strictObject({ type: z.literal('Hangup') }),
  z.strictObject({ type: z.literal('RecordEvent'), event: z.enum(EVENTS), data: z.record(z.string(), z.unknown()) }),
]);

const KEYS = [...'0123456789*#'];
const COMMANDS: FlowCommand['type'][] = ['Answer', 'PlayPrompt', 'StopPlayback', 'StartTimer', 'CancelTimer', 'HttpRequest', 'RecordMessage', 'SendSms', 'Transfer', 'Enqueue', 'LeaveQueue', 'StartHold', 'StopHold', 'RequestCallback', 'Hangup', 'RecordEvent'];
/** What routing may answer a queued caller, in any order, also when not asked. */
const QUEUE_INPUTS = (rng: Rng): FlowInput =>
  rng.pick<FlowInput>([
    { type: 'queue.joined', position: 1 + rng.int(20) },
    { type: 'queue.unavailable', reason: 'no agents' },
    { type: 'queue.connected', agentId: `agent${rng.int(5)}` },
    { type: 'queue.agent_left' },
    { type: 'queue.timeout' },
    { type: 'queue.announce', position: 1 + rng.int(20), ewtSeconds: rng.chance(0.5) ? null : rng.int(1_800) },
    { type: 'queue.callback', ok: rng.chance(0.5), reason: 'refused' },
  ]);

/** A CRM answer: always a numeric balance (see the known issue below), anything else random. */
function crmBody(rng: Rng): unknown {
  return {
    balance: rng.pick([0, 88, -12, 1000, rng.int(100_000)]),
    ...(rng.chance(0.7) ? { tier: rng.pick(['vip', 'normal', 'gold', 5, true, null, { x: 1 }, '']) } : {}),
    ...(rng.chance(0.2) ? { customer: { tier: 'vip' }, extra: [1, 2, 3] } : {}),
  };
}
function garbageBody(rng: Rng): unknown {
  return rng.pick([null, 'oops', 42, [], {}, { tier: 'vip' }, { balance: { nested: 1 } }, { balance: 'n/a' }]);
}

/** One random call: what happened, for the assertions. */
interface Run {
  commands: FlowCommand[];
  final: FlowState;
  endedBySilence: boolean | undefined;
}

/** Everything the adapter has been told to do so far, to make current and stale inputs. */
class World {
  readonly playbacks: string[] = [];
  readonly timers: string[] = [];
  readonly timerMs = new Map<string, number>();
  readonly requests: string[] = [];
  readonly recordings: string[] = [];

  absorb(c: FlowCommand): void {
    if (c.type === 'PlayPrompt') this.playbacks.push(c.playbackId);
    if (c.type === 'StartTimer') (this.timers.push(c.name), this.timerMs.set(c.name, c.ms));
    if (c.type === 'HttpRequest') this.requests.push(c.requestId);
    if (c.type === 'RecordMessage') this.recordings.push(c.name);
  }

  /** An input that moves the flow on: the one its phase waits for. */
  progress(s: FlowState, rng: Rng, body: (rng: Rng) => unknown): FlowInput | undefined {
    const p = s.phase;
    switch (p.kind) {
      case 'playing':
        return { type: 'playback.finished', playbackId: p.playbackId };
      case 'listening':
        return { type: 'timer.fired', name: p.timer };
      case 'http':
        return rng.chance(0.75)
          ? { type: 'http.result', requestId: p.requestId, ok: true, status: 200, body: body(rng) }
          : { type: 'http.result', requestId: p.requestId, ok: false, status: rng.pick([0, 404, 500, 503, 504]), body: null };
      case 'recording':
        return { type: 'recording.finished', name: p.name, ok: rng.chance(0.9), seconds: rng.int(61) };
      case 'queued':
        if (p.announcement && rng.chance(0.5)) return { type: 'playback.finished', playbackId: p.announcement };
        return rng.pick<FlowInput>([{ type: 'queue.joined', position: 1 }, { type: 'queue.unavailable', reason: 'no agents' }, { type: 'queue.connected', agentId: 'agent1' }, { type: 'queue.timeout' }]);
      case 'callback':
        return rng.chance(0.5) ? { type: 'queue.callback', ok: true } : { type: 'queue.callback', ok: false, reason: 'refused' };
      case 'connected':
        return { type: 'queue.agent_left' };
      default:
        return undefined;
    }
  }

  random(s: FlowState, rng: Rng, body: (rng: Rng) => unknown): FlowInput {
    const roll = rng.next();
    if (roll < 0.35) return { type: 'dtmf', digit: rng.pick(KEYS) };
    if (roll < 0.6) return this.progress(s, rng, body) ?? { type: 'dtmf', digit: rng.pick(KEYS) };
    if (roll < 0.68) return { type: 'timer.fired', name: this.timers.length && rng.chance(0.7) ? rng.pick(this.timers) : `p0:t${rng.int(99)}:${rng.pick(['menu', 'x'])}` };
    if (roll < 0.76) return { type: 'playback.finished', playbackId: this.playbacks.length && rng.chance(0.7) ? rng.pick(this.playbacks) : `junk-${rng.int(9)}` };
    if (roll < 0.82) {
      const requestId = this.requests.length && rng.chance(0.7) ? rng.pick(this.requests) : `p0:http${rng.int(9)}:x`;
      return { type: 'http.result', requestId, ok: rng.chance(0.5), status: 200, body: body(rng) };
    }
    if (roll < 0.86) {
      const name = this.recordings.length && rng.chance(0.7) ? rng.pick(this.recordings) : `voicemail-x-${rng.int(9)}`;
      return { type: 'recording.finished', name, ok: rng.chance(0.5), seconds: rng.int(100) };
    }
    if (roll < 0.89) return { type: 'command.failed', command: rng.pick(COMMANDS), error: 'boom' };
    if (roll < 0.92) return QUEUE_INPUTS(rng);
    if (roll < 0.95) return { type: 'hungup', cause: rng.pick(['caller_hangup', 'hangup:16', 'hangup:17']) };
    return { type: 'dtmf', digit: rng.pick(KEYS) };
  }
}

function runOnce(flows: FlowResolver, flow: Flow, seed: number, body: (rng: Rng) => unknown): Run {
  const rng = prng(seed);
  const world = new World();
  const commands: FlowCommand[] = [];
  // Any time in 2026-2027, so schedules come out open, closed and on holidays.
  let now = new Date(Date.UTC(2026, 0, 1) + rng.int(730 * 24 * 60) * 60_000);
  let state = initialState(`p${seed}`, flow, { caller: rng.pick(['13800138000', '+8613912345678', '95000']), dialed: '10010' });

  const fail = (what: string, input: FlowInput): never => {
    throw new Error(`seed ${seed} (${flow.id}), input ${JSON.stringify(input)} at ${state.node}: ${what}`);
  };
  const feed = (input: FlowInput) => {
    const wasEnded = state.phase.kind === 'ended';
    let r;
    try {
      r = step(flows, state, input, now);
    } catch (err) {
      return fail(`step threw: ${(err as Error).stack}`, input);
    }
    if (wasEnded && r.commands.length) fail(`commands after the end: ${JSON.stringify(r.commands)}`, input);
    r.commands.forEach((c, i) => {
      const parsed = FlowCommandSchema.safeParse(c);
      if (!parsed.success) fail(`bad command ${JSON.stringify(c)}: ${parsed.error.message}`, input);
      if (c.type === 'RecordEvent' && c.event === 'call.ended') {
        if (i !== r.commands.length - 1) fail('call.ended is not the last command of its step', input);
        if (typeof c.data.cause !== 'string' || !c.data.cause) fail('call.ended without a cause', input);
      }
      if (c.type === 'StopPlayback' && !world.playbacks.includes(c.playbackId)) fail(`stops a playback it never started: ${c.playbackId}`, input);
      if (c.type === 'CancelTimer' && !world.timers.includes(c.name)) fail(`cancels a timer it never started: ${c.name}`, input);
      if (c.type === 'PlayPrompt' && world.playbacks.includes(c.playbackId)) fail(`playback id used twice: ${c.playbackId}`, input);
      if (c.type === 'StartTimer' && world.timers.includes(c.name)) fail(`timer name used twice: ${c.name}`, input);
      if (c.type === 'HttpRequest' && world.requests.includes(c.requestId)) fail(`request id used twice: ${c.requestId}`, input);
      world.absorb(c);
    });
    const p = r.state.phase;
    if (r.commands.some((c) => c.type === 'Hangup' || c.type === 'Transfer') && p.kind !== 'ended') fail('hung up or transferred but not ended', input);
    // What the state waits for was asked of the adapter.
    if (p.kind === 'playing' && !world.playbacks.includes(p.playbackId)) fail('waits for a playback never started', input);
    if (p.kind === 'listening' && !world.timers.includes(p.timer)) fail('waits for a timer never started', input);
    if (p.kind === 'http' && !world.requests.includes(p.requestId)) fail('waits for a request never sent', input);
    if (p.kind === 'recording' && !world.recordings.includes(p.name)) fail('waits for a recording never started', input);
    if (p.kind === 'idle' || p.kind === 'leaving') fail(`a step left the call ${p.kind}`, input);
    commands.push(...r.commands);
    state = r.state;
    if (input.type === 'timer.fired') now = new Date(now.getTime() + (world.timerMs.get(input.name) ?? 1000));
  };

  feed({ type: 'started' });
  const n = rng.int(MAX_RANDOM_INPUTS + 1);
  for (let i = 0; i < n; i++) feed(world.random(state, rng, body));

  const ended = () => state.phase.kind === 'ended';
  let endedBySilence: boolean | undefined;
  if (!ended()) {
    if (rng.chance(0.5)) {
      feed({ type: 'hungup', cause: 'caller_hangup' });
    } else {
      // A silent caller: only what the flow waits for happens. Every shipped flow gives up.
      for (let i = 0; i < 200 && !ended(); i++) feed(world.progress(state, rng, body)!);
      endedBySilence = ended();
      if (!endedBySilence) feed({ type: 'hungup', cause: 'caller_hangup' });
    }
  }
  // Nothing happens after the end.
  for (let i = 0; i < 3; i++) feed(world.random(state, rng, body));
  return { commands, final: state, endedBySilence };
}

/**
 * Drives main to its first lookup, then presses `keys` either all while the lookup waits or one
 * by one whenever a menu, gather or survey is taking keys; otherwise only what the flow waits
 * for happens (prompts finish, timers fire, lookups answer with `body`, null = an error).
 * Returns the keypad outcomes and the path, and any prompt started and stopped in one step.
 */
function typeAheadRun(flows: FlowResolver, flow: Flow, seed: number, keys: string[], body: unknown, when: 'during-lookup' | 'at-prompts') {
  let state = initialState(`p${seed}`, flow, { caller: '13800138000', dialed: '10010' });
  const outcome: string[] = [];
  const clipped: string[] = [];
  const feed = (input: FlowInput) => {
    const r = step(flows, state, input, new Date('2026-03-04T10:00:00+08:00'));
    state = r.state;
    const played = new Set(r.commands.flatMap((c) => (c.type === 'PlayPrompt' ? [c.playbackId] : [])));
    for (const c of r.commands) {
      if (c.type === 'StopPlayback' && played.has(c.playbackId)) clipped.push(c.playbackId);
      if (c.type === 'RecordEvent' && /^(menu|gather|survey)\.|^node\.exhausted$/.test(c.event)) {
        outcome.push(`${c.event} ${String(c.data.node)} ${String(c.data.digit ?? c.data.length ?? '')}`);
      }
    }
  };
  const collecting = () => {
    const type = flows.get(state.flowId, state.version)?.nodes[state.node]?.type;
    return (type === 'menu' || type === 'gather' || type === 'survey') && (state.phase.kind === 'playing' || state.phase.kind === 'listening');
  };
  const pending = [...keys];
  feed({ type: 'started' });
  for (let i = 0; i < 200 && state.phase.kind !== 'ended'; i++) {
    const p = state.phase;
    if (p.kind === 'http' && when === 'during-lookup' && pending.length) {
      while (pending.length) feed({ type: 'dtmf', digit: pending.shift()! });
    } else if (when === 'at-prompts' && pending.length && collecting() && state.path.includes('lookup_customer')) {
      feed({ type: 'dtmf', digit: pending.shift()! });
    } else if (p.kind === 'playing') feed({ type: 'playback.finished', playbackId: p.playbackId });
    else if (p.kind === 'listening') feed({ type: 'timer.fired', name: p.timer });
    else if (p.kind === 'http') feed({ type: 'http.result', requestId: p.requestId, ok: body !== null, status: body === null ? 503 : 200, body });
    else break; // queued, recording, ...: the keypad part of the call is over
  }
  return { outcome: [...outcome, `at ${state.node}`, ...state.path], clipped };
}

let bundle: FlowBundle;
let resolver: FlowResolver;
beforeAll(async () => {
  bundle = await loadFlowDir(fileURLToPath(new URL('../../ivr-flows', import.meta.url)), ['crm']);
  expect(bundle.problems).toEqual([]);
  resolver = {
    get: (id, version) => bundle.flows.find((f) => f.id === id && f.version === version),
    active: (id) => bundle.flows.find((f) => f.id === id),
  };
});

describe('interpreter properties over the shipped flows', () => {
  it('finds the shipped flows', () => {
    expect(bundle.flows.map((f) => f.id)).toEqual(expect.arrayContaining(['main', 'survey', 'emergency', 'not-in-service']));
  });

  it(`never throws, emits only well-formed commands and ends every call exactly once (${RUNS_PER_FLOW} random calls per flow)`, () => {
    const stats = new Map<string, { runs: number; causes: Set<string>; nodes: Set<string>; silentEnds: number }>();
    bundle.flows.forEach((flow, fi) => {
      const st = { runs: 0, causes: new Set<string>(), nodes: new Set<string>(), silentEnds: 0 };
      stats.set(flow.id, st);
      for (let i = 0; i < RUNS_PER_FLOW; i++) {
        const seed = (fi + 1) * 100_000 + i;
        const run = runOnce(resolver, flow, seed, crmBody);
        expect(run.final.phase.kind, `seed ${seed}`).toBe('ended');
        const ended = run.commands.filter((c) => c.type === 'RecordEvent' && c.event === 'call.ended');
        expect(ended, `seed ${seed}: exactly one call.ended`).toHaveLength(1);
        if (run.endedBySilence !== undefined) expect(run.endedBySilence, `seed ${seed}: a silent caller is let go`).toBe(true);
        st.runs += 1;
        st.causes.add(String((ended[0] as Extract<FlowCommand, { type: 'RecordEvent' }>).data.cause));
        run.final.path.forEach((n) => st.nodes.add(n));
        if (run.endedBySilence) st.silentEnds += 1;
      }
    });
    // The random calls get around: most of main is visited, and calls end in several ways.
    const main = stats.get('main')!;
    const mainNodes = Object.keys(bundle.flows.find((f) => f.id === 'main')!.nodes);
    expect(main.nodes.size).toBeGreaterThanOrEqual(Math.floor(mainNodes.length * 0.9));
    expect([...main.causes]).toEqual(expect.arrayContaining(['completed', 'queue_unavailable', 'caller_hangup', 'error']));
    for (const st of stats.values()) expect(st.silentEnds).toBeGreaterThan(0);
  });

  // Type-ahead: keys pressed while a lookup runs must lead where the same keys pressed at each
  // following prompt lead, and a prompt that kept keys answer before it starts is never sent.
  it(`type-ahead during an http lookup is equivalent to pressing the same keys at the next prompts (${RUNS_PER_FLOW} random callers)`, () => {
    const main = bundle.flows.find((f) => f.id === 'main')!;
    let fed = 0;
    for (let i = 0; i < RUNS_PER_FLOW; i++) {
      const seed = 700_000 + i;
      const rng = prng(seed);
      const keys = Array.from({ length: 1 + rng.int(6) }, () => rng.pick(KEYS));
      const body = rng.pick([{ balance: 88, tier: 'normal' }, { balance: 12 }, null]);
      const early = typeAheadRun(resolver, main, seed, keys, body, 'during-lookup');
      const late = typeAheadRun(resolver, main, seed, keys, body, 'at-prompts');
      expect(early.outcome, `seed ${seed}, keys ${keys.join('')}`).toEqual(late.outcome);
      expect(early.clipped, `seed ${seed}: a prompt started and stopped in one step`).toEqual([]);
      if (early.outcome.some((o) => o.startsWith('menu.'))) fed += 1;
    }
    expect(fed).toBeGreaterThan(RUNS_PER_FLOW / 2);
  });

  // A CRM answer without `balance` once made say_balance play `number:` (an empty ARI media
  // URI that Asterisk rejects); resolveMedia now drops media whose template came out empty.
  it('also holds when CRM answers lack fields or are not objects', () => {
    const main = bundle.flows.find((f) => f.id === 'main')!;
    for (let i = 0; i < RUNS_PER_FLOW; i++) runOnce(resolver, main, 900_000 + i, garbageBody);
  });
});
