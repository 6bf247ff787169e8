import { nextId, record, TYPE_AHEAD_MAX, type NodeHandler } from '../runtime.ts';
import type { VarValue } from '../state.ts';
import { fill } from '../templates.ts';

/** Calls a configured service; maps fields of the JSON answer into variables; errors branch. */
export const httpNode: NodeHandler<'http'> = {
  enter(s, node, ctx) {
    const [s2, requestId] = nextId(s, 'http');
    ctx.out.push({ type: 'HttpRequest', requestId, service: node.service, path: fill(node.path, s.vars), timeoutMs: node.timeoutMs });
    return { ...s2, phase: { kind: 'http', requestId } };
  },
  input(s, node, input, ctx) {
    if (input.type === 'dtmf' && s.phase.kind === 'http') {
      // A caller who knows the menu keeps pressing while the lookup runs: keep the keys.
      const kept = s.typeAhead.length < TYPE_AHEAD_MAX;
      record(ctx, 'dtmf', { digit: input.digit, node: s.node, typeAhead: kept });
      return kept ? { ...s, typeAhead: s.typeAhead + input.digit } : { ...s };
    }
    if (input.type !== 'http.result' || s.phase.kind !== 'http' || s.phase.requestId !== input.requestId) return s;
    const idle = { ...s, phase: { kind: 'idle' } as const };
    record(ctx, 'http.completed', { node: s.node, service: node.service, ok: input.ok, status: input.status });
    if (!input.ok) return ctx.goTo(idle, node.onError);
    const vars: Record<string, VarValue> = { ...s.vars };
    for (const [name, path] of Object.entries(node.map)) {
      const v = dig(input.body, path);
      if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') vars[name] = v;
    }
    return ctx.goTo({ ...idle, vars }, node.next);
  },
};

function dig(body: unknown, path: string): unknown {
  let cur: unknown = body;
  for (const key of path.split('.')) {
    if (cur === null || typeof cur !== 'object' || !Object.hasOwn(cur, key)) return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}
