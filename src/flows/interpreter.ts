import { branchNode } from './nodes/branch.ts';
import { gotoNode, hangupNode, returnNode, subflowNode } from './nodes/control.ts';
import { gatherNode } from './nodes/gather.ts';
import { httpNode } from './nodes/http.ts';
import { languageNode } from './nodes/language.ts';
import { menuNode } from './nodes/menu.ts';
import { playNode } from './nodes/play.ts';
import { queueNode } from './nodes/queue.ts';
import { scheduleNode } from './nodes/schedule.ts';
import { setNode } from './nodes/set.ts';
import { smsNode } from './nodes/sms.ts';
import { surveyNode } from './nodes/survey.ts';
import { transferNode } from './nodes/transfer.ts';
import { voicemailNode } from './nodes/voicemail.ts';
import { end, record, type Ctx, type NodeHandler } from './runtime.ts';
import type { Flow, FlowNode } from './schema.ts';
import type { FlowCommand, FlowInput, FlowResolver, FlowState, StepResult, VarValue } from './state.ts';

/**
 * The flow interpreter: a pure function (flows, state, input, now) -> (state, commands).
 * It never awaits, reads a clock or touches I/O; one small handler per node type decides.
 */

const handlers: { [K in FlowNode['type']]: NodeHandler<K> } = {
  play: playNode,
  menu: menuNode,
  gather: gatherNode,
  branch: branchNode,
  schedule: scheduleNode,
  set: setNode,
  http: httpNode,
  language: languageNode,
  queue: queueNode,
  transfer: transferNode,
  voicemail: voicemailNode,
  sms: smsNode,
  survey: surveyNode,
  subflow: subflowNode,
  return: returnNode,
  goto: gotoNode,
  hangup: hangupNode,
};

/** Nodes that take keys from the caller: type-ahead is fed to them as if pressed there. */
const COLLECTORS: ReadonlySet<FlowNode['type']> = new Set(['menu', 'gather', 'survey']);
/** Nodes that hand the call to something other than the keypad: type-ahead ends there. */
const DROPS_TYPE_AHEAD: ReadonlySet<FlowNode['type']> = new Set(['queue', 'transfer', 'voicemail', 'hangup']);

/** Nodes entered in one step without waiting: more means a loop the validator missed. */
const MAX_HOPS = 64;
const PATH_CAP = 200;

export function initialState(callId: string, flow: Flow, vars: Readonly<Record<string, VarValue>>): FlowState {
  return {
    callId,
    flowId: flow.id,
    version: flow.version,
    node: flow.start,
    language: flow.language,
    vars: { ...vars, language: flow.language },
    stack: [],
    phase: { kind: 'idle' },
    retries: 0,
    digits: '',
    typeAhead: '',
    seq: 0,
    path: [],
  };
}

export function step(flows: FlowResolver, state: FlowState, input: FlowInput, now: Date): StepResult {
  const out: FlowCommand[] = [];
  let hops = 0;
  const ctx: Ctx = {
    flows,
    now,
    out,
    goTo(s, name) {
      hops += 1;
      const flow = flows.get(s.flowId, s.version);
      const node = flow?.nodes[name];
      if (!flow || !node || hops > MAX_HOPS) {
        record(ctx, 'flow.error', { node: name, error: !node ? 'no such node' : 'too many nodes without waiting' });
        return end({ ...s, node: name }, ctx, 'error', true);
      }
      record(ctx, 'flow.node_entered', { flow: flow.id, version: flow.version, node: name, type: node.type });
      const entered: FlowState = {
        ...s,
        node: name,
        phase: { kind: 'idle' },
        retries: 0,
        digits: '',
        typeAhead: DROPS_TYPE_AHEAD.has(node.type) ? '' : s.typeAhead,
        path: s.path.length < PATH_CAP ? [...s.path, name] : s.path,
      };
      const handler = handlers[node.type] as NodeHandler<typeof node.type>;
      const mark = out.length;
      const started = handler.enter(entered, node as never, ctx);
      if (!entered.typeAhead || !COLLECTORS.has(node.type)) return started;
      return feedTypeAhead(started, ctx, mark);
    },
    enterFlow(s, flow) {
      return ctx.goTo({ ...s, flowId: flow.id, version: flow.version }, flow.start);
    },
  };

  if (state.phase.kind === 'ended') return { state, commands: [] };

  let next: FlowState;
  switch (input.type) {
    case 'started':
      out.push({ type: 'Answer' });
      record(ctx, 'flow.started', { flow: state.flowId, version: state.version, language: state.language });
      next = ctx.goTo(state, state.node);
      break;
    case 'hungup':
      next = end(state, ctx, input.cause, false);
      break;
    case 'command.failed':
      next = onFailure(state, input, ctx);
      break;
    default: {
      const node = flows.get(state.flowId, state.version)?.nodes[state.node];
      const handler = node ? (handlers[node.type] as NodeHandler<typeof node.type>) : undefined;
      next = handler?.input ? handler.input(state, node as never, input, ctx) : state;
      if (next === state && input.type === 'dtmf') record(ctx, 'dtmf', { digit: input.digit, node: state.node, ignored: true });
    }
  }
  return { state: next, commands: out };
}

/**
 * Feeds kept keys to the collector just entered, one at a time, through its own dtmf handling
 * (so a key may select an option and the next key go to the next menu). A prompt or timer
 * that a fed key cut short within this step never reaches Asterisk: the start and the stop
 * are both removed, so the caller hears no clipped prompt.
 */
function feedTypeAhead(s: FlowState, ctx: Ctx, mark: number): FlowState {
  let cur = s;
  for (;;) {
    const node = ctx.flows.get(cur.flowId, cur.version)?.nodes[cur.node];
    const waiting = cur.phase.kind === 'playing' || cur.phase.kind === 'listening';
    if (!cur.typeAhead || !node || !COLLECTORS.has(node.type) || !waiting) break;
    const digit = cur.typeAhead[0]!;
    const handler = handlers[node.type] as NodeHandler<typeof node.type>;
    cur = handler.input!({ ...cur, typeAhead: cur.typeAhead.slice(1) }, node as never, { type: 'dtmf', digit }, ctx);
  }
  dropCutShort(ctx.out, mark);
  return cur;
}

function dropCutShort(out: FlowCommand[], from: number): void {
  const stopped = new Set<string>();
  for (const c of out.slice(from)) {
    if (c.type === 'StopPlayback') stopped.add(`pb ${c.playbackId}`);
    if (c.type === 'CancelTimer') stopped.add(`t ${c.name}`);
  }
  const started = new Set<string>();
  for (const c of out.slice(from)) {
    if (c.type === 'PlayPrompt' && stopped.has(`pb ${c.playbackId}`)) started.add(`pb ${c.playbackId}`);
    if (c.type === 'StartTimer' && stopped.has(`t ${c.name}`)) started.add(`t ${c.name}`);
  }
  const kept = out.slice(from).filter((c) => {
    if (c.type === 'PlayPrompt' || c.type === 'StopPlayback') return !started.has(`pb ${c.playbackId}`);
    if (c.type === 'StartTimer' || c.type === 'CancelTimer') return !started.has(`t ${c.name}`);
    return true;
  });
  out.splice(from, out.length - from, ...kept);
}

/** Effects whose failure does not change the caller's path are only recorded. */
function onFailure(s: FlowState, input: Extract<FlowInput, { type: 'command.failed' }>, ctx: Ctx): FlowState {
  record(ctx, 'flow.error', { node: s.node, command: input.command, error: input.error });
  switch (input.command) {
    case 'Hangup':
    case 'RecordEvent':
    case 'StopPlayback':
    case 'CancelTimer':
    case 'SendSms':
      return s;
    default:
      return end(s, ctx, 'error', true);
  }
}
