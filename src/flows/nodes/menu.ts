import { isCurrentPlayback, isCurrentTimer, record, settle, type NodeHandler } from '../runtime.ts';
import { prompt, promptFinished, retry } from './collect.ts';

/** A key -> node menu. Keys are taken during the prompt too (barge-in). */
export const menuNode: NodeHandler<'menu'> = {
  enter: (s, node, ctx) => prompt({ ...s, retries: 0 }, node, ctx),
  input(s, node, input, ctx) {
    if (isCurrentPlayback(s, input)) return promptFinished(s, node, ctx);
    if (isCurrentTimer(s, input)) return retry(settle(s, ctx), node, ctx, 'timeout', 'menu.timeout', {}, node.onExhausted);
    if (input.type === 'dtmf' && (s.phase.kind === 'playing' || s.phase.kind === 'listening')) {
      const bargeIn = s.phase.kind === 'playing';
      const settled = settle(s, ctx);
      record(ctx, 'dtmf', { digit: input.digit, node: s.node, bargeIn });
      const target = node.options[input.digit];
      if (!target) return retry(settled, node, ctx, 'invalid', 'menu.invalid', { digit: input.digit }, node.onExhausted);
      record(ctx, 'menu.selected', { node: s.node, digit: input.digit, target, firstLevel: node.firstLevel });
      return ctx.goTo(settled, target);
    }
    return s;
  },
};
