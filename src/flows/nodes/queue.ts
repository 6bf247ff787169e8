import { end, isCurrentPlayback, play, record, settle, type NodeHandler } from '../runtime.ts';

/**
 * Hands the caller to routing: hold music while waiting, then an agent. When the agent hangs
 * up the caller continues at `next` (the survey). Routing answers through inputs: joined (with
 * the position), connected, agent_left, timeout — or unavailable (no agent logged in), when
 * the caller hears an apology and the call ends with cause `queue_unavailable`.
 */
export const queueNode: NodeHandler<'queue'> = {
  enter(s, node, ctx) {
    record(ctx, 'queue.requested', { node: s.node, queue: node.queue, skills: node.skills, priority: node.priority });
    ctx.out.push({ type: 'Enqueue', queue: node.queue, skills: node.skills, priority: node.priority, mohClass: node.mohClass });
    return { ...s, phase: { kind: 'queued' } };
  },
  input(s, node, input, ctx) {
    switch (input.type) {
      case 'queue.unavailable':
        if (s.phase.kind !== 'queued') return s;
        record(ctx, 'queue.left', { node: s.node, queue: node.queue, reason: 'unavailable', detail: input.reason });
        return play(s, ctx, ['prompt:agents_unavailable'], 'hangup');
      case 'queue.joined':
        if (s.phase.kind !== 'queued') return s;
        record(ctx, 'queue.joined', { node: s.node, queue: node.queue, position: input.position });
        return s;
      case 'queue.connected':
        if (s.phase.kind !== 'queued') return s;
        record(ctx, 'queue.left', { node: s.node, queue: node.queue, reason: 'answered', agentId: input.agentId });
        return { ...s, phase: { kind: 'connected', agentId: input.agentId }, vars: { ...s.vars, agentId: input.agentId } };
      case 'queue.agent_left':
        if (s.phase.kind !== 'connected') return s;
        record(ctx, 'bridge.ended', { node: s.node, agentId: s.phase.agentId, by: 'agent' });
        return ctx.goTo({ ...s, phase: { kind: 'idle' } }, node.next);
      case 'queue.timeout':
        if (s.phase.kind !== 'queued') return s;
        record(ctx, 'queue.left', { node: s.node, queue: node.queue, reason: 'timeout' });
        ctx.out.push({ type: 'LeaveQueue', reason: 'timeout' });
        return ctx.goTo({ ...s, phase: { kind: 'idle' } }, node.onTimeout ?? node.next);
      case 'dtmf':
        if (s.phase.kind !== 'queued' || !node.exitKey || input.digit !== node.exitKey || !node.onExit) return s;
        record(ctx, 'dtmf', { digit: input.digit, node: s.node });
        record(ctx, 'queue.left', { node: s.node, queue: node.queue, reason: 'exit' });
        ctx.out.push({ type: 'LeaveQueue', reason: 'exit' });
        return ctx.goTo(settle(s, ctx), node.onExit);
      default:
        // The apology after `unavailable` has finished: nothing to stop before hanging up.
        if (isCurrentPlayback(s, input)) return end({ ...s, phase: { kind: 'idle' } }, ctx, 'queue_unavailable', true);
        return s;
    }
  },
};
