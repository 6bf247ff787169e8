import type { NodeOf } from '../schema.ts';
import { isCurrentPlayback, isCurrentTimer, listen, record, settle, type Ctx, type NodeHandler } from '../runtime.ts';
import type { FlowState } from '../state.ts';
import { prompt, promptFinished, retry } from './collect.ts';

/** Collects digits into a variable: ends on the terminator, at maxDigits, or on the inter-digit timeout. */
export const gatherNode: NodeHandler<'gather'> = {
  enter: (s, node, ctx) => prompt({ ...s, retries: 0 }, node, ctx),
  input(s, node, input, ctx) {
    if (isCurrentPlayback(s, input)) return promptFinished(s, node, ctx);
    if (isCurrentTimer(s, input)) {
      if (s.digits) return finish(settle(s, ctx), node, ctx);
      return retry(settle(s, ctx), node, ctx, 'timeout', 'gather.timeout', {}, node.onExhausted);
    }
    if (input.type === 'dtmf' && (s.phase.kind === 'playing' || s.phase.kind === 'listening')) {
      const settled = settle(s, ctx);
      record(ctx, 'dtmf', { digit: input.digit, node: s.node, bargeIn: s.phase.kind === 'playing' });
      if (node.terminator && input.digit === node.terminator) return finish(settled, node, ctx);
      const digits = s.digits + input.digit;
      if (digits.length >= node.maxDigits) return finish({ ...settled, digits }, node, ctx);
      return listen({ ...settled, digits }, ctx, node.timeoutMs);
    }
    return s;
  },
};

function finish(s: FlowState, node: NodeOf<'gather'>, ctx: Ctx): FlowState {
  const ok = s.digits.length >= node.minDigits && (!node.pattern || new RegExp(node.pattern).test(s.digits));
  if (!ok) return retry(s, node, ctx, 'invalid', 'gather.invalid', { length: s.digits.length }, node.onExhausted);
  // The digits themselves may be an account or ID number: the event keeps only their count.
  record(ctx, 'gather.completed', { node: s.node, into: node.into, length: s.digits.length });
  return ctx.goTo({ ...s, vars: { ...s.vars, [node.into]: s.digits }, digits: '' }, node.next);
}
