import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';

/**
 * The routing Lua scripts, each with common.lua prepended (claim also claim-agents.lua, the two
 * that end an agent's call end-talk.lua), run by EVALSHA with a fallback to EVAL when the
 * server does not have the script yet (after a Redis restart or SCRIPT FLUSH).
 * Scripts compute the keys they touch from a key base in ARGV[1], so they run on a single
 * Redis (or, in a cluster, only if the whole base sits in one hash slot).
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
const load = (...files: string[]) => new LuaScript(files.at(-1)!, [common, ...files.map(read)].join('\n'));

export const scripts = {
  configure: load('configure.lua'),
  agentState: load('agent-state.lua'),
  agents: load('agents.lua'),
  enqueue: load('enqueue.lua'),
  position: load('position.lua'),
  waiting: load('waiting.lua'),
  claim: load('claim-agents.lua', 'claim.lua'),
  answered: load('answered.lua'),
  ringNoAnswer: load('ring-no-answer.lua'),
  callerLeft: load('caller-left.lua'),
  callEnded: load('end-talk.lua', 'call-ended.lua'),
  wrapUpEnded: load('wrap-up-ended.lua'),
  resetCalls: load('reset-calls.lua'),
  overflow: load('overflow.lua'),
  releaseGoneRings: load('release-gone-rings.lua'),
  goneTalks: load('gone-talks.lua'),
  goneTalkEnded: load('end-talk.lua', 'gone-talk-ended.lua'),
  markCallback: load('mark-callback.lua'),
} as const;
