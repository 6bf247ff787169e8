import { isCurrentPlayback, play, record, type NodeHandler } from '../runtime.ts';

/** Plays the greeting, then records the caller's message after a beep (# ends it). */
export const voicemailNode: NodeHandler<'voicemail'> = {
  enter: (s, node, ctx) => play(s, ctx, node.prompts, 'record'),
  input(s, node, input, ctx) {
    if (isCurrentPlayback(s, input)) {
      const name = `voicemail-${s.callId}-${s.seq + 1}`;
      ctx.out.push({ type: 'RecordMessage', name, maxSeconds: node.maxSeconds });
      return { ...s, seq: s.seq + 1, phase: { kind: 'recording', name } };
    }
    if (input.type === 'recording.finished' && s.phase.kind === 'recording' && s.phase.name === input.name) {
      record(ctx, 'voicemail.recorded', { node: s.node, recording: input.name, ok: input.ok, seconds: input.seconds });
      return ctx.goTo({ ...s, phase: { kind: 'idle' } }, node.next);
    }
    return s;
  },
};
