import { evaluate } from '../conditions.ts';
import type { NodeHandler } from '../runtime.ts';

/** The first condition that holds picks the next node; otherwise `default`. */
export const branchNode: NodeHandler<'branch'> = {
  enter(s, node, ctx) {
    const hit = node.conditions.find((c) => evaluate(c.when, s.vars));
    return ctx.goTo(s, hit ? hit.next : node.default);
  },
};
