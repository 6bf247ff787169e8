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
}

export type EnqueueResult = { readonly ok: true; readonly position: number } | { readonly ok: false; readonly reason: string };

export interface QueuePort {
  enqueue(request: QueueRequest): Promise<EnqueueResult>;
  leave(callId: string, reason: 'exit' | 'timeout'): Promise<void>;
  /** The caller's call is over (hung up in the queue or while talking). */
  callEnded(callId: string): Promise<void>;
}

/** Until routing is configured, every queue is unavailable (the flow apologises). */
export const noRouting: QueuePort = {
  enqueue: async () => ({ ok: false, reason: 'routing is not configured' }),
  leave: async () => undefined,
  callEnded: async () => undefined,
};
