import { end, play, record, type NodeHandler } from '../runtime.ts';

/**
 * Hands the caller to routing. Until the routing issue lands there is no queue to wait in:
 * the caller hears that no agent can take the call now and the call ends with cause
 * `queue_unavailable` — recorded, so reports count the request for an agent.
 */
export const queueNode: NodeHandler<'queue'> = {
  enter(s, node, ctx) {
    record(ctx, 'queue.requested', { node: s.node, queue: node.queue, skills: node.skills, priority: node.priority });
    return play(s, ctx, ['prompt:agents_unavailable'], 'hangup');
  },
  input(s, _node, input, ctx) {
    if (input.type === 'playback.finished' && s.phase.kind === 'playing' && s.phase.playbackId === input.playbackId) {
      return end({ ...s, phase: { kind: 'idle' } }, ctx, 'queue_unavailable', true);
    }
    return s;
  },
};
