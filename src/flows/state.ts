import type { CallEventType } from '../domain/call-event.ts';
import type { Flow, Language } from './schema.ts';

export type VarValue = string | number | boolean;

/** Where a subflow returns to. */
export interface Frame {
  readonly flowId: string;
  readonly version: number;
  readonly next: string;
}

/** What the current node waits for; anything else that arrives is stale or ignored. */
export type Phase =
  | { readonly kind: 'idle' }
  | { readonly kind: 'playing'; readonly playbackId: string; readonly then: 'advance' | 'listen' | 'record' | 'transfer' | 'hangup' }
  | { readonly kind: 'listening'; readonly timer: string }
  | { readonly kind: 'http'; readonly requestId: string }
  | { readonly kind: 'recording'; readonly name: string }
  /** Waiting in a queue (hold music), then talking to an agent. */
  | { readonly kind: 'queued'; readonly announcement?: string }
  /** Asked routing to turn the wait into a callback request; waiting for its answer. */
  | { readonly kind: 'callback' }
  | { readonly kind: 'connected'; readonly agentId: string }
  | { readonly kind: 'leaving' }
  | { readonly kind: 'ended' };

export interface FlowState {
  readonly callId: string;
  readonly flowId: string;
  readonly version: number;
  readonly node: string;
  readonly language: Language;
  readonly vars: Readonly<Record<string, VarValue>>;
  readonly stack: readonly Frame[];
  readonly phase: Phase;
  /** Retries used at the current node (menu, gather, survey). */
  readonly retries: number;
  /** Digits collected by the current gather. */
  readonly digits: string;
  /**
   * Keys pressed while the flow waited for an HTTP answer (type-ahead), oldest first. They
   * are fed to the next menu, gather or survey as if pressed there; a node that hands the call
   * elsewhere (queue, transfer, voicemail, hang-up) drops them.
   */
  readonly typeAhead: string;
  /** Counter for unique playback, timer and request ids. */
  readonly seq: number;
  /** Node names visited, in order (capped), for the call record and the simulator. */
  readonly path: readonly string[];
}

export type FlowInput =
  | { readonly type: 'started' }
  | { readonly type: 'playback.finished'; readonly playbackId: string }
  | { readonly type: 'dtmf'; readonly digit: string }
  | { readonly type: 'timer.fired'; readonly name: string }
  | { readonly type: 'http.result'; readonly requestId: string; readonly ok: boolean; readonly status: number; readonly body: unknown }
  | { readonly type: 'recording.finished'; readonly name: string; readonly ok: boolean; readonly seconds: number }
  | { readonly type: 'queue.joined'; readonly position: number }
  | { readonly type: 'queue.unavailable'; readonly reason: string }
  | { readonly type: 'queue.connected'; readonly agentId: string }
  | { readonly type: 'queue.agent_left' }
  | { readonly type: 'queue.timeout' }
  /** Time to tell the waiting caller their place and estimated wait (null: no estimate). */
  | { readonly type: 'queue.announce'; readonly position: number; readonly ewtSeconds: number | null }
  | { readonly type: 'queue.callback'; readonly ok: boolean; readonly reason?: string }
  | { readonly type: 'hungup'; readonly cause: string }
  | { readonly type: 'command.failed'; readonly command: FlowCommand['type']; readonly error: string };

export type FlowCommand =
  | { readonly type: 'Answer' }
  | { readonly type: 'PlayPrompt'; readonly playbackId: string; readonly media: readonly string[] }
  | { readonly type: 'StopPlayback'; readonly playbackId: string }
  | { readonly type: 'StartTimer'; readonly name: string; readonly ms: number }
  | { readonly type: 'CancelTimer'; readonly name: string }
  | { readonly type: 'HttpRequest'; readonly requestId: string; readonly service: string; readonly path: string; readonly timeoutMs: number }
  | { readonly type: 'RecordMessage'; readonly name: string; readonly maxSeconds: number }
  | { readonly type: 'SendSms'; readonly to: string; readonly template: string; readonly variables: Readonly<Record<string, VarValue>> }
  | { readonly type: 'Transfer'; readonly number: string }
  | {
      readonly type: 'Enqueue';
      readonly queue: string;
      readonly skills: readonly string[];
      readonly priority: number;
      readonly mohClass: string;
    }
  | { readonly type: 'LeaveQueue'; readonly reason: 'exit' | 'timeout' }
  /** Hold music back on after an announcement / off before one. */
  | { readonly type: 'StartHold'; readonly mohClass: string }
  | { readonly type: 'StopHold' }
  /** The caller's wait becomes a callback request that keeps their place. */
  | { readonly type: 'RequestCallback' }
  | { readonly type: 'Hangup' }
  | { readonly type: 'RecordEvent'; readonly event: CallEventType; readonly data: Record<string, unknown> };

/** Immutable flows by id and version: a running call keeps the version it started with. */
export interface FlowResolver {
  get(id: string, version: number): Flow | undefined;
  /** The live version of a flow, for subflow / goto entered during a call. */
  active(id: string): Flow | undefined;
}

export interface StepResult {
  readonly state: FlowState;
  readonly commands: readonly FlowCommand[];
}
