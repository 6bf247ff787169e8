import { isCurrentPlayback, isCurrentTimer, record, settle, type NodeHandler } from '../runtime.ts';
import { prompt, promptFinished, retry } from './collect.ts';

/** A rating question: key 1..scale is the answer, stored in the call record and as a variable. */
export const surveyNode: NodeHandler<'survey'> = {
  enter: (s, node, ctx) => prompt({ ...s, retries: 0 }, node, ctx),
  input(s, node, input, ctx) {
    if (isCurrentPlayback(s, input)) return promptFinished(s, node, ctx);
    if (isCurrentTimer(s, input)) return retry(settle(s, ctx), node, ctx, 'timeout', 'survey.timeout', {}, node.onNoAnswer);
    if (input.type === 'dtmf' && (s.phase.kind === 'playing' || s.phase.kind === 'listening')) {
      const settled = settle(s, ctx);
      record(ctx, 'dtmf', { digit: input.digit, node: s.node, bargeIn: s.phase.kind === 'playing' });
      const score = Number(input.digit);
      if (!Number.isInteger(score) || score < 1 || score > node.scale) {
        return retry(settled, node, ctx, 'invalid', 'survey.invalid', { digit: input.digit }, node.onNoAnswer);
      }
      // The agent who took the call (set by the queue node) is kept with the answer for reports.
      const agentId = settled.vars.agentId;
      record(ctx, 'survey.answered', { question: node.question, score, scale: node.scale, node: s.node, ...(agentId ? { agentId } : {}) });
      return ctx.goTo({ ...settled, vars: { ...settled.vars, [`survey_${node.question}`]: score } }, node.next);
    }
    return s;
  },
};
