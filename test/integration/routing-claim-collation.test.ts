import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queue as baseQueue, call, claimAsPlanned, offerPairs, MIN, T0 } from '../helpers/routing-fixtures.ts';
import { driveFloor, seededRandom } from '../helpers/routing-floor-driver.ts';
import { RoutingStore } from '../../src/routing/routing-store.ts';
import type { AgentConfig, QueueConfig, Strategy, WaitingCall } from '../../src/routing/types.ts';
import { freePort, RedisServer } from './helpers/redis-server.ts';

/**
 * claim breaks ties (agents with equal scores, calls with equal priority and enqueue time) in
 * byte order, as Redis orders equal scores and as the reference planner does. Lua's < on
 * strings follows the server's collation: Redis calls setlocale(LC_COLLATE, ""), so a server
 * started under en_US.UTF-8 sorts 'agent0' < 'agentA' < 'agent-b', where bytes give
 * 'agent-b' < 'agent0' < 'agentA'. claim-agents.lua sees that and compares byte by byte
 * instead. The shared test Redis runs under C, so here two private servers run the same
 * floors, one under en_US.UTF-8 and one under C: every claim must give what the planner gives
 * on both. The ids and skills differ in case, punctuation and digits, which is where the two
 * orders part, and agents log in and end calls at the same millisecond, so ties decide.
 */

/** A locale with a linguistic collation; scripts/lab/provision.sh generates it. */
const LINGUISTIC = 'en_US.UTF-8';
/** Extra skills whose byte order ('lang-b' < 'lang0' < 'lang_c' < 'langa') is not en_US's. */
const LANGS = ['langa', 'lang-b', 'lang_c', 'lang0'];
/** Agent ids, of which bytes and en_US put the same ones in different orders. */
const TIE_AGENTS = ['agentA', 'agent-b', 'Agent_c', 'agent0', 'agent.B', 'AGENT1'];

const KINDS = ['linguistic', 'bytewise'] as const;
type Kind = (typeof KINDS)[number];
const servers: Record<Kind, RedisServer | null> = { linguistic: null, bytewise: null };
const clients: Redis[] = [];
/** Set by beforeAll when a server does not collate as it was started to: every test then fails with it. */
const collationProblems: string[] = [];

/** What `<` on strings gives in the server's Lua: 'a' < 'B', and `ids` sorted with it. */
async function luaOrder(redis: Redis, ids: readonly string[]): Promise<{ aBeforeB: string; sorted: string[] }> {
  const aBeforeB = String(await redis.eval("return tostring('a' < 'B')", 0));
  const sorted = (await redis.eval('local t = {} for i, v in ipairs(ARGV) do t[i] = v end table.sort(t) return t', 0, ...ids)) as string[];
  return { aBeforeB, sorted };
}

const byteSorted = (ids: readonly string[]) => [...ids].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));

async function start(env: Record<string, string>): Promise<RedisServer> {
  const server = new RedisServer(await freePort(), { env });
  await server.start();
  return server;
}

function connect(kind: Kind): Redis {
  const server = servers[kind];
  if (!server) throw new Error(`the ${kind} redis-server did not start`);
  const redis = new Redis(server.port, '127.0.0.1');
  clients.push(redis);
  return redis;
}

/** A connection to a server whose collation beforeAll found to be the one it was started for. */
function client(kind: Kind): Redis {
  if (collationProblems.length > 0) throw new Error(collationProblems.join('\n'));
  return connect(kind);
}

beforeAll(async () => {
  // LC_ALL over the caller's LANG/LC_* settings, so each server's collation is the one named.
  servers.linguistic = await start({ LC_ALL: LINGUISTIC });
  servers.bytewise = await start({ LC_ALL: 'C' });
  const ids = [...TIE_AGENTS, ...LANGS];
  // A missing locale leaves Redis at C without a word: the tests would then show nothing.
  const ling = await luaOrder(connect('linguistic'), ids);
  if (ling.aBeforeB !== 'true' || JSON.stringify(ling.sorted) === JSON.stringify(byteSorted(ids))) {
    collationProblems.push(
      `redis-server under LC_ALL=${LINGUISTIC} compares strings bytewise ('a' < 'B' is ${ling.aBeforeB}): the locale is ` +
        `missing; scripts/lab/provision.sh generates it (localedef -i en_US -f UTF-8 en_US.UTF-8)`,
    );
  }
  const c = await luaOrder(connect('bytewise'), ids);
  if (c.aBeforeB !== 'false' || JSON.stringify(c.sorted) !== JSON.stringify(byteSorted(ids))) {
    collationProblems.push(`redis-server under LC_ALL=C does not compare strings bytewise: ${JSON.stringify(c)}`);
  }
});

afterAll(async () => {
  for (const c of clients) c.disconnect();
  for (const s of Object.values(servers)) await s?.stop('SHUTDOWN');
});

describe('claim under a linguistic collation', () => {
  it(`runs one server under ${LINGUISTIC}, which collates linguistically, and one under C`, () => {
    expect(collationProblems, collationProblems.join('\n')).toEqual([]);
  });

  it('gives tied agents and calls in byte order, a two-skill class included, as under C', async () => {
    for (const kind of KINDS) {
      const store = new RoutingStore(client(kind), 'ties:');
      const desk = baseQueue('desk', { agingPerMinute: 0, wrapUpSeconds: 0 });
      const skills = { desk: 1, ...Object.fromEntries(LANGS.map((l) => [l, 1])) };
      await store.configure([desk], TIE_AGENTS.map((id, i) => ({ id, endpoint: `PJSIP/t${i}`, skills })), T0);
      for (const id of TIE_AGENTS) await store.changeAgentState(id, 'login', undefined, T0);
      // One class each, so the heap settles their tie by call id; call0's two skills are stored
      // 'lang-b,langa', which claim must build in the same order to find the class.
      const calls = [
        call('callA', 'desk', { skills: ['langa'] }),
        call('call-b', 'desk', { skills: ['lang-b'] }),
        call('Call_c', 'desk', { skills: ['lang_c'] }),
        call('call0', 'desk', { skills: ['langa', 'lang-b'] }),
        call('CALL1', 'desk'),
      ];
      const waiting = new Map<string, WaitingCall>(calls.map((c) => [c.callId, c]));
      for (const c of calls) await store.enqueue(c);
      const got: string[] = [];
      for (let i = 0; i < calls.length; i++) got.push(...offerPairs(await claimAsPlanned(store, [desk], waiting, T0 + MIN, 1, `${kind}: claim ${i}`)));
      expect(got, kind).toEqual(['CALL1>AGENT1', 'Call_c>Agent_c', 'call-b>agent-b', 'call0>agent.B', 'callA>agent0']);
    }
  });

  // 8 and 40 agents: claim reads the available agents themselves; 100: small queues read from
  // the indexes; 180: large queues read in chunks.
  for (const size of [8, 40, 100, 180]) {
    it(`agrees with the reference planner and with C on a floor of ${size} agents with tied ids`, async () => {
      const ling = await runFloor(new RoutingStore(client('linguistic'), `floor${size}:`), size, 'linguistic');
      const c = await runFloor(new RoutingStore(client('bytewise'), `floor${size}:`), size, 'bytewise');
      expect(ling).toEqual(c);
      expect(ling.flat().length).toBeGreaterThan(size);
    });
  }
});

/** A queue of its own skill at proficiency 1, no wrap-up. */
const queue = (name: string, strategy: Strategy, agingPerMinute: number): QueueConfig =>
  baseQueue(name, { strategy, skills: [{ skill: name, minProficiency: 1 }], wrapUpSeconds: 0, agingPerMinute });

/** `n` distinct ids from stems and tails that differ in case, punctuation and digits, shuffled. */
function tiedIds(stems: readonly string[], tails: readonly string[], n: number, rnd: () => number): string[] {
  const ids: string[] = [];
  for (let i = 0; ids.length < n; i++) {
    const round = Math.floor(i / (stems.length * tails.length));
    ids.push(`${stems[i % stems.length]}${tails[Math.floor(i / stems.length) % tails.length]}${round || ''}`);
  }
  if (new Set(ids).size !== ids.length) throw new Error('tiedIds made the same id twice');
  for (let i = ids.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [ids[i], ids[j]] = [ids[j]!, ids[i]!];
  }
  return ids;
}

/**
 * A floor where ties decide: every agent logs in at one time and the agents of a round end
 * their calls at one time (equal lastEnd, so equal scores), proficiencies are 1 or 2, and calls
 * share a few enqueue times and priorities. Each claim is checked against the planner; returns
 * the offers of every claim. The same `size` makes the same floor on any server.
 */
async function runFloor(store: RoutingStore, size: number, kind: string): Promise<string[][]> {
  const { rnd, pick } = seededRandom(7000 + size);
  const queues = [queue('billing', 'longest-idle', 0), queue('tech', 'most-skilled', 0), queue('sales', 'fewest-calls', 0), queue('vip', 'ring-all', 0), queue('claims', 'longest-idle', 2)];
  const ids = tiedIds(['agent', 'Agent', 'AGENT', 'agent-', 'agent_', 'agent.', 'agent@', 'a'], ['a', 'B', 'b', 'A', '0', '1', '-z', 'Z'], size, rnd);
  const agents: AgentConfig[] = ids.map((id, i) => {
    const sk: Record<string, number> = {};
    for (const q of queues) if (q.name !== 'vip' && rnd() < 0.45) sk[q.name] = 1 + Math.floor(rnd() * 2);
    if (rnd() < 0.15) sk.vip = 1;
    for (const l of LANGS) if (rnd() < 0.5) sk[l] = 1 + Math.floor(rnd() * 2);
    return { id, endpoint: `PJSIP/f${i}`, skills: sk };
  });
  await store.configure(queues, agents, T0);
  const callStems = ['call', 'Call', 'CALL', 'call-', 'call_', 'call.'];
  const callTails = ['a', 'B', '0', '-b'];
  const newCall = (seq: number, at: number): WaitingCall => {
    const r = rnd();
    return {
      callId: `${callStems[seq % callStems.length]}${callTails[Math.floor(seq / callStems.length) % callTails.length]}${seq}`,
      queue: pick(queues).name,
      skills: r < 0.35 ? [pick(LANGS)] : r < 0.5 ? [pick(LANGS), pick(LANGS)] : [],
      priority: rnd() < 0.2 ? 1 : 0,
      enqueuedAt: at - pick([0, 0, MIN]),
      owner: 'app-1',
    };
  };
  const { transcript } = await driveFloor({ store, queues, agents, rnd, newCall }, {
    waves: { agents: Math.max(1, Math.floor(size / 4)), calls: Math.ceil(size / 4) },
    rounds: { count: 5, calls: Math.ceil(size / 3), minutes: 2 },
    ties: true,
    label: kind,
  });
  return transcript;
}
