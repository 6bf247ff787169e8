import type { NodeHandler } from '../runtime.ts';
import type { VarValue } from '../state.ts';
import { fill } from '../templates.ts';

export const setNode: NodeHandler<'set'> = {
  enter(s, node, ctx) {
    const vars: Record<string, VarValue> = { ...s.vars };
    for (const [k, v] of Object.entries(node.assign)) vars[k] = typeof v === 'string' ? fill(v, s.vars) : v;
    return ctx.goTo({ ...s, vars }, node.next);
  },
};
