/**
 * The append-only record of what happened on a call. `id` is unique so writes are idempotent;
 * `seq` orders one call's events. Types are past tense; `data` is the type's payload.
 */
export type CallEventType =
  | 'call.started'
  | 'number.unknown'
  | 'flow.started'
  | 'flow.node_entered'
  | 'flow.error'
  | 'prompt.played'
  | 'dtmf'
  | 'digit.timeout'
  | 'menu.selected'
  | 'menu.invalid'
  | 'menu.timeout'
  | 'gather.completed'
  | 'gather.invalid'
  | 'gather.timeout'
  | 'survey.answered'
  | 'survey.invalid'
  | 'survey.timeout'
  | 'node.exhausted'
  | 'schedule.evaluated'
  | 'language.changed'
  | 'http.completed'
  | 'queue.requested'
  | 'queue.joined'
  | 'queue.position_announced'
  | 'queue.overflowed'
  | 'callback.requested'
  | 'callback.refused'
  | 'callback.dialing'
  | 'callback.connected'
  | 'callback.completed'
  | 'callback.failed'
  | 'callback.attempt_failed'
  | 'callback.retry_scheduled'
  | 'callback.abandoned'
  | 'queue.left'
  | 'bridge.ended'
  | 'agent.offered'
  | 'agent.rona'
  | 'agent.answered'
  | 'agent.state_changed'
  | 'call.transferred'
  | 'voicemail.recorded'
  | 'sms.requested'
  | 'call.ended';

export interface CallEvent {
  readonly id: string;
  readonly callId: string;
  readonly seq: number;
  readonly type: CallEventType;
  /** ISO-8601 timestamp. */
  readonly at: string;
  readonly data: Readonly<Record<string, unknown>>;
}

/** Why a call ended, as recorded in call.ended. Asterisk's causes are kept as `hangup:<code>`. */
export type EndCause =
  | 'caller_hangup'
  | 'completed'
  | 'not_in_service'
  | 'app_restarted'
  | 'lost_during_outage'
  /** The instance that owned the caller's channel stopped beating (crashed for good, scaled away); another one ended the record. */
  | 'instance_lost'
  | 'shutdown'
  | 'error';
