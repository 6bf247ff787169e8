import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import type { CallSummary } from '../kpi/call-summary.ts';
import { LuaScript } from '../routing/lua-scripts.ts';
import type { LiveCallState, LivePhase } from './live-call.ts';

const apply = new LuaScript('live-apply.lua', readFileSync(new URL('./lua/live-apply.lua', import.meta.url), 'utf8'));

/** A call's record outlives it long enough for late events and a restart's reconcile. */
const CALL_TTL_S = 2 * 86_400;
/** Day hashes are kept a week: yesterday's figures stay readable for a while. */
const DAY_TTL_S = 8 * 86_400;
/** A phase entry not touched for this long is a call lost without call.ended (no call idles this long). */
export const STALE_PHASE_MS = 12 * 3_600_000;

const PHASES: readonly LivePhase[] = ['ivr', 'queued', 'talking'];

/**
 * The live figures in Redis, shared by every app instance, under `<prefix>live:`:
 * `day:<YYYY-MM-DD>` (hash of today's counters, `<queue>|<count>` -> n), `phase:<phase>`
 * (sorted sets of calls by last change), `call:<id>` (a call's contribution and summary), and
 * the pub/sub channel `changed`, which every change is announced on so each instance refreshes
 * its view (and pushes it to its WebSocket clients) without polling.
 */
export class LiveStore {
  private readonly redis: Redis;
  private readonly base: string;
  readonly channel: string;

  constructor(redis: Redis, prefix: string) {
    this.redis = redis;
    this.base = `${prefix}live:`;
    this.channel = `${this.base}changed`;
  }

  /** Replaces the call's contribution with `state` (one Lua script) and announces the change. */
  async apply(callId: string, summary: CallSummary, state: LiveCallState, now: number): Promise<void> {
    await apply.run(this.redis, [
      this.base,
      callId,
      state.day,
      state.phase ?? '',
      JSON.stringify(state.counts),
      JSON.stringify(summary),
      now,
      CALL_TTL_S,
      DAY_TTL_S,
      now - STALE_PHASE_MS,
    ]);
  }

  /** The call's summary as last applied (another process, or this one before a restart), if any. */
  async loadCall(callId: string): Promise<CallSummary | null> {
    const json = await this.redis.hget(`${this.base}call:${callId}`, 'summary');
    return json ? (JSON.parse(json) as CallSummary) : null;
  }

  /** Announces a change that has no counter of its own (an agent's state, a routing change). */
  async announce(subject: string): Promise<void> {
    await this.redis.publish(this.channel, subject);
  }

  /** The day's counters and the calls per phase (stale entries left out), read together. */
  async readDay(day: string, now: number): Promise<{ counters: Record<string, string>; phases: Record<LivePhase, number> }> {
    const m = this.redis.multi().hgetall(`${this.base}day:${day}`);
    for (const p of PHASES) m.zcount(`${this.base}phase:${p}`, now - STALE_PHASE_MS, '+inf');
    const res = (await m.exec()) ?? [];
    for (const [err] of res) if (err) throw err;
    const counters = (res[0]?.[1] ?? {}) as Record<string, string>;
    const phases = Object.fromEntries(PHASES.map((p, i) => [p, Number(res[i + 1]?.[1] ?? 0)])) as Record<LivePhase, number>;
    return { counters, phases };
  }
}
