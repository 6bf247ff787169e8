import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import '../setup/provided.ts';
import { queue as baseQueue, expectAvailabilityIndexes, MIN, T0 } from '../helpers/routing-fixtures.ts';
import { driveFloor, seededRandom } from '../helpers/routing-floor-driver.ts';
import { RoutingStore } from '../../src/routing/routing-store.ts';
import type { AgentConfig, QueueConfig, Strategy, WaitingCall } from '../../src/routing/types.ts';

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
      const { rnd, pick } = seededRandom(1000 + size);
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
      const newCall = (seq: number, at: number): WaitingCall => {
        const r = rnd();
        return {
          callId: `p${size}-${seq}`,
          queue: pick(queues).name,
          skills: r < 0.35 ? [pick(langs)] : r < 0.45 ? [pick(langs), pick(langs)] : [],
          priority: rnd() < 0.2 ? 1 + Math.floor(rnd() * 10) : 0,
          enqueuedAt: at - Math.floor(rnd() * 30 * MIN),
          owner: 'app-1',
        };
      };
      // Data written before the class-head index existed (no index, no '#qh' mark; calls
      // enqueued after the upgrade start a partial one): claim rebuilds it.
      // Such data listed the classes in a set qc:<queue> instead.
      const downgradeIndexes = async (round: number) => {
        if (round !== 3) return;
        for (const q of queues) {
          const classes = await redis.zrange(`${prefix}routing:qh:${q.name}`, 0, -1);
          if (classes.length) await redis.sadd(`${prefix}routing:qc:${q.name}`, ...classes);
          await redis.del(`${prefix}routing:qh:${q.name}`);
        }
        await redis.hdel(`${prefix}routing:qconf`, '#qh');
      };
      const { t } = await driveFloor({ store, queues, agents, rnd, newCall }, {
        waves: { agents: Math.max(1, Math.floor(size / 6)), calls: Math.ceil(size / 5) },
        rounds: { count: 6, calls: Math.ceil(size / 4), minutes: 1 },
        ties: false,
        leaveChance: 0.1,
        beforeRoundCalls: downgradeIndexes,
      });
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
