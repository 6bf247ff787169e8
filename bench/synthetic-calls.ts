/**
 * Synthetic call events for the benches (bench/reports.ts, bench/events.ts): calls walk an
 * IVR (welcome, menu, self-service or an agent queue, survey) and are released in time order.
 * Dimensions: 2 numbers -> 2 flows, 6 first-level keys -> 10 queues, 30 agents per queue
 * (300 in all). Seeded, so two runs make the same calls (ids aside).
 */
import { randomUUID } from 'node:crypto';

/** A call event as the pipeline carries it, with `t` (its time in ms) for ordering, dropped by payload(). */
export interface Ev {
  id: string;
  callId: string;
  seq: number;
  type: string;
  at: string;
  data: Record<string, unknown>;
  t: number;
}

const NUMBERS = [
  ['4008001234', 'main'],
  ['4008005678', 'promo'],
] as const;
const KEYS = ['1', '2', '3', '4', '5', '0'];
const QUEUES = Array.from({ length: 10 }, (_, i) => `q${i}`);
const AGENTS_PER_QUEUE = 30;

let seed = 12345;
const rnd = () => {
  seed = (seed * 1_103_515_245 + 12_345) & 0x7fffffff;
  return seed / 0x7fffffff;
};
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;

/** One call's events (about 25 for an answered call with a survey). */
function callEvents(t0: number): Ev[] {
  const callId = randomUUID();
  const out: Ev[] = [];
  let t = t0;
  let seq = 0;
  const [dialed, flow] = pick(NUMBERS);
  const key = pick(KEYS);
  // Keys route to queues: key k's callers mostly go to two queues of their own.
  const queue = QUEUES[(KEYS.indexOf(key) * 2 + (rnd() < 0.7 ? 0 : 1)) % QUEUES.length]!;
  const ev = (type: string, data: Record<string, unknown> = {}) => out.push({ id: randomUUID(), callId, seq: ++seq, type, at: '', data, t });
  const wait = (s: number) => (t += Math.round(s * 1000));
  const node = (name: string, type: string) => ev('flow.node_entered', { flow, version: 3, node: name, type });
  ev('call.started', { caller: `+86138${Math.floor(rnd() * 1e8)}`, dialed, flow, version: 3, role: 'caller' });
  ev('flow.started', { flow, version: 3, language: 'zh' });
  node('welcome', 'play');
  ev('prompt.played', { prompt: 'welcome' });
  wait(3 + rnd() * 5);
  node('menu', 'menu');
  ev('prompt.played', { prompt: 'menu' });
  wait(2 + rnd() * 8);
  ev('dtmf', { digit: key, node: 'menu' });
  ev('menu.selected', { node: 'menu', digit: key, firstLevel: true });
  const x = rnd();
  if (x < 0.45) {
    node('self', 'play');
    ev('prompt.played', { prompt: 'self' });
    wait(10 + rnd() * 60);
    ev('call.ended', { cause: rnd() < 0.8 ? 'completed' : 'caller_hangup' });
    return out;
  }
  node('agent', 'queue');
  ev('queue.requested', { node: 'agent', queue, skills: [], priority: 0 });
  ev('queue.joined', { node: 'agent', queue, position: 1 + Math.floor(rnd() * 10) });
  ev('queue.position_announced', { node: 'agent', queue, position: 1, ewtSeconds: 30 });
  if (x < 0.55) {
    wait(rnd() * 120);
    ev('call.ended', { cause: 'caller_hangup' });
    return out;
  }
  wait(rnd() * rnd() * 90);
  const agent = `${queue}-a${Math.floor(rnd() * AGENTS_PER_QUEUE)}`;
  ev('agent.offered', { agentId: agent, queue });
  wait(2 + rnd() * 5);
  ev('agent.answered', { agentId: agent, queue });
  ev('queue.left', { node: 'agent', queue, reason: 'answered', agentId: agent });
  wait(60 + rnd() * 400);
  ev('bridge.ended', { node: 'agent', agentId: agent, by: 'agent' });
  node('rating', 'survey');
  ev('prompt.played', { prompt: 'rating' });
  wait(5);
  if (rnd() < 0.6) {
    ev('dtmf', { digit: '5', node: 'rating' });
    ev('survey.answered', { question: 'satisfaction', score: 1 + Math.floor(rnd() * 5), scale: 5, node: 'rating' });
  }
  node('thanks', 'hangup');
  wait(2);
  ev('call.ended', { cause: 'completed' });
  return out;
}

/**
 * `total` events in batches of `batch`, in time order: `calls` start evenly over `days` days
 * from `day0`, and their events are released when the clock passes them, so a batch holds
 * pieces of the calls in progress. More events per day means more calls in progress per batch.
 */
export function* timeOrdered(total: number, day0: number, days: number, batch: number): Generator<Ev[]> {
  const span = days * 86_400_000;
  const perCall = 15.5; // a little under the mean events per call of callEvents (~15.8), so `total` is reached
  const calls = Math.ceil(total / perCall);
  const step = span / calls;
  let pending: Ev[] = [];
  let out: Ev[] = [];
  let emitted = 0;
  let c = 0;
  const windowMs = 60_000;
  for (let clock = day0; emitted < total && (c < calls || pending.length > 0); clock += windowMs) {
    for (; c < calls && day0 + c * step < clock + windowMs; c++) pending.push(...callEvents(day0 + Math.floor(c * step)));
    pending.sort((a, b) => a.t - b.t);
    let i = 0;
    while (i < pending.length && (pending[i]!.t < clock + windowMs || c >= calls) && emitted < total) {
      const e = pending[i++]!;
      e.at = new Date(e.t).toISOString();
      out.push(e);
      emitted++;
      if (out.length === batch) {
        yield out;
        out = [];
      }
    }
    pending = pending.slice(i);
  }
  if (out.length) yield out;
}

/** A batch as the event stream carries it (a JSON array, without `t`). */
export const payload = (events: readonly Ev[]): string => JSON.stringify(events, (k, v) => (k === 't' ? undefined : v));
