import { end, isCurrentPlayback, play, record, type Ctx, type NodeHandler } from '../runtime.ts';
import type { FlowState } from '../state.ts';
import { fill } from '../templates.ts';

/** Sends the call out of Hotline to an external number (dialplan `hotline-transfer`). */
export const transferNode: NodeHandler<'transfer'> = {
  enter(s, node, ctx) {
    if (node.prompts) return play(s, ctx, node.prompts, 'transfer');
    return transfer(s, fill(node.number, s.vars), ctx);
  },
  input(s, node, input, ctx) {
    if (isCurrentPlayback(s, input)) return transfer(s, fill(node.number, s.vars), ctx);
    return s;
  },
};

function transfer(s: FlowState, number: string, ctx: Ctx): FlowState {
  if (!number) {
    record(ctx, 'flow.error', { node: s.node, error: 'transfer number is empty' });
    return end({ ...s, phase: { kind: 'idle' } }, ctx, 'error', true);
  }
  record(ctx, 'call.transferred', { node: s.node, to: number });
  ctx.out.push({ type: 'Transfer', number });
  record(ctx, 'call.ended', { cause: 'transferred', node: s.node, flow: s.flowId, version: s.version });
  return { ...s, phase: { kind: 'ended' } };
}
