import { end, isCurrentPlayback, play, record, type Ctx, type NodeHandler } from '../runtime.ts';
import type { FlowState } from '../state.ts';

/** The validator checks flow names, but a flow can be unloaded since: end the call, say why. */
function flowMissing(s: FlowState, flowId: string, ctx: Ctx): FlowState {
  record(ctx, 'flow.error', { node: s.node, error: `flow ${flowId} is not loaded` });
  return end(s, ctx, 'error', true);
}

/** Runs another flow and comes back to `next` when it reaches a `return` node. */
export const subflowNode: NodeHandler<'subflow'> = {
  enter(s, node, ctx) {
    const sub = ctx.flows.active(node.flow);
    if (!sub) return flowMissing(s, node.flow, ctx);
    return ctx.enterFlow({ ...s, stack: [...s.stack, { flowId: s.flowId, version: s.version, next: node.next }] }, sub);
  },
};

/** Back to the caller of this subflow; at the top level it ends the call. */
export const returnNode: NodeHandler<'return'> = {
  enter(s, _node, ctx) {
    const frame = s.stack.at(-1);
    if (!frame) return end(s, ctx, 'completed', true);
    const back = { ...s, stack: s.stack.slice(0, -1), flowId: frame.flowId, version: frame.version };
    return ctx.goTo(back, frame.next);
  },
};

/** Continues in another flow for good. */
export const gotoNode: NodeHandler<'goto'> = {
  enter(s, node, ctx) {
    const target = ctx.flows.active(node.flow);
    if (!target) return flowMissing(s, node.flow, ctx);
    return ctx.enterFlow(s, target);
  },
};

export const hangupNode: NodeHandler<'hangup'> = {
  enter(s, node, ctx) {
    if (node.prompts) return play(s, ctx, node.prompts, 'hangup');
    return end(s, ctx, node.reason, true);
  },
  input(s, node, input, ctx) {
    // The prompt has finished: nothing to stop before hanging up.
    if (isCurrentPlayback(s, input)) return end({ ...s, phase: { kind: 'idle' } }, ctx, node.reason, true);
    return s;
  },
};
