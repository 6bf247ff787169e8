import type { VarValue } from '../flows/state.ts';

/** A follow-up text requested by a flow's `sms` node. */
export interface SmsMessage {
  /** Unique per request, so a retried job sends once. */
  readonly id: string;
  readonly callId: string;
  readonly to: string;
  readonly template: string;
  readonly variables: Readonly<Record<string, VarValue>>;
}

/** Takes a request durably; the sending happens in a worker. */
export interface SmsRequests {
  request(message: SmsMessage): Promise<void>;
}

/** The pluggable end of the pipeline: a log line in development, a webhook in production. */
export interface SmsSender {
  send(message: SmsMessage): Promise<void>;
}
