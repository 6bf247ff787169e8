/**
 * The routing benchmarks' floor: 2,000 agents, 50 skills (10 languages, 40 topics), 40 queues
 * and a stream of calls, from a seeded generator so every run builds the same floor.
 */
import { QueueConfigSchema, type AgentConfig, type QueueConfig, type Strategy, type WaitingCall } from '../src/routing/types.ts';

export const AGENTS = 2_000;
export const CALLS = 10_000;
export const LANGS = 10;
export const SKILLS = 40; // 10 languages + 40 topic skills = 50 skills
export const QUEUES = 40;

let seed = 42;
const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
const pick = (n: number) => Math.floor(rnd() * n);
const lang = (i: number) => `lang${i}`;
const topic = (i: number) => `topic${i}`;

const strategies: Strategy[] = ['longest-idle', 'fewest-calls', 'most-skilled'];

export function benchQueues(): QueueConfig[] {
  return Array.from({ length: QUEUES }, (_, i) =>
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
}

/** Every agent speaks lang0, 60% one more language, and has topics up to 8 skills in all. */
export function benchAgents(): AgentConfig[] {
  return Array.from({ length: AGENTS }, (_, i) => {
    const skills: Record<string, number> = { [lang(0)]: 5 };
    if (rnd() < 0.6) skills[lang(1 + pick(LANGS - 1))] = 1 + pick(5);
    while (Object.keys(skills).length < 8) skills[topic(pick(SKILLS))] = 1 + pick(5);
    return { id: `agent${String(i).padStart(4, '0')}`, endpoint: `PJSIP/agent${1000 + i}`, skills };
  });
}

let callSeq = 0;
/** A new call: any queue, 30% ask for a second language, 10% VIP, waiting up to 20 minutes. */
export function newBenchCall(now: number): WaitingCall {
  return {
    callId: `call${callSeq++}`,
    queue: `q${pick(QUEUES)}`,
    skills: rnd() < 0.3 ? [lang(1 + pick(LANGS - 1))] : [],
    priority: rnd() < 0.1 ? 1 + pick(10) : 0,
    enqueuedAt: now - pick(20 * 60_000),
    owner: 'bench',
  };
}
