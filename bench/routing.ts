/**
 * Routing decisions/s and claim latency on real Redis with 2,000 agents, 50 skills and
 * 10,000 waiting calls (the issue's target: >= 20,000 decisions/s, p99 < 2 ms).
 *   node bench/routing.ts [seconds per phase=5] [clients=8] [redis url=redis://127.0.0.1:6379]
 *
 * Phases, all on a fresh key prefix that is deleted at the end:
 *   bulk    every agent logs in at once and one claim matches as many calls as it can;
 *   steady  the queue topped up to 10,000 again, all agents busy; each client loops:
 *           answered -> agentCallEnded -> wrapUpEnded for one of its offers (the agent
 *           becomes available), enqueue a new call (the queue stays at 10,000), claim.
 *           One client, then `clients` clients in parallel;
 *   batch   50 agents released together, then one claim matches them all.
 * Latency is measured around each claim round trip on the client (loopback included).
 */
import { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { RoutingStore } from '../src/routing/routing-store.ts';
import { QueueConfigSchema, type AgentConfig, type Offer, type QueueConfig, type Strategy } from '../src/routing/types.ts';

const seconds = Number(process.argv[2] ?? 5);
const clients = Number(process.argv[3] ?? 8);
const url = process.argv[4] ?? 'redis://127.0.0.1:6379';
const AGENTS = 2_000;
const CALLS = 10_000;
const LANGS = 10;
const SKILLS = 40; // 10 languages + 40 topic skills = 50 skills
const QUEUES = 40;

let seed = 42;
const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
const pick = (n: number) => Math.floor(rnd() * n);
const lang = (i: number) => `lang${i}`;
const topic = (i: number) => `topic${i}`;

const strategies: Strategy[] = ['longest-idle', 'fewest-calls', 'most-skilled'];
const queues: QueueConfig[] = Array.from({ length: QUEUES }, (_, i) =>
  QueueConfigSchema.parse({
  name: `q${i}`,
  skills: [
    { skill: topic(i), minProficiency: 1 + (i % 3) },
    ...(i % 4 === 0 ? [{ skill: topic((i + 7) % SKILLS), minProficiency: 1 }] : []),
  ],
  strategy: strategies[i % strategies.length]!,
  ringTimeoutSeconds: 15,
  wrapUpSeconds: 10,
  maxWaitSeconds: 1_800,
  agingPerMinute: [1, 0.5, 0][i % 3]!,
  }),
);
const agents: AgentConfig[] = Array.from({ length: AGENTS }, (_, i) => {
  const skills: Record<string, number> = { [lang(0)]: 5 };
  if (rnd() < 0.6) skills[lang(1 + pick(LANGS - 1))] = 1 + pick(5);
  while (Object.keys(skills).length < 8) skills[topic(pick(SKILLS))] = 1 + pick(5);
  return { id: `agent${String(i).padStart(4, '0')}`, endpoint: `PJSIP/agent${1000 + i}`, skills };
});

const prefix = `hotline:bench:${Date.now().toString(36)}${randomBytes(3).toString('hex')}:`;
const main = new Redis(url);
const store = new RoutingStore(main, prefix);
let callSeq = 0;
const t0 = Date.now();
const newCall = (now: number) => ({
  callId: `call${callSeq++}`,
  queue: `q${pick(QUEUES)}`,
  skills: rnd() < 0.3 ? [lang(1 + pick(LANGS - 1))] : [],
  priority: rnd() < 0.1 ? 1 + pick(10) : 0,
  enqueuedAt: now - pick(20 * 60_000),
  owner: 'bench',
});

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}
const ms = (n: number) => `${n.toFixed(3)} ms`;
const rate = (n: number) => Math.round(n).toLocaleString('en-US');

/** One client's loop: recycle an offer's agent, top the queue up, claim. */
async function steady(clientCount: number, pending: Offer[]): Promise<{ decisions: number; claims: number; wall: number; lat: number[] }> {
  const conns = Array.from({ length: clientCount }, () => new Redis(url));
  const lat: number[] = [];
  let decisions = 0;
  let claims = 0;
  const until = performance.now() + seconds * 1000;
  const start = performance.now();
  await Promise.all(
    conns.map(async (conn) => {
      const s = new RoutingStore(conn, prefix);
      while (performance.now() < until) {
        const now = t0 + Math.round(performance.now());
        const offer = pending.pop();
        if (offer) {
          await s.answered(offer.callId, offer.agentId, now);
          await s.agentCallEnded(offer.agentId, now);
          await s.wrapUpEnded(offer.agentId, offer.callId, now);
        }
        await s.enqueue(newCall(now));
        const t = performance.now();
        const got = await s.claim(now);
        lat.push(performance.now() - t);
        claims += 1;
        decisions += got.length;
        pending.push(...got);
      }
    }),
  );
  const wall = (performance.now() - start) / 1000;
  for (const c of conns) c.disconnect();
  return { decisions, claims, wall, lat: lat.sort((a, b) => a - b) };
}

try {
  const pings: number[] = [];
  for (let i = 0; i < 2_000; i++) {
    const t = performance.now();
    await main.ping();
    pings.push(performance.now() - t);
  }
  pings.sort((a, b) => a - b);
  console.log(`round trip (PING) p50 ${ms(pct(pings, 50))}, p99 ${ms(pct(pings, 99))}: claim latencies below include it`);
  // What one redis.call costs inside Lua on this machine, warm: the unit a claim is made of.
  const calls = 20_000;
  let t = performance.now();
  await main.eval(`for i = 1, ${calls} do redis.call('HMGET', KEYS[1], 'a', 'b', 'c') redis.call('ZSCORE', KEYS[2], 'm') end return 1`, 2, `${prefix}calibrate:h`, `${prefix}calibrate:z`);
  console.log(`calibration: one redis.call from Lua (HMGET/ZSCORE, warm loop) = ${(((performance.now() - t) * 1000) / (2 * calls)).toFixed(2)} µs`);
  await store.configure(queues, agents);
  for (let i = 0; i < CALLS; i++) await store.enqueue(newCall(t0));
  for (const a of agents) await store.changeAgentState(a.id, 'login', undefined, t0);

  t = performance.now();
  const pending = await store.claim(t0);
  const bulkMs = performance.now() - t;
  console.log(`bulk: one claim matched ${pending.length} agents to calls in ${ms(bulkMs)} = ${rate(pending.length / (bulkMs / 1000))} decisions/s`);
  for (let i = 0; i < pending.length; i++) await store.enqueue(newCall(t0)); // back to 10,000 waiting

  for (const n of [1, clients]) {
    const r = await steady(n, pending);
    const claimTime = r.lat.reduce((a, b) => a + b, 0) / 1000;
    console.log(
      `steady, ${n} client${n > 1 ? 's' : ''}: ${rate(r.decisions / r.wall)} decisions/s over the whole cycle (${r.claims} claims, ${(r.decisions / r.claims).toFixed(2)} decisions each)` +
        `${n === 1 ? `, ${rate(r.decisions / claimTime)} decisions/s of claim time` : ''}; claim p50 ${ms(pct(r.lat, 50))}, p99 ${ms(pct(r.lat, 99))}, max ${ms(r.lat.at(-1) ?? NaN)}`,
    );
  }

  const batchLat: number[] = [];
  let batchDecisions = 0;
  const until = performance.now() + seconds * 1000;
  while (performance.now() < until) {
    const now = t0 + Math.round(performance.now());
    const batch = pending.splice(0, 50);
    await Promise.all(
      batch.map(async (o) => {
        await store.answered(o.callId, o.agentId, now);
        await store.agentCallEnded(o.agentId, now);
        await store.wrapUpEnded(o.agentId, o.callId, now);
        await store.enqueue(newCall(now));
      }),
    );
    t = performance.now();
    const got = await store.claim(now);
    batchLat.push(performance.now() - t);
    batchDecisions += got.length;
    pending.push(...got);
  }
  batchLat.sort((a, b) => a - b);
  const batchTime = batchLat.reduce((a, b) => a + b, 0) / 1000;
  console.log(
    `batch: ${batchLat.length} claims of ${(batchDecisions / batchLat.length).toFixed(1)} decisions each = ${rate(batchDecisions / batchTime)} decisions/s of claim time; claim p50 ${ms(pct(batchLat, 50))}, p99 ${ms(pct(batchLat, 99))}`,
  );
  const waiting = await Promise.all(queues.map((q) => store.waiting(q.name)));
  console.log(`state: ${waiting.reduce((n, w) => n + w.length, 0)} calls waiting, ${AGENTS} agents, ${SKILLS + LANGS} skills, ${QUEUES} queues; redis ${(await main.info('server')).match(/redis_version:(\S+)/)?.[1]}, node ${process.version}`);
} finally {
  let cursor = '0';
  do {
    const [next, keys] = await main.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    if (keys.length) await main.del(...keys);
    cursor = next;
  } while (cursor !== '0');
  main.disconnect();
}
