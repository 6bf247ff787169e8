import { record, type NodeHandler } from '../runtime.ts';
import { scheduleOutcome } from '../schedule-eval.ts';

/** Business hours, holidays and special days, evaluated with the injected clock. */
export const scheduleNode: NodeHandler<'schedule'> = {
  enter(s, node, ctx) {
    const outcome = scheduleOutcome(node, ctx.now);
    record(ctx, 'schedule.evaluated', { node: s.node, outcome });
    return ctx.goTo(s, node[outcome]);
  },
};
