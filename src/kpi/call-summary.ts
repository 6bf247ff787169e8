/**
 * One call's summary (the `calls` row), folded from its events one at a time so the row can be
 * upserted as events arrive: `foldCallEvent(row, event)` is the whole contract. The summary is
 * plain JSON (no Dates, Maps or classes) so it round-trips through a jsonb column or a cache.
 *
 * Events must be folded in `seq` order; one whose `seq` is not above `lastSeq` is ignored, so a
 * redelivered event (at-least-once pipelines) leaves the row unchanged. A late event below
 * `lastSeq` would be lost the same way: a consumer that sees one re-folds the call from its
 * stored events (`summarizeCall`).
 *
 * Time is split into three buckets by the call's phase: IVR (the flow is talking to the caller),
 * queued (from queue.joined until answered, left or hung up) and talking (from agent.answered
 * until bridge.ended or the hang-up). A bucket grows when the call leaves that phase, so a call
 * still in progress shows only its finished stretches.
 *
 * A callback has its own record (call.started with `direction: 'callback'`): agent.answered
 * names the agent, callback.connected is when the customer picked up and talk begins.
 */

/**
 * The fold reads events structurally: any `CallEvent` fits, and so do types not yet in the
 * `CallEventType` union (`callback.requested`, `callback.completed`).
 */
export interface FoldableEvent {
  readonly callId: string;
  readonly seq: number;
  readonly type: string;
  /** ISO-8601 timestamp. */
  readonly at: string;
  readonly data: Readonly<Record<string, unknown>>;
}

export type CallPhase = 'ivr' | 'queued' | 'talking' | 'ended';

/**
 * How the call ended, from the centre's point of view, first match wins: `answered` (an agent
 * took it), `abandoned` (the caller hung up while queued), `transferred` (sent to an external
 * number), `queue_<reason>` (left the queue unanswered: exit, timeout, unavailable, dropped by the
 * system, ...), `not_queued` (asked for an agent, ended before joining a queue), `contained`
 * (never asked for an agent); a callback record is `answered` or `not_connected`. `in_progress`
 * until call.ended.
 */
export type Disposition = 'in_progress' | 'answered' | 'abandoned' | 'transferred' | 'not_queued' | 'contained' | 'not_connected' | `queue_${string}`;

export interface NodeVisit {
  readonly flow: string;
  readonly version: number;
  readonly node: string;
  readonly type: string;
}

export interface SurveyAnswer {
  readonly question: string;
  readonly score: number;
  readonly scale: number;
}

export interface CallSummary {
  readonly callId: string;
  /** Highest `seq` folded in; older or repeated events are ignored. */
  readonly lastSeq: number;
  /** `callback` for a callback's own record; inbound-call KPIs leave those out. */
  readonly direction: 'inbound' | 'callback';
  readonly caller: string | null;
  readonly dialed: string | null;
  /** The flow the call entered first, and its version. */
  readonly flow: string | null;
  readonly flowVersion: number | null;
  readonly startedAt: string | null;
  readonly endedAt: string | null;
  /** The first key chosen in a menu marked `firstLevel`. */
  readonly firstLevelKey: string | null;
  /** Time in the flow; for a callback record, the time before the customer picked up. */
  readonly ivrSeconds: number;
  /** Ended without asking for an agent; null while the call is in progress. */
  readonly containedInIvr: boolean | null;
  /** A queue node was entered (queue.requested). */
  readonly agentRequested: boolean;
  /** The call joined a queue (queue.joined); `unavailable` requests never do. */
  readonly reachedQueue: boolean;
  /** The last queue requested: the one that answered, lost or still holds the call. */
  readonly queue: string | null;
  readonly queuedAt: string | null;
  /** `answered` once an agent took the call, else the last queue's result: abandoned, exit, timeout, unavailable, dropped. */
  readonly queueOutcome: string | null;
  /** Total time queued, over every queue the call joined. */
  readonly waitSeconds: number;
  readonly offers: number;
  readonly ronas: number;
  readonly agentId: string | null;
  readonly answeredAt: string | null;
  readonly talkEndedAt: string | null;
  readonly talkSeconds: number;
  /** No hold event is recorded yet, so this stays 0; kept so AHT has its documented shape. */
  readonly holdSeconds: number;
  /** From the agent's wrap_up interval (see `attachWrapUp`); null when not known. */
  readonly wrapUpSeconds: number | null;
  readonly disposition: Disposition;
  /** The call entered a survey node. */
  readonly surveyOffered: boolean;
  readonly surveyAnswers: readonly SurveyAnswer[];
  /** Transfers to an external number (call.transferred). */
  readonly transfersOut: number;
  /**
   * Times the caller went back into the IVR after an agent hung up: the first node after the
   * agent that takes the caller's input is a menu, gather or voicemail (a survey is the usual
   * post-call path, a queue is another agent; plumbing and prompts in between do not count).
   */
  readonly transfersToIvr: number;
  readonly callbacksRequested: number;
  readonly callbacksCompleted: number;
  /** call.ended's cause: caller_hangup, hangup:<code>, completed, transferred, ... */
  readonly hangupCause: string | null;
  /** Nodes entered, in order (at most MAX_PATH; a looping call keeps its first visits). */
  readonly path: readonly NodeVisit[];
  readonly phase: CallPhase;
  readonly phaseSince: string | null;
  /** An agent hung up and the caller has not reached a node that takes input since. */
  readonly backFromAgent: boolean;
}

export const MAX_PATH = 500;

/** Node types that wait for the caller; the first one after an agent says where the call went. */
const INPUT_NODES = new Set(['menu', 'gather', 'voicemail', 'survey', 'queue']);
const IVR_INPUT_NODES = new Set(['menu', 'gather', 'voicemail']);

export function emptySummary(callId: string): CallSummary {
  return {
    callId,
    lastSeq: 0,
    direction: 'inbound',
    caller: null,
    dialed: null,
    flow: null,
    flowVersion: null,
    startedAt: null,
    endedAt: null,
    firstLevelKey: null,
    ivrSeconds: 0,
    containedInIvr: null,
    agentRequested: false,
    reachedQueue: false,
    queue: null,
    queuedAt: null,
    queueOutcome: null,
    waitSeconds: 0,
    offers: 0,
    ronas: 0,
    agentId: null,
    answeredAt: null,
    talkEndedAt: null,
    talkSeconds: 0,
    holdSeconds: 0,
    wrapUpSeconds: null,
    disposition: 'in_progress',
    surveyOffered: false,
    surveyAnswers: [],
    transfersOut: 0,
    transfersToIvr: 0,
    callbacksRequested: 0,
    callbacksCompleted: 0,
    hangupCause: null,
    path: [],
    phase: 'ivr',
    phaseSince: null,
    backFromAgent: false,
  };
}

/** Folds a whole call; events may come in any order (they are sorted by seq). */
export function summarizeCall(events: readonly FoldableEvent[]): CallSummary | null {
  if (events.length === 0) return null;
  const sorted = [...events].sort((a, b) => a.seq - b.seq);
  return sorted.reduce<CallSummary>((s, e) => foldCallEvent(s, e), emptySummary(sorted[0]!.callId));
}

/** Groups events by call and folds each call. */
export function summarizeCalls(events: readonly FoldableEvent[]): CallSummary[] {
  const byCall = new Map<string, FoldableEvent[]>();
  for (const e of events) {
    const list = byCall.get(e.callId);
    if (list) list.push(e);
    else byCall.set(e.callId, [e]);
  }
  return [...byCall.values()].map((list) => summarizeCall(list)!);
}

/** Applies one event. Pure: returns a new summary, or the same one when the event is stale. */
export function foldCallEvent(prev: CallSummary, e: FoldableEvent): CallSummary {
  if (e.seq <= prev.lastSeq) return prev;
  const s: Mutable<CallSummary> = { ...prev, lastSeq: e.seq };
  s.startedAt ??= e.at;
  s.phaseSince ??= e.at;
  const d = e.data;
  switch (e.type) {
    case 'call.started':
      if (d.direction === 'callback') s.direction = 'callback';
      s.caller ??= str(d.caller);
      s.dialed ??= str(d.dialed);
      s.flow ??= str(d.flow);
      s.flowVersion ??= num(d.version);
      s.queue ??= str(d.queue);
      break;
    case 'flow.started':
      s.flow ??= str(d.flow);
      s.flowVersion ??= num(d.version);
      break;
    case 'flow.node_entered': {
      const type = str(d.type) ?? '';
      if (s.path.length < MAX_PATH) s.path = [...s.path, { flow: str(d.flow) ?? '', version: num(d.version) ?? 0, node: str(d.node) ?? '', type }];
      if (type === 'survey') s.surveyOffered = true;
      if (s.backFromAgent && INPUT_NODES.has(type)) {
        if (IVR_INPUT_NODES.has(type)) s.transfersToIvr += 1;
        s.backFromAgent = false;
      }
      break;
    }
    case 'menu.selected':
      if (d.firstLevel === true && s.firstLevelKey === null) s.firstLevelKey = str(d.digit);
      break;
    case 'queue.requested':
      s.agentRequested = true;
      s.queue = str(d.queue) ?? s.queue;
      break;
    case 'queue.joined':
      if (s.phase !== 'ivr') break;
      s.reachedQueue = true;
      s.queuedAt ??= e.at;
      s.queue = str(d.queue) ?? s.queue;
      enter(s, 'queued', e.at);
      break;
    case 'agent.offered':
      s.offers += 1;
      break;
    case 'agent.rona':
      s.ronas += 1;
      break;
    case 'agent.answered':
      if (s.direction === 'callback') s.agentId = str(d.agentId) ?? s.agentId;
      else answer(s, e);
      break;
    case 'callback.connected':
      if (s.direction !== 'callback' || s.phase !== 'ivr' || s.answeredAt !== null) break;
      s.agentId = str(d.agentId) ?? s.agentId;
      s.answeredAt = e.at;
      enter(s, 'talking', e.at);
      break;
    case 'queue.left':
      if (d.reason === 'answered') answer(s, e);
      else {
        if (s.phase === 'queued') enter(s, 'ivr', e.at);
        if (s.queueOutcome !== 'answered') s.queueOutcome = str(d.reason) ?? 'left';
      }
      break;
    case 'bridge.ended':
      if (s.phase !== 'talking') break;
      s.talkEndedAt = e.at;
      s.backFromAgent = true;
      enter(s, 'ivr', e.at);
      break;
    case 'survey.answered': {
      const score = num(d.score);
      if (score !== null) s.surveyAnswers = [...s.surveyAnswers, { question: str(d.question) ?? '', score, scale: num(d.scale) ?? 5 }];
      break;
    }
    case 'call.transferred':
      s.transfersOut += 1;
      break;
    case 'callback.requested':
      s.callbacksRequested += 1;
      break;
    case 'callback.completed':
      s.callbacksCompleted += 1;
      break;
    case 'call.ended':
      end(s, e);
      break;
  }
  return s;
}

/** The caller hung up, or the line was lost by the system (restart, outage, shutdown, error)? */
export function isCallerHangup(cause: string | null): boolean {
  return cause === 'caller_hangup' || (cause?.startsWith('hangup:') ?? false);
}

/** Causes where the system, not the caller or the flow, lost the call (dispatcher, outage, runner, a gone instance). */
export const SYSTEM_LOSS_CAUSES: readonly string[] = ['app_restarted', 'lost_during_outage', 'instance_lost', 'shutdown', 'error'];

export function isSystemLoss(cause: string | null): boolean {
  return cause !== null && SYSTEM_LOSS_CAUSES.includes(cause);
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Closes the current phase's stretch into its bucket and starts `next` at `at`. */
function enter(s: Mutable<CallSummary>, next: CallPhase, at: string): void {
  const elapsed = Math.max(0, (Date.parse(at) - Date.parse(s.phaseSince ?? at)) / 1000);
  if (s.phase === 'ivr') s.ivrSeconds += elapsed;
  else if (s.phase === 'queued') s.waitSeconds += elapsed;
  else if (s.phase === 'talking') s.talkSeconds += elapsed;
  s.phase = next;
  s.phaseSince = at;
}

/** agent.answered and queue.left(answered) both mean the bridge is up; the first one counts. */
function answer(s: Mutable<CallSummary>, e: FoldableEvent): void {
  if (s.phase !== 'queued') return;
  s.agentId = str(e.data.agentId) ?? s.agentId;
  s.answeredAt ??= e.at;
  s.queueOutcome = 'answered';
  s.queue = str(e.data.queue) ?? s.queue;
  enter(s, 'talking', e.at);
}

function end(s: Mutable<CallSummary>, e: FoldableEvent): void {
  if (s.phase === 'ended') return;
  const cause = str(e.data.cause);
  if (s.phase === 'queued' && s.queueOutcome !== 'answered') s.queueOutcome = isCallerHangup(cause) ? 'abandoned' : 'dropped';
  if (s.phase === 'talking') s.talkEndedAt = e.at;
  enter(s, 'ended', e.at);
  s.endedAt = e.at;
  s.hangupCause = cause;
  s.containedInIvr = s.direction === 'inbound' ? !s.agentRequested : false;
  s.backFromAgent = false;
  s.disposition = disposition(s);
}

function disposition(s: CallSummary): Disposition {
  if (s.answeredAt !== null) return 'answered';
  if (s.direction === 'callback') return 'not_connected';
  if (s.queueOutcome === 'abandoned') return 'abandoned';
  if (s.transfersOut > 0) return 'transferred';
  if (s.queueOutcome !== null) return `queue_${s.queueOutcome}`;
  if (s.agentRequested) return 'not_queued';
  return 'contained';
}

function str(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}
