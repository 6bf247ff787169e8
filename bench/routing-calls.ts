/**
 * Where a routing decision's Redis work goes: runs the steady cycle of bench/routing.ts
 * (answered -> agentCallEnded -> wrapUpEnded -> enqueue -> claim) one script at a time and, around
 * each, reads INFO commandstats, so it can print per script: the redis.calls it made (by command)
 * and the server's µs for the EVALSHA. Use a Redis of its own: other clients' commands would be
 * counted too.
 *   node bench/routing-calls.ts [cycles=2000] [redis url=redis://127.0.0.1:6390]
 * ROUTING_CALLS_PAUSE_MS=n waits n ms between the set-up and the cycles (to attach a profiler).
 */
import { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { RoutingStore } from '../src/routing/routing-store.ts';
import type { Offer } from '../src/routing/types.ts';
import { benchAgents, benchQueues, newBenchCall } from './routing-fixture.ts';

const cycles = Number(process.argv[2] ?? 2_000);
const url = process.argv[3] ?? 'redis://127.0.0.1:6390';
const prefix = `hotline:bench:${Date.now().toString(36)}${randomBytes(3).toString('hex')}:`;
const redis = new Redis(url);
const store = new RoutingStore(redis, prefix);

async function stats(): Promise<Map<string, { calls: number; usec: number }>> {
  const out = new Map<string, { calls: number; usec: number }>();
  for (const m of (await redis.info('commandstats')).matchAll(/cmdstat_([^:]+):calls=(\d+),usec=(\d+)/g)) {
    out.set(m[1]!, { calls: Number(m[2]), usec: Number(m[3]) });
  }
  return out;
}

const totals = new Map<string, { runs: number; usec: number; cmds: Map<string, number> }>();
// ROUTING_CALLS_NO_STATS=1: run the cycles without reading INFO around each script, so a
// profiler on the server sees only the routing work.
const noStats = process.env.ROUTING_CALLS_NO_STATS === '1';
async function measured<T>(name: string, fn: () => Promise<T>): Promise<T> {
  if (noStats) return fn();
  const before = await stats();
  const r = await fn();
  const after = await stats();
  const t = totals.get(name) ?? { runs: 0, usec: 0, cmds: new Map<string, number>() };
  t.runs += 1;
  for (const [cmd, a] of after) {
    const b = before.get(cmd) ?? { calls: 0, usec: 0 };
    const n = a.calls - b.calls;
    if (cmd === 'info') continue;
    if (cmd === 'fcall' || cmd === 'evalsha' || cmd === 'eval') t.usec += a.usec - b.usec;
    else if (n > 0) t.cmds.set(cmd, (t.cmds.get(cmd) ?? 0) + n);
  }
  totals.set(name, t);
  return r;
}

try {
  const queues = benchQueues();
  const agents = benchAgents();
  const t0 = Date.now();
  await store.configure(queues, agents);
  for (let i = 0; i < 10_000; i++) await store.enqueue(newBenchCall(t0));
  for (const a of agents) await store.changeAgentState(a.id, 'login', undefined, t0);
  const pending: Offer[] = await store.claim(t0);
  for (let i = 0; i < pending.length; i++) await store.enqueue(newBenchCall(t0));
  // Lets a profiler attached to the server (e.g. callgrind_control -z) start at the cycles.
  const pause = Number(process.env.ROUTING_CALLS_PAUSE_MS ?? 0);
  if (pause) {
    console.log('set up; cycles start in', pause, 'ms');
    await new Promise((r) => setTimeout(r, pause));
  }
  let decisions = 0;
  for (let i = 0; i < cycles; i++) {
    const now = t0 + i;
    const o = pending.pop()!;
    await measured('answered', () => store.answered(o.callId, o.agentId, now));
    await measured('agentCallEnded', () => store.agentCallEnded(o.agentId, now));
    await measured('wrapUpEnded', () => store.wrapUpEnded(o.agentId, o.callId, now));
    await measured('enqueue', () => store.enqueue(newBenchCall(now)));
    const got = await measured('claim', () => store.claim(now));
    decisions += got.length;
    pending.unshift(...got);
  }
  console.log(`${cycles} cycles, ${decisions} decisions (${(decisions / cycles).toFixed(2)} per cycle)`);
  let all = 0;
  let allUs = 0;
  for (const [name, t] of totals) {
    const n = [...t.cmds.values()].reduce((a, b) => a + b, 0);
    all += n;
    allUs += t.usec;
    const top = [...t.cmds].sort((a, b) => b[1] - a[1]).map(([c, k]) => `${c} ${(k / t.runs).toFixed(2)}`);
    console.log(`${name.padEnd(15)} ${(n / t.runs).toFixed(1).padStart(5)} redis.calls, ${(t.usec / t.runs).toFixed(1).padStart(6)} µs/run: ${top.join(', ')}`);
  }
  console.log(`per decision: ${(all / decisions).toFixed(1)} redis.calls, ${(allUs / decisions).toFixed(1)} µs of script time`);
} finally {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    if (keys.length) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
  redis.disconnect();
}
