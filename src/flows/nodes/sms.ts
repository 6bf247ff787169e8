import { record, type NodeHandler } from '../runtime.ts';
import type { VarValue } from '../state.ts';
import { fill } from '../templates.ts';

/** Requests a follow-up text message; a durable job sends it, the call does not wait. */
export const smsNode: NodeHandler<'sms'> = {
  enter(s, node, ctx) {
    const variables: Record<string, VarValue> = {};
    for (const v of node.variables) if (s.vars[v] !== undefined) variables[v] = s.vars[v]!;
    const to = fill(node.to, s.vars);
    if (to) {
      ctx.out.push({ type: 'SendSms', to, template: node.template, variables });
      record(ctx, 'sms.requested', { node: s.node, template: node.template });
    } else record(ctx, 'flow.error', { node: s.node, error: 'sms recipient is empty' });
    return ctx.goTo(s, node.next);
  },
};
