import type { FlowState } from '../state.ts';
import { QUEUE_PROMPTS as P } from '../queue-prompts.ts';
import { end, isCurrentPlayback, nextId, play, record, resolveMedia, settle, type Ctx, type NodeHandler } from '../runtime.ts';

/**
 * Hands the caller to routing: hold music while waiting, then an agent. When the agent hangs
 * up the caller continues at `next` (the survey). Routing answers through inputs: joined (with
 * the position), announce (position and estimated wait, played between stretches of hold
 * music), connected, agent_left, timeout — or unavailable (no agent logged in), when the
 * caller hears an apology and the call ends with cause `queue_unavailable`.
 * The callback key turns the wait into a callback request: the caller keeps their place in
 * routing, hears a confirmation and the call ends with cause `callback_requested`.
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
        return play(s, ctx, [`prompt:${P.unavailable}`], 'hangup');
      case 'queue.joined':
        if (s.phase.kind !== 'queued') return s;
        record(ctx, 'queue.joined', { node: s.node, queue: node.queue, position: input.position });
        return s;
      case 'queue.announce': {
        if (s.phase.kind !== 'queued' || s.phase.announcement) return s;
        record(ctx, 'queue.position_announced', { node: s.node, queue: node.queue, position: input.position, ewtSeconds: input.ewtSeconds });
        // Position 0: the queue announces the wait only.
        const media = input.position > 0 ? [`prompt:${P.position}`, `number:${input.position}`, `prompt:${P.positionEnd}`] : [];
        if (input.ewtSeconds !== null) media.push(`prompt:${P.wait}`, `number:${Math.max(1, Math.ceil(input.ewtSeconds / 60))}`, `prompt:${P.minutes}`);
        media.push(...(node.prompts ?? []));
        return announce(s, ctx, media);
      }
      case 'playback.finished':
        if (s.phase.kind === 'queued' && s.phase.announcement === input.playbackId) {
          ctx.out.push({ type: 'StartHold', mohClass: node.mohClass });
          return { ...s, phase: { kind: 'queued' } };
        }
        if (s.phase.kind === 'callback' || !isCurrentPlayback(s, input)) return s;
        // The apology (unavailable) or the callback confirmation has finished.
        return end({ ...s, phase: { kind: 'idle' } }, ctx, s.vars.callbackRequested ? 'callback_requested' : 'queue_unavailable', true);
      case 'queue.connected':
        // Also while a callback request is on its way: the agent was quicker.
        if (s.phase.kind !== 'queued' && s.phase.kind !== 'callback') return s;
        stopAnnouncement(s, ctx);
        record(ctx, 'queue.left', { node: s.node, queue: node.queue, reason: 'answered', agentId: input.agentId });
        return { ...s, phase: { kind: 'connected', agentId: input.agentId }, vars: { ...s.vars, agentId: input.agentId } };
      case 'queue.agent_left':
        if (s.phase.kind !== 'connected') return s;
        record(ctx, 'bridge.ended', { node: s.node, agentId: s.phase.agentId, by: 'agent' });
        return ctx.goTo({ ...s, phase: { kind: 'idle' } }, node.next);
      case 'queue.timeout':
        if (s.phase.kind !== 'queued') return s;
        stopAnnouncement(s, ctx);
        record(ctx, 'queue.left', { node: s.node, queue: node.queue, reason: 'timeout' });
        ctx.out.push({ type: 'LeaveQueue', reason: 'timeout' });
        return ctx.goTo({ ...s, phase: { kind: 'idle' } }, node.onTimeout ?? node.next);
      case 'queue.callback':
        if (s.phase.kind !== 'callback') return s;
        if (!input.ok) {
          // Refused (callbacks off, no usable number, already being offered): keep waiting.
          record(ctx, 'callback.refused', { node: s.node, queue: node.queue, reason: input.reason ?? '' });
          return announce(s, ctx, [`prompt:${P.callbackUnavailable}`]);
        }
        record(ctx, 'callback.requested', { node: s.node, queue: node.queue });
        record(ctx, 'queue.left', { node: s.node, queue: node.queue, reason: 'callback' });
        ctx.out.push({ type: 'StopHold' });
        return play({ ...s, vars: { ...s.vars, callbackRequested: true } }, ctx, [`prompt:${P.callbackConfirmed}`], 'hangup');
      case 'dtmf': {
        if (s.phase.kind !== 'queued') return s;
        if (node.callbackKey && input.digit === node.callbackKey) {
          record(ctx, 'dtmf', { digit: input.digit, node: s.node });
          stopAnnouncement(s, ctx);
          ctx.out.push({ type: 'RequestCallback' });
          return { ...s, phase: { kind: 'callback' } };
        }
        if (!node.exitKey || input.digit !== node.exitKey || !node.onExit) return s;
        record(ctx, 'dtmf', { digit: input.digit, node: s.node });
        stopAnnouncement(s, ctx);
        record(ctx, 'queue.left', { node: s.node, queue: node.queue, reason: 'exit' });
        ctx.out.push({ type: 'LeaveQueue', reason: 'exit' });
        return ctx.goTo(settle(s, ctx), node.onExit);
      }
      default:
        return s;
    }
  },
};

/** An announcement still playing is stopped before the caller moves on. */
function stopAnnouncement(s: FlowState, ctx: Ctx): void {
  if (s.phase.kind === 'queued' && s.phase.announcement) ctx.out.push({ type: 'StopPlayback', playbackId: s.phase.announcement });
}

/** Hold music off, a prompt, then (on playback.finished) hold music on again. */
function announce(s: FlowState, ctx: Ctx, media: readonly string[]): FlowState {
  const [s2, playbackId] = nextId(s, 'pb');
  ctx.out.push({ type: 'StopHold' }, { type: 'PlayPrompt', playbackId, media: resolveMedia(s2, media) });
  return { ...s2, phase: { kind: 'queued', announcement: playbackId } };
}
