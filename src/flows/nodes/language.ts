import { record, type NodeHandler } from '../runtime.ts';

/** Switches the language that `prompt:` media resolve to for the rest of the call. */
export const languageNode: NodeHandler<'language'> = {
  enter(s, node, ctx) {
    record(ctx, 'language.changed', { node: s.node, from: s.language, to: node.language });
    return ctx.goTo({ ...s, language: node.language, vars: { ...s.vars, language: node.language } }, node.next);
  },
};
