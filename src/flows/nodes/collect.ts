import type { Ctx } from '../runtime.ts';
import { listen, play, record } from '../runtime.ts';
import type { FlowState } from '../state.ts';

/** The shared shape of menu, gather and survey: prompt (barge-in), listen, retry, give up. */
export interface Collector {
  readonly prompts: readonly string[];
  readonly timeoutMs: number;
  readonly maxRetries: number;
  readonly invalidPrompts?: readonly string[] | undefined;
  readonly noInputPrompts?: readonly string[] | undefined;
}

export function prompt(s: FlowState, node: Collector, ctx: Ctx, before: readonly string[] = []): FlowState {
  return play({ ...s, digits: '' }, ctx, [...before, ...node.prompts], 'listen');
}

/** After the prompt: wait `timeoutMs` for a key. */
export function promptFinished(s: FlowState, node: Collector, ctx: Ctx): FlowState {
  return listen(s, ctx, node.timeoutMs);
}

/**
 * One failed attempt (an invalid key or silence): re-prompt while retries remain, else leave
 * through `exhausted`. The event names the reason; `retries` counts attempts used.
 */
export function retry(
  s: FlowState,
  node: Collector,
  ctx: Ctx,
  reason: 'invalid' | 'timeout',
  event: 'menu.invalid' | 'menu.timeout' | 'gather.invalid' | 'gather.timeout' | 'survey.invalid' | 'survey.timeout',
  data: Record<string, unknown>,
  exhausted: string,
): FlowState {
  const retries = s.retries + 1;
  record(ctx, event, { node: s.node, retries, ...data });
  if (retries > node.maxRetries) {
    record(ctx, 'node.exhausted', { node: s.node, retries });
    return ctx.goTo({ ...s, retries }, exhausted);
  }
  const extra = reason === 'invalid' ? node.invalidPrompts : node.noInputPrompts;
  return prompt({ ...s, retries }, node, ctx, extra ?? []);
}
