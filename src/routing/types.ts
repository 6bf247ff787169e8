import { z } from 'zod';

/**
 * Routing's own vocabulary: queue and agent configuration (validated with zod at the edge,
 * so the HTTP API and the config files can reuse the schemas), the state kept in Redis, and
 * what the store's operations return.
 */

/** Same shape as the flow schema's queue and skill names, so a flow's queue node always fits. */
const Name = z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/, 'names are lower-case letters, digits, _ and -, at most 32 characters');

/** Proficiency scale for agent skills and queue minimums. */
export const MAX_PROFICIENCY = 5;
const Proficiency = z.number().int().min(1).max(MAX_PROFICIENCY);

export const STRATEGIES = ['longest-idle', 'fewest-calls', 'most-skilled', 'ring-all'] as const;
export type Strategy = (typeof STRATEGIES)[number];

export const QueueConfigSchema = z.strictObject({
  name: Name,
  skills: z.array(z.strictObject({ skill: Name, minProficiency: Proficiency })).max(20),
  strategy: z.enum(STRATEGIES),
  ringTimeoutSeconds: z.number().int().min(1).max(600),
  wrapUpSeconds: z.number().int().min(0).max(3600),
  maxWaitSeconds: z.number().int().min(1).max(86_400),
  /** Priority points a caller gains per minute of waiting, so nobody starves; 0 turns aging off. */
  agingPerMinute: z.number().min(0).max(100),
  /**
   * Service level threshold T of this queue (answered within T s); absent: SERVICE_LEVEL_SECONDS.
   * Reports, rollups and live stats count each call with its queue's T.
   */
  serviceLevelSeconds: z.number().int().min(1).max(3600).optional(),
  /** A caller who hangs up after waiting less than this is a short abandon; absent: SHORT_ABANDON_SECONDS. */
  shortAbandonSeconds: z.number().int().min(0).max(600).optional(),
  /** What the waiting caller hears between stretches of hold music. */
  announce: z
    .strictObject({
      position: z.boolean(),
      estimatedWait: z.boolean(),
      /** Repeat every N seconds after the first announcement on joining. */
      everySeconds: z.number().int().min(10).max(600),
    })
    .default({ position: true, estimatedWait: true, everySeconds: 30 }),
  /**
   * Applied in order as the call waits: after `afterSeconds`, either drop the caller's extra
   * skills (e.g. a language) or move the call to `queue`, keeping its enqueue time (its place).
   */
  overflow: z
    .array(
      z.discriminatedUnion('action', [
        z.strictObject({ afterSeconds: z.number().int().min(1).max(86_400), action: z.literal('relax-skills') }),
        z.strictObject({ afterSeconds: z.number().int().min(1).max(86_400), action: z.literal('move'), queue: Name }),
      ]),
    )
    .max(5)
    .default([]),
  /**
   * Callers waiting in this queue may leave a callback request that keeps their place (the
   * flow's callback key offers it), whichever queue they entered.
   */
  callback: z.boolean().default(true),
  /**
   * A callback the caller does not answer (busy, no answer, or the agent gave up first) is
   * tried again `retrySeconds` later (a durable timer), keeping the caller's place, until
   * `maxAttempts` attempts failed; then it is abandoned. Absent: 3 attempts, 120 s apart.
   * It applies to the requests left in this queue, also after overflow moves them elsewhere.
   */
  callbackRetry: z.strictObject({ maxAttempts: z.number().int().min(1).max(10), retrySeconds: z.number().int().min(1).max(86_400) }).optional(),
  /** Join even when no agent is logged in (otherwise the caller hears an apology at once). */
  joinWhenEmpty: z.boolean().default(false),
});
export type QueueConfig = z.infer<typeof QueueConfigSchema>;

export const AgentConfigSchema = z.strictObject({
  /** Also used inside Redis keys and comma-separated lists: no commas or spaces. */
  id: z.string().regex(/^[A-Za-z0-9_.@-]{1,64}$/, 'agent ids are letters, digits and _.@- only'),
  /** Where an offer is originated, e.g. `PJSIP/agent1001`. */
  endpoint: z.string().min(1).max(200),
  /** Skill name -> proficiency 1..5. */
  skills: z.record(Name, Proficiency),
});
export type AgentConfig = z.infer<typeof AgentConfigSchema>;

export const WaitingCallSchema = z.strictObject({
  callId: z.string().min(1).max(200),
  queue: Name,
  /** Skills needed beyond the queue's own (e.g. a language), at any proficiency >= 1. */
  skills: z.array(Name).max(10),
  /** 0..10; a VIP tier raises it. */
  priority: z.number().int().min(0).max(10),
  /** Epoch milliseconds; kept through ring-no-answer so the call returns to its place. */
  enqueuedAt: z.number().int().min(0).max(1e15),
  /** App instance that owns the caller's channel (and so originates the agent leg). */
  owner: z.string().max(200),
  /**
   * The caller's channel (none for a callback request): when its owner is gone, the instance
   * that finds the caller orphaned ends the call's record under this channel's registration.
   */
  channelId: z.string().max(200).optional(),
});
export type WaitingCall = z.infer<typeof WaitingCallSchema>;

export const AGENT_STATES = ['logged_out', 'available', 'ringing', 'on_call', 'wrap_up', 'paused'] as const;
export type AgentState = (typeof AGENT_STATES)[number];

export type AgentAction = 'login' | 'logout' | 'pause' | 'unpause';

export interface AgentSnapshot {
  readonly id: string;
  readonly endpoint: string;
  readonly skills: Record<string, number>;
  readonly state: AgentState;
  /** Set only while paused, e.g. `rona` after a ring-no-answer. */
  readonly pauseReason: string | null;
  /** Epoch ms of the last call's end; 0 when none yet. */
  readonly lastCallEndedAt: number;
  readonly callsToday: number;
  /** The call offered (ringing), talked (on_call) or wrapped up (wrap_up). */
  readonly currentCallId: string | null;
  readonly currentQueue: string | null;
  /** When the agent entered the current state (epoch ms). */
  readonly stateSince: number;
}

/** Everything an agent.state_changed event needs. */
export interface AgentStateChange {
  readonly agentId: string;
  readonly from: AgentState;
  readonly to: AgentState;
  readonly reason: string | null;
  readonly at: number;
}

/** One (call, agent) pair from claim: originate to `endpoint` and ring for `ringTimeoutSeconds`. */
export interface Offer {
  readonly callId: string;
  readonly agentId: string;
  readonly queue: string;
  readonly endpoint: string;
  /** The app instance that owns the caller's channel. */
  readonly owner: string;
  readonly ringTimeoutSeconds: number;
}

export interface AnsweredResult {
  readonly changes: readonly AgentStateChange[];
  /** Other agents that were ringing for the call (ring-all): hang up their legs. */
  readonly released: readonly string[];
}

export interface RingNoAnswerResult {
  readonly changes: readonly AgentStateChange[];
  /** The call is waiting again at its original place (false: another agent still rings, or it is gone). */
  readonly requeued: boolean;
  readonly position: number | null;
}

export interface CallerLeftResult {
  /** Where the call was: waiting, offered (agents ringing) or already gone (answered or removed). */
  readonly was: 'waiting' | 'offered' | 'gone';
  /** The caller's channel as enqueued; null for a callback request or a call that was gone. */
  readonly channelId: string | null;
  /** Agents that were ringing for the call, now available again: cancel their legs at once. */
  readonly ringingAgents: readonly string[];
  readonly changes: readonly AgentStateChange[];
}

/** What releaseGoneOwnerRings freed of an instance that is gone. */
export interface GoneOwnerRingsResult {
  /** The agents that were ringing for its callers, now available. */
  readonly changes: readonly AgentStateChange[];
  /** Its callback requests, back in their place for the next claim. */
  readonly requeued: readonly string[];
  /** Its ordinary callers, out of routing, with their channel as enqueued (null: none kept) for their instance_lost end. */
  readonly lost: ReadonlyArray<{ readonly callId: string; readonly channelId: string | null }>;
}

/**
 * Where the legs of a call an agent answers are: kept on the agent while on the call, so that
 * if `instanceId` dies the others can end the call once the agent has hung up (goneOwnerTalks).
 */
export interface TalkHolder {
  readonly instanceId: string;
  /** The agent's leg: while it exists the agent is still on the call. */
  readonly legId: string;
  /** The caller's channel (null for a callback, which has none). */
  readonly channelId: string | null;
}

/** An agent on a call whose legs an instance that is gone held (goneOwnerTalks). */
export interface GoneTalk {
  readonly agentId: string;
  readonly callId: string;
  readonly legId: string;
  readonly channelId: string | null;
}

export interface CallEndedResult {
  /** 0 means the agent is available at once; otherwise call wrapUpEnded after this long. */
  readonly wrapUpSeconds: number;
  readonly changes: readonly AgentStateChange[];
}

export const ROUTING_ERROR_STATUS = {
  INVALID_INPUT: 400,
  UNKNOWN_AGENT: 404,
  UNKNOWN_QUEUE: 404,
  INVALID_TRANSITION: 409,
  CALL_EXISTS: 409,
  OFFER_GONE: 409,
  CONFIG_CONFLICT: 409,
} as const;
export type RoutingErrorCode = keyof typeof ROUTING_ERROR_STATUS;

/** A refused routing operation; nothing was changed. `status` is the HTTP status it maps to. */
export class RoutingError extends Error {
  readonly code: RoutingErrorCode;
  readonly status: number;
  /** The agent's state when the code is INVALID_TRANSITION or OFFER_GONE. */
  readonly state: AgentState | undefined;

  constructor(code: RoutingErrorCode, message: string, state?: AgentState) {
    super(message);
    this.name = 'RoutingError';
    this.code = code;
    this.status = ROUTING_ERROR_STATUS[code];
    this.state = state;
  }
}
