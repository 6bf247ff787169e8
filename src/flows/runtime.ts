import type { CallEventType } from '../domain/call-event.ts';
import type { Flow, FlowNode, Language, NodeOf } from './schema.ts';
import { mandarinDigits, mandarinNumber, SELF_SPOKEN } from './say-number.ts';
import type { FlowCommand, FlowInput, FlowResolver, FlowState } from './state.ts';
import { fill } from './templates.ts';

/** Everything a node handler may use. `out` collects the step's commands in order. */
export interface Ctx {
  readonly flows: FlowResolver;
  readonly now: Date;
  readonly out: FlowCommand[];
  /** Enters a node of the current flow (records it, runs its handler). */
  goTo(s: FlowState, node: string): FlowState;
  /** Switches to another flow's start node. */
  enterFlow(s: FlowState, flow: Flow): FlowState;
}

export interface NodeHandler<T extends FlowNode['type']> {
  enter(s: FlowState, node: NodeOf<T>, ctx: Ctx): FlowState;
  /** Inputs other than hang-up, which the interpreter handles for every node. */
  input?(s: FlowState, node: NodeOf<T>, input: FlowInput, ctx: Ctx): FlowState;
}

/** At most this many type-ahead keys are kept; more are recorded and dropped. */
export const TYPE_AHEAD_MAX = 16;

export function record(ctx: Ctx, event: CallEventType, data: Record<string, unknown>): void {
  ctx.out.push({ type: 'RecordEvent', event, data });
}

/**
 * Resolves `prompt:<name>` for the call's language and fills templates in the rest. A media
 * whose template came out unplayable (`number:` when the CRM sent no balance, `number:na`) is
 * dropped, since Asterisk would refuse the whole playback; if nothing is left, a second of
 * silence keeps the flow moving.
 */
export function resolveMedia(s: FlowState, media: readonly string[]): string[] {
  const out = media
    .map((m) => (m.startsWith('prompt:') ? `sound:hotline/${s.language}/${m.slice(7)}` : fill(m, s.vars)))
    .filter(playable)
    .flatMap((m) => inLanguage(s.language, m));
  return out.length ? out : ['sound:silence/1'];
}

/** `number:` and `digits:` said from Hotline's own prompts where Asterisk lacks the language. */
function inLanguage(language: Language, m: string): string[] {
  if (!SELF_SPOKEN.has(language)) return [m];
  const sound = (name: string) => `sound:hotline/${language}/${name}`;
  if (m.startsWith('number:')) return mandarinNumber(m.slice(7)).map(sound);
  if (m.startsWith('digits:')) return mandarinDigits(m.slice(7))?.map(sound) ?? [m];
  return [m];
}

/** number: needs an integer and digits: needs keys, or Asterisk refuses the whole playback. */
function playable(m: string): boolean {
  const [scheme, rest = ''] = [m.slice(0, m.indexOf(':')), m.slice(m.indexOf(':') + 1)];
  if (scheme === 'number') return /^-?[0-9]{1,15}$/.test(rest);
  if (scheme === 'digits') return /^[0-9*#]{1,64}$/.test(rest);
  return rest !== '' && !rest.endsWith('/');
}

export function nextId(s: FlowState, kind: string): [FlowState, string] {
  const seq = s.seq + 1;
  return [{ ...s, seq }, `${s.callId}:${kind}${seq}:${s.node}`];
}

export function play(s: FlowState, ctx: Ctx, media: readonly string[], then: 'advance' | 'listen' | 'record' | 'transfer' | 'hangup'): FlowState {
  const [s2, playbackId] = nextId(s, 'pb');
  ctx.out.push({ type: 'PlayPrompt', playbackId, media: resolveMedia(s2, media) });
  return { ...s2, phase: { kind: 'playing', playbackId, then } };
}

export function listen(s: FlowState, ctx: Ctx, ms: number): FlowState {
  const [s2, timer] = nextId(s, 't');
  ctx.out.push({ type: 'StartTimer', name: timer, ms });
  return { ...s2, phase: { kind: 'listening', timer } };
}

/** Stops whatever the node was doing (prompt, timer) before it moves on. */
export function settle(s: FlowState, ctx: Ctx): FlowState {
  if (s.phase.kind === 'playing') ctx.out.push({ type: 'StopPlayback', playbackId: s.phase.playbackId });
  if (s.phase.kind === 'listening') ctx.out.push({ type: 'CancelTimer', name: s.phase.timer });
  return { ...s, phase: { kind: 'idle' } };
}

/** Ends the call: records call.ended once, hangs up unless the caller already has. */
export function end(s: FlowState, ctx: Ctx, cause: string, hangup: boolean): FlowState {
  const settled = settle(s, ctx);
  if (hangup) ctx.out.push({ type: 'Hangup' });
  record(ctx, 'call.ended', { cause, node: s.node, flow: s.flowId, version: s.version });
  return { ...settled, phase: { kind: 'ended' } };
}

export function isCurrentPlayback(s: FlowState, input: FlowInput): boolean {
  return input.type === 'playback.finished' && s.phase.kind === 'playing' && s.phase.playbackId === input.playbackId;
}

export function isCurrentTimer(s: FlowState, input: FlowInput): boolean {
  return input.type === 'timer.fired' && s.phase.kind === 'listening' && s.phase.timer === input.name;
}
