/**
 * What a call runner needs from routing. Routing answers later through the dispatcher as
 * flow inputs (queue.connected, queue.agent_left, queue.timeout).
 */
export interface QueueRequest {
  readonly callId: string;
  readonly channelId: string;
  readonly caller: string;
  readonly queue: string;
  readonly skills: readonly string[];
  readonly priority: number;
  readonly mohClass: string;
  /** The hotline number the caller dialed (a callback shows it as the caller id). */
  readonly dialed: string;
}

export type EnqueueResult = { readonly ok: true; readonly position: number } | { readonly ok: false; readonly reason: string };

export interface QueuePort {
  enqueue(request: QueueRequest): Promise<EnqueueResult>;
  leave(callId: string, reason: 'exit' | 'timeout'): Promise<void>;
  /** The caller's call is over (hung up in the queue or while talking). */
  callEnded(callId: string): Promise<void>;
  /** Turns the caller's wait into a callback request that keeps their place. */
  requestCallback(callId: string): Promise<{ readonly ok: true } | { readonly ok: false; readonly reason: string }>;
}

/** Until routing is configured, every queue is unavailable (the flow apologises). */
export const noRouting: QueuePort = {
  enqueue: async () => ({ ok: false, reason: 'routing is not configured' }),
  leave: async () => undefined,
  callEnded: async () => undefined,
  requestCallback: async () => ({ ok: false, reason: 'routing is not configured' }),
};
