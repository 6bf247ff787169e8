import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import '../setup/provided.ts';
import { queue as baseQueue, claimAsPlanned, expectAvailabilityIndexes, MIN, T0 } from '../helpers/routing-fixtures.ts';
import { RoutingStore } from '../../src/routing/routing-store.ts';
import type { AgentConfig, Offer, QueueConfig, Strategy, WaitingCall } from '../../src/routing/types.ts';

/**
 * claim picks its candidates three ways by how many agents are available: reading the few
 * available agents themselves, reading a small queue's whole index, or reading a large one in
 * chunks and skill intersections. Floors of every size, including claims stopped by maxCalls
 * and claims after agents come back, must give exactly what the reference planner gives, and
 * leave the indexes in step with the agents' states.
 */

const redis = new Redis(inject('redisUrl'));
afterAll(() => redis.quit());

/** A queue of its own skill at `minProficiency`, no wrap-up. */
const queue = (name: string, strategy: Strategy, minProficiency: number, agingPerMinute: number): QueueConfig =>
  baseQueue(name, { strategy, skills: [{ skill: name, minProficiency }], wrapUpSeconds: 0, agingPerMinute });

describe('claim on floors of every size', () => {
  // 3..14 agents: the few-agents path; 20..30: small queue indexes; 120, 400: large queues.
  for (const size of [3, 9, 14, 20, 30, 120, 400]) {
    it(`agrees with the reference planner with ${size} agents, through limits and returning agents`, async () => {
      let seed = 1000 + size;
      const rnd = () => ((seed = (seed * 48271) % 2147483647) / 2147483647);
      const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!;
      const strategies: Strategy[] = ['longest-idle', 'fewest-calls', 'most-skilled'];
      // Eight queues, so that claim reads the agents themselves while fewer than eight are free.
      const names = ['billing', 'tech', 'sales', 'support', 'returns', 'claims', 'press', 'vip'];
      const queues = names.map((name, i) => queue(name, i === 7 ? 'ring-all' : pick(strategies), 1 + Math.floor(rnd() * 3), pick([0, 0.5, 2])));
      const langs = ['english', 'french', 'german', 'polish', 'thai', 'welsh'];
      const agents: AgentConfig[] = Array.from({ length: size }, (_, i) => {
        const sk: Record<string, number> = {};
        for (const q of queues.slice(0, 7)) if (rnd() < 0.45) sk[q.name] = 1 + Math.floor(rnd() * 5);
        if (rnd() < 0.15) sk.vip = 1;
        for (const l of langs) if (rnd() < 0.3) sk[l] = 1 + Math.floor(rnd() * 5);
        return { id: `ag${String(i).padStart(3, '0')}`, endpoint: `PJSIP/ag${i}`, skills: sk };
      });
      const prefix = `${inject('redisPrefix')}paths${size}:`;
      const store = new RoutingStore(redis, prefix);
      await store.configure(queues, agents, T0);
      const byQueue = new Map(queues.map((q) => [q.name, q]));
      const waiting = new Map<string, WaitingCall>();
      let seq = 0;
      const enqueue = async (n: number, at: number) => {
        for (let i = 0; i < n; i++) {
          const r = rnd();
          const c: WaitingCall = {
            callId: `p${size}-${seq++}`,
            queue: pick(queues).name,
            skills: r < 0.35 ? [pick(langs)] : r < 0.45 ? [pick(langs), pick(langs)] : [],
            priority: rnd() < 0.2 ? 1 + Math.floor(rnd() * 10) : 0,
            enqueuedAt: at - Math.floor(rnd() * 30 * MIN),
            owner: 'app-1',
          };
          waiting.set(c.callId, c);
          await store.enqueue(c);
        }
      };
      const claimAndCheck = (now: number, maxCalls: number, label: string): Promise<Offer[]> => claimAsPlanned(store, queues, waiting, now, maxCalls, label);

      // Agents log in a few at a time with calls arriving, so every count of available agents
      // from 1 up is seen by some claim.
      let t = T0;
      const ringing: Offer[] = [];
      for (let i = 0; i < agents.length; i += Math.max(1, Math.floor(size / 6))) {
        for (const a of agents.slice(i, i + Math.max(1, Math.floor(size / 6)))) await store.changeAgentState(a.id, 'login', undefined, t);
        await enqueue(Math.ceil(size / 5), t);
        t += MIN;
        ringing.push(...(await claimAndCheck(t, seq % 3 === 0 ? 2 : 0, `login wave ${i}`)));
      }
      // Offers end in different ways; agents come back with new histories, and claims run with
      // and without a limit.
      for (let round = 0; round < 6; round++) {
        const batch = ringing.splice(0, Math.ceil(ringing.length / 2));
        const answered = new Set<string>();
        for (const o of batch) {
          t += 1000;
          if (answered.has(o.callId)) continue; // a ring-all partner answered: already released
          if (rnd() < 0.2) {
            const r = await store.ringNoAnswer(o.callId, o.agentId, t);
            if (r.changes.length) await store.changeAgentState(o.agentId, 'unpause', undefined, t);
          } else {
            const r = await store.answered(o.callId, o.agentId, t);
            answered.add(o.callId);
            await store.agentCallEnded(o.agentId, t + Math.floor(rnd() * 10 * MIN));
            for (const id of r.released) {
              const k = ringing.findIndex((x) => x.agentId === id);
              if (k >= 0) ringing.splice(k, 1);
            }
          }
        }
        // Calls that went back to waiting after ring-no-answer are in the queue again.
        for (const q of queues) for (const c of await store.waiting(q.name)) waiting.set(c.callId, c);
        // Some waiting callers hang up, the first in line among them.
        for (const c of [...waiting.values()].filter(() => rnd() < 0.1)) {
          expect((await store.callerLeft(c.callId, t)).was).toBe('waiting');
          waiting.delete(c.callId);
        }
        // Data written before the class-head index existed (no index, no '#qh' mark; calls
        // enqueued after the upgrade start a partial one): claim rebuilds it.
        // Such data listed the classes in a set qc:<queue> instead.
        if (round === 3) {
          for (const q of queues) {
            const classes = await redis.zrange(`${prefix}routing:qh:${q.name}`, 0, -1);
            if (classes.length) await redis.sadd(`${prefix}routing:qc:${q.name}`, ...classes);
            await redis.del(`${prefix}routing:qh:${q.name}`);
          }
          await redis.hdel(`${prefix}routing:qconf`, '#qh');
        }
        await enqueue(Math.ceil(size / 4), t);
        t += MIN;
        ringing.push(...(await claimAndCheck(t, round % 2 === 0 ? 1 + (round % 3) : 0, `round ${round}`)));
      }
      expect(await store.claim(t)).toEqual([]);

      // Indexes agree with the agents: the available set, each queue's index, the skill indexes.
      const list = await store.listAgents();
      const available = list.filter((a) => a.state === 'available');
      await expectAvailabilityIndexes(redis, prefix, available, queues);
      for (const q of queues) {
        const classes = await redis.zrange(`${prefix}routing:qh:${q.name}`, 0, -1);
        expect(await redis.exists(`${prefix}routing:qc:${q.name}`), 'qc is gone once qh is built').toBe(0);
        for (const extras of classes) expect(await redis.zcard(`${prefix}routing:wc:${q.name}|${extras}`), `${q.name}|${extras}`).toBeGreaterThan(0);
        const inClasses = (await Promise.all(classes.map((e) => redis.zcard(`${prefix}routing:wc:${q.name}|${e}`)))).reduce((a, b) => a + b, 0);
        expect(inClasses).toBe(await redis.zcard(`${prefix}routing:wq:${q.name}`));
        const stray = (await redis.keys(`${prefix}routing:wc:${q.name}|*`)).filter((k) => !classes.includes(k.slice(`${prefix}routing:wc:${q.name}|`.length)));
        expect(stray, `${q.name} classes with calls missing from qh`).toEqual([]);
        // qh:<queue> lists the same classes, each with its head's score.
        const heads = await redis.zrange(`${prefix}routing:qh:${q.name}`, 0, -1, 'WITHSCORES');
        const fromClasses: string[] = [];
        for (const extras of classes) fromClasses.push(`${extras}=${(await redis.zrange(`${prefix}routing:wc:${q.name}|${extras}`, 0, 0, 'WITHSCORES'))[1]}`);
        expect(heads.flatMap((x, i) => (i % 2 === 0 ? [`${x}=${heads[i + 1]}`] : [])).sort(), `${q.name} heads`).toEqual(fromClasses.sort());
      }
    });
  }
});
