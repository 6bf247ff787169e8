/**
 * Live stats against real Redis, on a fresh key prefix dropped at the end.
 *   node bench/live.ts [calls=20000] [agents=2000] [queues=50] [waiting=10000] [redis url]
 *
 * Phases:
 *   record    `calls` whole calls (10 events each, 8 of them live-relevant) handed to
 *             LiveStats.recordCall as fast as one process can: events/s until every write
 *             has landed in Redis (a snapshot read after them on the same connection);
 *   snapshot  with `agents` agents logged in across `queues` queues and `waiting` calls
 *             waiting, the time to read one snapshot (what each coalesced push and every GET
 *             /live and /metrics costs): p50/p99 over 50 reads, and Redis CPU per read;
 *   push      one change recorded -> the WebSocket-side listener called with it, on a floor of
 *             that size: p50/p99 over 50 changes, 250 ms apart (past the 200 ms coalescing).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { CallEvent, CallEventType } from '../src/domain/call-event.ts';
import { createLogger } from '../src/log/logger.ts';
import { LiveStats } from '../src/live/live-stats.ts';
import { LiveStore } from '../src/live/live-store.ts';
import { RoutingStore } from '../src/routing/routing-store.ts';
import type { AgentConfig, QueueConfig } from '../src/routing/types.ts';

const [calls = 20_000, agentCount = 2_000, queueCount = 50, waitingCount = 10_000] = process.argv.slice(2, 6).map(Number);
const redisUrl = process.argv[6] ?? 'redis://127.0.0.1:6379';
const prefix = `bench-live-${randomBytes(4).toString('hex')}:`;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.max(0, Math.ceil((p / 100) * xs.length) - 1)]!;

const redis = new Redis(redisUrl);
const subscriber = new Redis(redisUrl);
const routing = new RoutingStore(redis, prefix);
const queues: QueueConfig[] = Array.from({ length: queueCount }, (_, i) => ({
  name: `q${i}`,
  skills: [{ skill: `s${i}`, minProficiency: 1 }],
  strategy: 'longest-idle',
  ringTimeoutSeconds: 15,
  wrapUpSeconds: 0,
  maxWaitSeconds: 3600,
  agingPerMinute: 0,
  announce: { position: true, estimatedWait: true, everySeconds: 30 },
  overflow: [],
  callback: true,
  joinWhenEmpty: true,
}));
const live = new LiveStats({
  store: new LiveStore(redis, prefix),
  queues: () => queues,
  subscriber,
  timeZone: 'Asia/Shanghai',
  log: createLogger('silent'),
  now: () => Date.now(),
});

async function redisCpuMs(): Promise<number> {
  const info = await redis.info('cpu');
  const get = (k: string) => Number(new RegExp(`${k}:([0-9.]+)`).exec(info)?.[1] ?? 0);
  return (get('used_cpu_sys') + get('used_cpu_user')) * 1000;
}

function callEvents(i: number): CallEvent[] {
  const callId = randomUUID();
  const q = `q${i % queueCount}`;
  const t0 = Date.now();
  const steps: Array<[number, CallEventType, Record<string, unknown>]> = [
    [0, 'call.started', { caller: '13800000000', dialed: '10010' }],
    [1, 'flow.node_entered', { type: 'menu' }],
    [3, 'dtmf', { digit: '2' }],
    [4, 'queue.requested', { queue: q }],
    [5, 'queue.joined', { queue: q, position: 1 }],
    [15, 'agent.offered', { agentId: 'a', queue: q }],
    [18, 'agent.answered', { agentId: 'a', queue: q }],
    [18, 'queue.left', { queue: q, reason: 'answered' }],
    [120, 'bridge.ended', {}],
    [125, 'call.ended', { cause: 'completed' }],
  ];
  return steps.map(([s, type, data], k) => ({ id: randomUUID(), callId, seq: k + 1, type, at: new Date(t0 + s * 1000).toISOString(), data }));
}

async function main(): Promise<void> {
  await live.start();

  // record
  const all = Array.from({ length: calls }, (_, i) => callEvents(i));
  const cpu0 = await redisCpuMs();
  const t0 = performance.now();
  // Calls interleaved by step, as concurrent calls' events arrive.
  for (let step = 0; step < 10; step++) for (const c of all) live.recordCall(c[step]!);
  const snap = await live.snapshot();
  const recordMs = performance.now() - t0;
  const cpu1 = await redisCpuMs();
  const events = calls * 10;
  console.log(`record: ${fmt(events)} events (${fmt(calls)} calls) in ${fmt(recordMs)} ms = ${fmt(events / (recordMs / 1000))} events/s; Redis CPU ${((cpu1 - cpu0) / events * 1000).toFixed(1)} µs/event; today offered ${snap.today.offered}, answered ${snap.today.answered}`);

  // floor
  const agents: AgentConfig[] = Array.from({ length: agentCount }, (_, i) => ({ id: `a${i}`, endpoint: `PJSIP/a${i}`, skills: { [`s${i % queueCount}`]: 3, [`s${(i + 7) % queueCount}`]: 1 } }));
  await routing.configure(queues, agents);
  for (const a of agents) void routing.changeAgentState(a.id, 'login');
  const enqueues: Promise<unknown>[] = [];
  for (let i = 0; i < waitingCount; i++) {
    enqueues.push(routing.enqueue({ callId: `w${i}`, queue: `q${i % queueCount}`, skills: ['zz'], priority: 0, enqueuedAt: Date.now() - i, owner: 'bench' }));
  }
  await Promise.all(enqueues);

  // snapshot
  const reads: number[] = [];
  const c0 = await redisCpuMs();
  for (let i = 0; i < 50; i++) {
    const t = performance.now();
    await live.snapshot();
    reads.push(performance.now() - t);
  }
  const c1 = await redisCpuMs();
  const s = await live.snapshot();
  const waiting = Object.values(s.queues).reduce((n, q) => n + q.waiting, 0);
  console.log(`snapshot (${fmt(agentCount)} agents, ${queueCount} queues, ${fmt(waiting)} waiting): p50 ${pct(reads, 50).toFixed(1)} ms, p99 ${pct(reads, 99).toFixed(1)} ms; Redis CPU ${((c1 - c0) / 50).toFixed(1)} ms/read`);

  // push
  const lat: number[] = [];
  let pending: { at: number; resolve: () => void } | null = null;
  const off = live.onChange(() => {
    if (!pending) return;
    lat.push(performance.now() - pending.at);
    pending.resolve();
    pending = null;
  });
  for (let i = 0; i < 50; i++) {
    await new Promise((r) => setTimeout(r, 250));
    const done = new Promise<void>((resolve) => (pending = { at: performance.now(), resolve }));
    const [e] = callEvents(i);
    live.recordCall(e!);
    await done;
  }
  off();
  console.log(`push (change -> listener, same floor): p50 ${pct(lat, 50).toFixed(1)} ms, p99 ${pct(lat, 99).toFixed(1)} ms`);
}

try {
  await main();
} finally {
  live.close();
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) await redis.del(...keys);
  } while (cursor !== '0');
  subscriber.disconnect();
  redis.disconnect();
}
