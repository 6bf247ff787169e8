/**
 * An event that belongs to no call: an agent's state change, a routing configuration change.
 * `subject` names what it is about (`agent:agent1001`, `queue:general`); `id` makes writes
 * idempotent, as for call events.
 */
export type OpsEventType = 'agent.state_changed' | 'routing.queue_changed' | 'routing.agent_changed' | 'routing.queue_removed' | 'routing.agent_removed' | 'emergency.started' | 'emergency.ended';

export interface OpsEvent {
  readonly id: string;
  readonly type: OpsEventType;
  /** ISO-8601 timestamp. */
  readonly at: string;
  readonly subject: string;
  readonly data: Readonly<Record<string, unknown>>;
}

/** Where producers (routing, the admin API) hand their ops events; write-behind to Postgres. */
export interface OpsEventSink {
  append(event: OpsEvent): void;
}
