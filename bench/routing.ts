/**
 * Routing decisions/s and claim latency on real Redis with 2,000 agents, 50 skills and
 * 10,000 waiting calls (the issue's target: >= 20,000 decisions/s, p99 < 2 ms).
 *   node bench/routing.ts [seconds per phase=5] [clients=8] [redis url=redis://127.0.0.1:6379]
 *
 * A decision is one (call, agent) pair that claim returns (an offer; ring-all counts one per
 * agent rung). Only claim makes decisions; answered, agentCallEnded, wrapUpEnded and enqueue
 * are the events that make the next decision possible, and they cost Redis time too.
 *
 * Phases, all on a fresh key prefix that is deleted at the end:
 *   bulk       every agent logs in at once and one claim matches as many calls as it can; then,
 *              BULK_ROUNDS times, every offered agent works its call through at once (all of
 *              them available again), the queue is topped up to 10,000 and one claim matches
 *              them all again. The first claim runs on a server that has just started (its
 *              memory and the Lua heap not grown yet); the rounds after it show the same claim
 *              on a warm server. On a shared 2-core machine one claim's time moves by 2x from
 *              run to run, so the rounds are reported as median and range, not one sample;
 *   steady     the queue topped up to 10,000 again, all agents busy; each client loops:
 *              answered -> agentCallEnded -> wrapUpEnded for one of its offers (the agent
 *              becomes available), enqueue a new call (the queue stays at 10,000), claim.
 *              One client, then `clients` clients in parallel. Each loop is 5 round trips in a
 *              row for 1 decision, so its decisions/s is bound by loopback latency, not by
 *              what routing can decide;
 *   batch      50 agents released together, then one claim matches them all;
 *   sustained  as the routing service runs: `clients` x 4 workers (one auto-pipelined
 *              connection, like one app instance's) work offers through answered ->
 *              agentCallEnded -> wrapUpEnded -> enqueue and kick one dispatcher, which runs
 *              one claim at a time and takes every agent freed meanwhile (RoutingService.kick).
 *              Its decisions/s is the whole cycle's: 5 scripts for each decision.
 * Latency is measured around each claim round trip on the client (loopback included).
 * "redis cpu" is the server process's CPU time (INFO cpu) over the phase divided by its
 * decisions: what Redis spent per decision, whatever the client's overhead. On a shared server
 * it includes other clients' work.
 */
import { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { RoutingStore } from '../src/routing/routing-store.ts';
import type { Offer } from '../src/routing/types.ts';
import { AGENTS, CALLS, LANGS, QUEUES, SKILLS, benchAgents, benchQueues, newBenchCall as newCall } from './routing-fixture.ts';

const seconds = Number(process.argv[2] ?? 5);
const BULK_ROUNDS = 5;
const clients = Number(process.argv[3] ?? 8);
const url = process.argv[4] ?? 'redis://127.0.0.1:6379';
const queues = benchQueues();
const agents = benchAgents();

const prefix = `hotline:bench:${Date.now().toString(36)}${randomBytes(3).toString('hex')}:`;
const main = new Redis(url);
const store = new RoutingStore(main, prefix);
const t0 = Date.now();

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}
const ms = (n: number) => `${n.toFixed(3)} ms`;
const rate = (n: number) => Math.round(n).toLocaleString('en-US');
/** Redis server CPU time so far, in µs (user + system, all threads). */
async function redisCpu(): Promise<number> {
  const info = await main.info('cpu');
  const field = (name: string) => Number(info.match(new RegExp(`${name}:([\\d.]+)`))?.[1] ?? NaN);
  return (field('used_cpu_user') + field('used_cpu_sys')) * 1e6;
}
const us = (n: number) => `${n.toFixed(1)} µs`;

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
        if (offer) await workOffer(s, offer, now);
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

/** The agent takes the offered call, hangs up and finishes wrap-up: available again. */
async function workOffer(s: RoutingStore, o: Offer, now: number): Promise<void> {
  await s.answered(o.callId, o.agentId, now);
  await s.agentCallEnded(o.agentId, now);
  await s.wrapUpEnded(o.agentId, o.callId, now);
}

/**
 * The routing service's shape: workers turn offers into freed agents and new calls and kick the
 * dispatcher, which runs one claim at a time and so matches every agent freed while the last
 * claim ran.
 */
async function sustained(workerCount: number, pending: Offer[]): Promise<{ decisions: number; claims: number; wall: number; lat: number[] }> {
  const workerConn = new Redis(url, { enableAutoPipelining: true });
  const dispatchConn = new Redis(url);
  const ws = new RoutingStore(workerConn, prefix);
  const ds = new RoutingStore(dispatchConn, prefix);
  const lat: number[] = [];
  let decisions = 0;
  let claims = 0;
  let running = true;
  let kicked = true;
  let wakeDispatcher: (() => void) | null = null;
  const offersWaiters: Array<() => void> = [];
  const kick = () => {
    kicked = true;
    wakeDispatcher?.();
  };
  const until = performance.now() + seconds * 1000;
  const start = performance.now();
  const dispatcher = (async () => {
    while (running) {
      if (!kicked) await new Promise<void>((r) => (wakeDispatcher = r));
      wakeDispatcher = null;
      kicked = false;
      if (!running) break;
      const t = performance.now();
      const got = await ds.claim(t0 + Math.round(t));
      lat.push(performance.now() - t);
      claims += 1;
      decisions += got.length;
      pending.push(...got);
      for (const w of offersWaiters.splice(0, got.length)) w();
    }
  })();
  const workers = Array.from({ length: workerCount }, async () => {
    while (performance.now() < until) {
      const o = pending.pop();
      if (!o) {
        await new Promise<void>((r) => offersWaiters.push(r));
        continue;
      }
      const now = t0 + Math.round(performance.now());
      await workOffer(ws, o, now);
      await ws.enqueue(newCall(now));
      kick();
    }
  });
  await Promise.all(workers);
  running = false;
  kick();
  await dispatcher;
  for (const w of offersWaiters.splice(0)) w();
  const wall = (performance.now() - start) / 1000;
  workerConn.disconnect();
  dispatchConn.disconnect();
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
  // What reading INFO costs the server, taken off the CPU of single claims below.
  let cpu0 = await redisCpu();
  for (let i = 0; i < 200; i++) await redisCpu();
  const infoCpu = ((await redisCpu()) - cpu0) / 201;
  await store.configure(queues, agents);
  for (let i = 0; i < CALLS; i++) await store.enqueue(newCall(t0));
  for (const a of agents) await store.changeAgentState(a.id, 'login', undefined, t0);

  cpu0 = await redisCpu();
  t = performance.now();
  const pending = await store.claim(t0);
  const bulkMs = performance.now() - t;
  const bulkCpu = (await redisCpu()) - cpu0 - infoCpu;
  console.log(
    `bulk: one claim matched ${pending.length} agents to calls in ${ms(bulkMs)} = ${rate(pending.length / (bulkMs / 1000))} decisions/s; redis cpu ${us(bulkCpu / pending.length)}/decision`,
  );
  const rounds: Array<{ ms: number; cpu: number; n: number }> = [];
  for (let round = 1; round <= BULK_ROUNDS; round++) {
    const now = t0 + round * 1000;
    const offered = pending.splice(0);
    await Promise.all(offered.map((o) => workOffer(store, o, now)));
    for (let i = 0; i < offered.length; i++) await store.enqueue(newCall(now)); // back to 10,000 waiting
    cpu0 = await redisCpu();
    t = performance.now();
    pending.push(...(await store.claim(now)));
    rounds.push({ ms: performance.now() - t, cpu: (await redisCpu()) - cpu0 - infoCpu, n: pending.length });
  }
  const perSec = rounds.map((r) => r.n / (r.ms / 1000)).sort((a, b) => a - b);
  const cpuPer = rounds.map((r) => r.cpu / r.n).sort((a, b) => a - b);
  console.log(
    `bulk again, ${BULK_ROUNDS} rounds (every agent freed at once, 10,000 waiting, ${rounds[0]!.n} decisions each): median ${rate(pct(perSec, 50))} decisions/s ` +
      `(range ${rate(perSec[0]!)}–${rate(perSec.at(-1)!)}); redis cpu median ${us(pct(cpuPer, 50))}/decision`,
  );
  for (let i = 0; i < pending.length; i++) await store.enqueue(newCall(t0)); // back to 10,000 waiting

  for (const n of [1, clients]) {
    cpu0 = await redisCpu();
    const r = await steady(n, pending);
    const cpu = (await redisCpu()) - cpu0;
    console.log(
      `steady, ${n} client${n > 1 ? 's' : ''}: ${r.claims} cycles of 5 round trips, ${rate(r.decisions / r.wall)} decisions/s (${(r.decisions / r.claims).toFixed(2)} per claim); ` +
        `claim p50 ${ms(pct(r.lat, 50))}, p99 ${ms(pct(r.lat, 99))}, max ${ms(r.lat.at(-1) ?? NaN)}; redis cpu ${us(cpu / r.claims)}/cycle`,
    );
  }

  const batchLat: number[] = [];
  let batchDecisions = 0;
  let batchCpu = 0;
  const until = performance.now() + seconds * 1000;
  while (performance.now() < until) {
    const now = t0 + Math.round(performance.now());
    const batch = pending.splice(0, 50);
    await Promise.all(
      batch.map(async (o) => {
        await workOffer(store, o, now);
        await store.enqueue(newCall(now));
      }),
    );
    cpu0 = await redisCpu();
    t = performance.now();
    const got = await store.claim(now);
    batchLat.push(performance.now() - t);
    batchCpu += (await redisCpu()) - cpu0 - infoCpu;
    batchDecisions += got.length;
    pending.push(...got);
  }
  batchLat.sort((a, b) => a - b);
  const batchTime = batchLat.reduce((a, b) => a + b, 0) / 1000;
  console.log(
    `batch: ${batchLat.length} claims of ${(batchDecisions / batchLat.length).toFixed(1)} decisions each = ${rate(batchDecisions / batchTime)} decisions/s of claim time; ` +
      `claim p50 ${ms(pct(batchLat, 50))}, p99 ${ms(pct(batchLat, 99))}; redis cpu ${us(batchCpu / batchDecisions)}/decision`,
  );

  cpu0 = await redisCpu();
  const r = await sustained(clients * 4, pending);
  const cpu = (await redisCpu()) - cpu0;
  console.log(
    `sustained, ${clients * 4} workers + 1 dispatcher: ${rate(r.decisions / r.wall)} decisions/s end to end (${rate(r.claims / r.wall)} claims/s, ${(r.decisions / r.claims).toFixed(1)} decisions each); ` +
      `claim p50 ${ms(pct(r.lat, 50))}, p99 ${ms(pct(r.lat, 99))}, max ${ms(r.lat.at(-1) ?? NaN)}; redis cpu ${us(cpu / r.decisions)}/decision (all 5 scripts)`,
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
