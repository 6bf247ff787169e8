import type { Redis } from 'ioredis';
import { z } from 'zod';
import { scripts, type RoutingFunction } from './lua-scripts.ts';
import { decodeSkills, encodeEligibility, encodeSkills, normalizeExtras } from './strategy.ts';
import {
  AgentConfigSchema,
  QueueConfigSchema,
  RoutingError,
  WaitingCallSchema,
  type AgentAction,
  type AgentConfig,
  type AgentSnapshot,
  type AgentState,
  type AgentStateChange,
  type AnsweredResult,
  type CallEndedResult,
  type CallerLeftResult,
  type GoneOwnerRingsResult,
  type GoneTalk,
  type Offer,
  type QueueConfig,
  type RingNoAnswerResult,
  type RoutingErrorCode,
  type TalkHolder,
  type WaitingCall,
} from './types.ts';

const ConfigSchema = z
  .object({ queues: z.array(QueueConfigSchema), agents: z.array(AgentConfigSchema) })
  .superRefine((cfg, ctx) => {
    const dup = (names: string[], path: string) => {
      const seen = new Set<string>();
      names.forEach((n, i) => {
        if (seen.has(n)) ctx.addIssue({ code: 'custom', path: [path, i], message: `duplicate ${n}` });
        seen.add(n);
      });
    };
    dup(cfg.queues.map((q) => q.name), 'queues');
    const names = new Set(cfg.queues.map((q) => q.name));
    cfg.queues.forEach((q, i) =>
      q.overflow.forEach((o, j) => {
        if (o.action === 'move' && (!names.has(o.queue) || o.queue === q.name)) {
          ctx.addIssue({ code: 'custom', path: ['queues', i, 'overflow', j, 'queue'], message: `overflow target ${o.queue} is not another configured queue` });
        }
      }),
    );
    dup(cfg.agents.map((a) => a.id), 'agents');
  });

interface ScriptFailure {
  error: RoutingErrorCode;
  message: string;
  state?: AgentState;
}

/**
 * Queues, agents and waiting calls in Redis, shared by every app instance. Each state change
 * is one Lua script, so two instances never race: an agent is offered one call at a time, a
 * call rings one agent (all matching agents in ring-all), and a refused change changes nothing.
 * Every key lives under `${prefix}routing:`. The client must not set ioredis' keyPrefix.
 *
 * Timers are not kept here: the caller arms ring timeout, wrap-up and max-wait as durable
 * jobs and reports back through ringNoAnswer, wrapUpEnded and callerLeft. After any result
 * that leaves an agent available or a call waiting, the caller runs claim.
 */
export class RoutingStore {
  private readonly redis: Redis;
  private readonly base: string;

  constructor(redis: Redis, prefix: string) {
    this.redis = redis;
    this.base = `${prefix}routing:`;
  }

  /**
   * Replaces queue and agent configuration; agents keep their state, counters and current
   * call. Refused (CONFIG_CONFLICT) if it would drop a ringing or talking agent, or a queue with
   * waiting calls or a ringing offer.
   */
  async configure(queues: QueueConfig[], agents: AgentConfig[], now = Date.now()): Promise<void> {
    const cfg = parse(ConfigSchema, { queues, agents });
    const payload = {
      queues: cfg.queues.map((q) => ({
        name: q.name,
        strategy: q.strategy,
        skills: q.skills.map((s) => `${s.skill}=${s.minProficiency}`).join(','),
        ring: q.ringTimeoutSeconds,
        wrap: q.wrapUpSeconds,
        maxWait: q.maxWaitSeconds,
        aging: q.agingPerMinute,
      })),
      agents: cfg.agents.map((a) => ({
        id: a.id,
        endpoint: a.endpoint,
        sk: encodeSkills(a.skills),
        elig: encodeEligibility(a, cfg.queues),
      })),
    };
    await this.json(scripts.configure, JSON.stringify(payload), now);
    // Endpoint -> agent, for presence and feature codes (one HGET instead of reading every agent).
    const ep = `${this.base}ep`;
    const m = this.redis.multi().del(ep);
    if (cfg.agents.length) m.hset(ep, Object.fromEntries(cfg.agents.map((a) => [a.endpoint, a.id])));
    await m.exec();
  }

  /** The agent whose softphone is `endpoint` (e.g. `PJSIP/agent1001`), if any. */
  async agentByEndpoint(endpoint: string): Promise<AgentSnapshot | null> {
    const id = await this.redis.hget(`${this.base}ep`, endpoint);
    return id ? this.agentState(id) : null;
  }

  async agentState(id: string): Promise<AgentSnapshot | null> {
    const rows = (await this.run(scripts.agents, id)) as string[][];
    return rows[0] ? toSnapshot(rows[0]) : null;
  }

  /**
   * Agents logged in (any state but logged_out), and agents staffing `queue`: eligible for it and
   * available, ringing, on a call or wrapping up (not paused). Counts kept as states change, so
   * this is one read however many agents there are.
   */
  async staffing(queue: string): Promise<{ loggedIn: number; staffed: number }> {
    const [loggedIn, staffed] = await this.redis.hmget(`${this.base}staff`, '#in', queue);
    return { loggedIn: Number(loggedIn ?? 0), staffed: Number(staffed ?? 0) };
  }

  /** All configured agents, sorted by id. */
  async listAgents(): Promise<AgentSnapshot[]> {
    const rows = (await this.run(scripts.agents, '')) as string[][];
    return rows.map(toSnapshot).sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  /**
   * login: logged_out -> available; logout: available | paused | wrap_up -> logged_out;
   * pause: available | wrap_up | paused -> paused(reason); unpause: paused -> available.
   * Anything else (e.g. pausing or logging out while ringing or on a call) is INVALID_TRANSITION.
   */
  async changeAgentState(id: string, action: AgentAction, reason?: string, now = Date.now()): Promise<AgentStateChange> {
    const r = (await this.json(scripts.agentState, id, action, reason ?? '', now)) as RawChange;
    return toChange(r);
  }

  /** Puts a call in its queue; position 1 is next to be served. */
  async enqueue(call: WaitingCall): Promise<{ position: number }> {
    const c = parse(WaitingCallSchema, call);
    const r = (await this.json(scripts.enqueue, c.callId, c.queue, normalizeExtras(c.skills).join(','), c.priority, c.enqueuedAt, c.owner, c.channelId ?? '')) as {
      position: number;
    };
    return { position: r.position };
  }

  /** Place in the queue's service order, or null when the call is not waiting (offered, answered, gone). */
  async position(callId: string): Promise<number | null> {
    const n = Number(await this.run(scripts.position, callId));
    return n > 0 ? n : null;
  }

  /** Waiting calls of a queue in service order (offered calls are not waiting). */
  async waiting(queue: string): Promise<WaitingCall[]> {
    const flat = (await this.run(scripts.waiting, queue)) as string[];
    const out: WaitingCall[] = [];
    for (let i = 0; i + 4 < flat.length; i += 5) {
      out.push({
        callId: flat[i]!,
        queue,
        skills: flat[i + 1] ? flat[i + 1]!.split(',') : [],
        priority: Number(flat[i + 2]),
        enqueuedAt: Number(flat[i + 3]),
        owner: flat[i + 4]!,
      });
    }
    return out;
  }

  /**
   * Offers every call that can be matched now: calls by effective priority (priority plus
   * aging), then enqueue time; each gets the best available agent with all required skills
   * by its queue's strategy, or every such agent in ring-all. The agents become ringing, the
   * calls offered. `maxCalls` bounds the calls one run offers (0: no bound); when it offered
   * that many distinct calls, run it again. Redis runs nothing else while a claim runs: matching 2,000 idle
   * agents at once takes a few hundred ms, so a caller that can face such bursts (startup,
   * a reconfigure) should pass a bound such as 100.
   *
   * `instanceId`: the claiming instance. Each offer for a caller another instance owns is then
   * pushed on its owner's list (`routing:offers:<owner>`, what OfferRelay.take reads) in the
   * same step, so it reaches the owner even if the claiming instance dies before announcing
   * it; the caller only announces (OfferRelay.announce). Without it nothing is handed over.
   */
  async claim(now: number, maxCalls = 0, instanceId?: string): Promise<Offer[]> {
    const flat = (await (instanceId ? this.run(scripts.claim, now, maxCalls, instanceId) : this.run(scripts.claim, now, maxCalls))) as string[];
    const out: Offer[] = [];
    for (let i = 0; i + 5 < flat.length; i += 6) {
      out.push({
        callId: flat[i]!,
        agentId: flat[i + 1]!,
        queue: flat[i + 2]!,
        endpoint: flat[i + 3]!,
        owner: flat[i + 4]!,
        ringTimeoutSeconds: Number(flat[i + 5]),
      });
    }
    return out;
  }

  /**
   * The agent took the call: on_call. Other agents ringing for it (ring-all) go back to
   * available and are listed in `released`. OFFER_GONE when the agent is no longer ringing for
   * it (the caller left, or another ring-all agent was first): hang up that agent's leg.
   * `held`: which instance holds the call's legs, kept on the agent while it talks (see
   * goneOwnerTalks); without it nobody ends the call if that instance dies.
   */
  async answered(callId: string, agentId: string, now = Date.now(), held?: TalkHolder): Promise<AnsweredResult> {
    const args = held ? [held.instanceId, held.legId, held.channelId ?? ''] : [];
    const r = (await this.json(scripts.answered, callId, agentId, now, ...args)) as { changes: RawChange[]; released: string[] };
    return { changes: list(r.changes).map(toChange), released: list(r.released) };
  }

  /**
   * Ring timeout: the agent is paused with reason `rona` and the call returns to its original
   * place (same priority and enqueue time) unless another agent still rings for it or it is
   * gone. A timer that fires after the agent answered changes nothing.
   */
  async ringNoAnswer(callId: string, agentId: string, now = Date.now()): Promise<RingNoAnswerResult> {
    const r = (await this.json(scripts.ringNoAnswer, callId, agentId, now)) as { changes: RawChange[]; requeued: boolean; position: number };
    return { changes: list(r.changes).map(toChange), requeued: r.requeued, position: r.position > 0 ? r.position : null };
  }

  /**
   * The caller hung up (or left the queue: timeout, callback, voicemail): the call leaves
   * routing wherever it was; agents ringing for it are available again and listed so their
   * legs can be cancelled. An agent already on the call is the caller's to end (agentCallEnded).
   */
  async callerLeft(callId: string, now = Date.now()): Promise<CallerLeftResult> {
    const r = (await this.json(scripts.callerLeft, callId, now)) as { was: CallerLeftResult['was']; changes: RawChange[]; ringingAgents: string[]; channel: string };
    return { was: r.was, channelId: r.channel || null, ringingAgents: list(r.ringingAgents), changes: list(r.changes).map(toChange) };
  }

  /**
   * Frees the agents an instance that is gone (`owner`: its last beat before `goneBefore`) left
   * ringing for its callers, once per silence, in one step with that check: rings that started
   * up to `ownRingMs` after its last beat and are not for an offer still in its list. Its
   * callback requests go back to their place, its ordinary callers leave routing (see
   * release-gone-rings.lua). Nothing when it is alive or was already swept since its last beat.
   */
  async releaseGoneOwnerRings(owner: string, goneBefore: number, ownRingMs: number, now = Date.now()): Promise<GoneOwnerRingsResult> {
    const r = (await this.json(scripts.releaseGoneRings, owner, goneBefore, ownRingMs, now)) as {
      changes: RawChange[];
      requeued: string[];
      lost: Array<{ callId: string; channel: string }>;
    };
    return { changes: list(r.changes).map(toChange), requeued: list(r.requeued), lost: list(r.lost).map((l) => ({ callId: l.callId, channelId: l.channel || null })) };
  }

  /**
   * A live instance is about to ring `agentId` for an offer it took from a gone instance's
   * list. True if the agent still rings for `callId` (false: a stale offer, to drop), and its
   * ring now counts from `now`: releaseGoneOwnerRings, which tells the gone instance's own rings
   * by when they started, leaves this one alone even in a later silence of that instance.
   */
  async adoptGoneOffer(callId: string, agentId: string, now = Date.now()): Promise<boolean> {
    const r = await this.redis.eval(
      "local v = redis.call('HMGET', KEYS[1], 'state', 'call') if v[1] ~= 'ringing' or v[2] ~= ARGV[1] then return 0 end redis.call('HSET', KEYS[1], 'since', ARGV[2]) return 1",
      1,
      `${this.base}a:${agentId}`,
      callId,
      String(now),
    );
    return r === 1;
  }

  /**
   * Agents on a call whose legs `owner` held (answered with it as holder) while it is gone
   * (its last beat before `goneBefore`); none while it beats, so a restarted owner keeps its
   * calls. Only it would have heard their legs end: the caller asks telephony whether each
   * agent's leg is still there and, once it is not, ends the talk with goneTalkEnded.
   */
  async goneOwnerTalks(owner: string, goneBefore: number): Promise<GoneTalk[]> {
    const flat = (await this.run(scripts.goneTalks, owner, goneBefore)) as string[];
    const out: GoneTalk[] = [];
    for (let i = 0; i + 3 < flat.length; i += 4) out.push({ agentId: flat[i]!, callId: flat[i + 1]!, legId: flat[i + 2]!, channelId: flat[i + 3] || null });
    return out;
  }

  /**
   * An agent of goneOwnerTalks has hung up: on_call -> wrap_up (or available) as in
   * agentCallEnded, reason instance_lost, with the caller's channel to hang up and end. Null
   * when `owner` beats again (restarted: the call is its own) or the agent is no longer on that
   * call of that owner (another instance ended it first): then nothing else is to be done.
   */
  async goneTalkEnded(owner: string, goneBefore: number, agentId: string, callId: string, now = Date.now()): Promise<(CallEndedResult & { channelId: string | null }) | null> {
    const r = (await this.json(scripts.goneTalkEnded, owner, goneBefore, agentId, callId, now)) as { wrapUpSeconds: number; changes: RawChange[]; channel: string };
    const changes = list(r.changes).map(toChange);
    return changes.length ? { wrapUpSeconds: r.wrapUpSeconds, changes, channelId: r.channel || null } : null;
  }

  /**
   * The agent's call ended: on_call -> wrap_up for the queue's wrapUpSeconds (straight to
   * available when 0); callsToday + 1 and lastCallEndedAt = now. With `callId`, only if the
   * agent is on that call (INVALID_TRANSITION otherwise): a late end never ends the next call.
   */
  async agentCallEnded(agentId: string, now: number, callId?: string): Promise<CallEndedResult> {
    const r = (await this.json(scripts.callEnded, agentId, now, callId ?? '')) as { wrapUpSeconds: number; changes: RawChange[] };
    return { wrapUpSeconds: r.wrapUpSeconds, changes: list(r.changes).map(toChange) };
  }

  /**
   * Wrap-up timer: wrap_up -> available, or null when the agent is no longer wrapping up
   * (paused or logged out meanwhile). With `callId`, only that call's wrap-up ends, so a stale
   * timer never cuts a later wrap-up short.
   */
  async wrapUpEnded(agentId: string, callId?: string, now = Date.now()): Promise<AgentStateChange | null> {
    const r = (await this.json(scripts.wrapUpEnded, agentId, callId ?? '', now)) as { changes: RawChange[] };
    const c = list(r.changes)[0];
    return c ? toChange(c) : null;
  }

  /** A new day: every agent's callsToday back to 0. */
  async resetCallsToday(now = Date.now()): Promise<void> {
    await this.run(scripts.resetCalls, now);
  }

  private run(script: RoutingFunction, ...args: Array<string | number>): Promise<unknown> {
    return script.run(this.redis, [this.base, ...args]);
  }

  /**
   * An overflow rule for a waiting call: drop its extra skills or move it to another queue,
   * keeping its enqueue time. Not applied (applied: false) when the call no longer waits.
   * `rule` (its index in the entry queue's rules), when given, is recorded as applied in the
   * same step, where callbackRequest reads it after a restart.
   */
  async overflow(callId: string, action: 'relax-skills' | 'move', target = '', rule?: number): Promise<{ applied: boolean; queue: string; position: number | null }> {
    const r = (await this.json(scripts.overflow, callId, action, target, rule ?? '')) as { applied: boolean; queue: string; position: number };
    return { applied: r.applied, queue: r.queue, position: r.position > 0 ? r.position : null };
  }

  /**
   * The caller left a callback request: the call keeps its place, and when it is offered the
   * agent is called first, then `number`. `kept` is what a restarted instance needs besides
   * (see callbackRequest); its applied overflow rules are added to those the store recorded.
   * False when the call is not waiting any more.
   */
  async markCallback(callId: string, number: string, kept: CallbackKept): Promise<boolean> {
    return Number(await this.run(scripts.markCallback, callId, number, ...keptFields(kept))) === 1;
  }

  /**
   * Updates the last sequence of a callback's record, which a restarted instance continues
   * (applied overflow rules are recorded by overflow itself). Nothing once the call has left
   * routing: the hash is not recreated.
   */
  async keepCallbackState(callId: string, kept: Pick<CallbackKept, 'seq'>): Promise<void> {
    const fields = keptFields(kept);
    if (!fields.length) return;
    await this.redis.eval("if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], unpack(ARGV)) end return 0", 1, `${this.base}c:${callId}`, ...fields);
  }

  /** The number to call back for `callId`, or null when it is an ordinary call. */
  async callbackNumber(callId: string): Promise<string | null> {
    return (await this.redis.hget(`${this.base}c:${callId}`, 'cb')) || null;
  }

  /**
   * A callback request as Redis keeps it, in one read; null when `callId` is not one. Fields a
   * request marked before they were kept are null.
   */
  async callbackRequest(callId: string): Promise<{ number: string } & { [K in keyof CallbackKept]: CallbackKept[K] | null } | null> {
    const [number, dialed, entryQueue, rules, recordId, seq, leftIn] = await this.redis.hmget(`${this.base}c:${callId}`, 'cb', ...KEPT_FIELDS);
    if (!number) return null;
    return {
      number,
      dialed: dialed ?? null,
      entryQueue: entryQueue || null,
      overflowApplied: rules == null ? null : rules.split(',').filter(Boolean).map(Number),
      recordId: recordId || null,
      seq: seq == null ? null : Number(seq),
      leftIn: leftIn || null,
    };
  }

  /** Keeps the last 50 handle times (talk + wrap-up, seconds) of a queue for wait estimates. */
  async recordHandleTime(queue: string, seconds: number): Promise<void> {
    const key = `${this.base}ht:${queue}`;
    await this.redis.multi().lpush(key, Math.round(seconds)).ltrim(key, 0, 49).exec();
  }

  /** Mean of the recent handle times of a queue, or null with no history yet. */
  async recentHandleTime(queue: string): Promise<number | null> {
    const xs = (await this.redis.lrange(`${this.base}ht:${queue}`, 0, -1)).map(Number).filter((n) => Number.isFinite(n));
    return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null;
  }

  private async json(script: RoutingFunction, ...args: Array<string | number>): Promise<unknown> {
    const r = JSON.parse(String(await this.run(script, ...args))) as Partial<ScriptFailure>;
    if (r.error) throw new RoutingError(r.error, r.message ?? r.error, r.state);
    return r;
  }
}

/**
 * What a callback request keeps in its call's hash beside its number (`cb`), so a restarted
 * instance rebuilds it as it was: the dialed number, the queue it entered (whose overflow rules
 * apply), the indexes of those rules already applied, its own record and that record's last
 * event sequence (0: not started), and the queue it was left in (whose callbackRetry applies).
 */
export interface CallbackKept {
  dialed: string;
  entryQueue: string;
  overflowApplied: readonly number[];
  recordId: string;
  seq: number;
  leftIn: string;
}

/**
 * Field names of CallbackKept in the call's hash, in its order. Besides markCallback's script,
 * only overflow.lua writes one: cbRules, as it applies a rule.
 */
const KEPT_FIELDS = ['cbDialed', 'cbEntry', 'cbRules', 'cbRecord', 'cbSeq', 'cbLeftIn'] as const;

function keptFields(k: Partial<CallbackKept>): string[] {
  const values = [k.dialed, k.entryQueue, k.overflowApplied?.join(','), k.recordId, k.seq === undefined ? undefined : String(k.seq), k.leftIn];
  return values.flatMap((v, i) => (v === undefined ? [] : [KEPT_FIELDS[i]!, v]));
}

interface RawChange {
  agentId: string;
  from: AgentState;
  to: AgentState;
  reason: string;
  at: number;
}

/** Lua's cjson writes an empty list as `{}`. */
function list<T>(v: T[] | Record<string, never> | undefined): T[] {
  return Array.isArray(v) ? v : [];
}

function toChange(c: RawChange): AgentStateChange {
  return { agentId: c.agentId, from: c.from, to: c.to, reason: c.reason || null, at: c.at };
}

function toSnapshot(row: string[]): AgentSnapshot {
  const h: Record<string, string> = {};
  for (let i = 0; i + 1 < row.length; i += 2) h[row[i]!] = row[i + 1]!;
  return {
    id: h.id!,
    endpoint: h.endpoint ?? '',
    skills: decodeSkills(h.sk ?? ''),
    state: h.state as AgentState,
    pauseReason: h.state === 'paused' && h.reason ? h.reason : null,
    lastCallEndedAt: Number(h.lastEnd ?? 0),
    callsToday: Number(h.calls ?? 0),
    currentCallId: h.call || null,
    currentQueue: h.queue || null,
    stateSince: Number(h.since ?? 0),
  };
}

function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  throw new RoutingError('INVALID_INPUT', `${issue.path.join('.') || '(root)'}: ${issue.message}`);
}
