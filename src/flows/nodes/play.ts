import { isCurrentPlayback, play, record, settle, type NodeHandler } from '../runtime.ts';

/** Plays prompts, then moves on. With bargeIn a key cuts it short (the key itself is dropped). */
export const playNode: NodeHandler<'play'> = {
  enter: (s, node, ctx) => play(s, ctx, node.prompts, 'advance'),
  input(s, node, input, ctx) {
    if (isCurrentPlayback(s, input)) return ctx.goTo({ ...s, phase: { kind: 'idle' } }, node.next);
    if (input.type === 'dtmf' && node.bargeIn && s.phase.kind === 'playing') {
      record(ctx, 'dtmf', { digit: input.digit, node: s.node, bargeIn: true });
      return ctx.goTo(settle(s, ctx), node.next);
    }
    return s;
  },
};
