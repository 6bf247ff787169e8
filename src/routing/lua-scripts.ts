import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';

/**
 * A single Lua script (live stats, the offer relay), run by EVALSHA with a fallback to EVAL when
 * the server does not have the script yet (after a Redis restart or SCRIPT FLUSH).
 */
export class LuaScript {
  readonly name: string;
  readonly source: string;
  readonly sha: string;

  constructor(name: string, source: string) {
    this.name = name;
    this.source = source;
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  async run(redis: Redis, args: ReadonlyArray<string | number>): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, 0, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return redis.eval(this.source, 0, ...args);
    }
  }
}

const read = (file: string) => readFileSync(new URL(`./lua/${file}`, import.meta.url), 'utf8');

const common = read('common.lua');

/**
 * The routing scripts as one Redis Functions library (Redis 7), called with FCALL. A script sent
 * with EVALSHA runs its whole text each time: common.lua's and claim-agents.lua's `local
 * function`s each make a closure on every run, which was ~60k instructions of a claim and
 * ~20k of every other script (a tenth of a steady cycle). In a library they are made once, at
 * FUNCTION LOAD, and each FCALL runs only the script's own body. What a run keeps in those
 * shared locals (the key base, whether the indexes exist, claim's caches of agents and skills)
 * is set afresh at the start of every call (begin): Redis runs one function at a time. The
 * library and its functions are named with a hash of the source, so app instances running
 * different versions each call their own (a rolling upgrade) and FUNCTION LOAD never replaces
 * another version's code. Functions compute the keys they touch from a key base in ARGV[1], so
 * they run on a single Redis (or, in a cluster, only if the whole base sits in one hash slot).
 */
function library(bodyFiles: Record<string, string>): { source: string; version: string } {
  // Shared by the functions, after common.lua: claim's candidate agents; the end of a talk.
  const modules = ['claim-agents.lua', 'end-talk.lua'];
  const bodies = Object.entries(bodyFiles).map(([name, file]) => [name, read(file)] as const);
  const shared = [common, ...modules.map(read)].join('\n');
  const begin = `
local function begin(argv)
  B = argv[1]
  idx_state = nil
  taken, now, total_avail, info_of, xs_cache, skill_count = {}, 0, 0, {}, nil, {}
end
`;
  const text = (v: string) =>
    `#!lua name=hotline_routing_${v}\n${shared}\n${begin}\n` +
    bodies
      .map(([name, body]) => `redis.register_function('${name}_${v}', function(_, ARGV)\nbegin(ARGV)\n${body}\nend)`)
      .join('\n');
  const version = createHash('sha1').update(text('')).digest('hex').slice(0, 12);
  return { source: text(version), version };
}

/** One routing script: FCALL of its function in the library, which is loaded when Redis does not have it. */
export class RoutingFunction {
  readonly name: string;
  private readonly lib: { source: string; version: string };

  constructor(name: string, lib: { source: string; version: string }) {
    this.name = name;
    this.lib = lib;
  }

  async run(redis: Redis, args: ReadonlyArray<string | number>): Promise<unknown> {
    const fn = `${this.name}_${this.lib.version}`;
    try {
      return await redis.call('FCALL', fn, 0, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !/function not found/i.test(err.message)) throw err;
      await redis.call('FUNCTION', 'LOAD', this.lib.source).catch((e: unknown) => {
        // Another instance (or call) loaded it meanwhile.
        if (!(e instanceof Error) || !/already exists/i.test(e.message)) throw e;
      });
      return redis.call('FCALL', fn, 0, ...args);
    }
  }
}

/** Each function's body: what it does on every call, after begin(). */
const files = {
  configure: 'configure.lua',
  agentState: 'agent-state.lua',
  agents: 'agents.lua',
  enqueue: 'enqueue.lua',
  position: 'position.lua',
  waiting: 'waiting.lua',
  claim: 'claim.lua',
  answered: 'answered.lua',
  ringNoAnswer: 'ring-no-answer.lua',
  callerLeft: 'caller-left.lua',
  callEnded: 'call-ended.lua',
  wrapUpEnded: 'wrap-up-ended.lua',
  resetCalls: 'reset-calls.lua',
  overflow: 'overflow.lua',
  releaseGoneRings: 'release-gone-rings.lua',
  goneTalks: 'gone-talks.lua',
  goneTalkEnded: 'gone-talk-ended.lua',
  markCallback: 'mark-callback.lua',
} as const;
const lib = library(files);

export const scripts = Object.fromEntries(Object.keys(files).map((name) => [name, new RoutingFunction(name, lib)])) as {
  [K in keyof typeof files]: RoutingFunction;
};
