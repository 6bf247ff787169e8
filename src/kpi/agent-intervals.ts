import type { AgentState } from '../routing/types.ts';
import type { CallSummary } from './call-summary.ts';

/** An agent's state over [from, to) (the `agent_state_intervals` row). ISO-8601 timestamps. */
export interface AgentStateInterval {
  readonly agentId: string;
  readonly state: AgentState;
  readonly from: string;
  readonly to: string;
}

/** Working on a call: reserved for it (ringing), talking, or finishing its work (wrap-up). */
export const BUSY_STATES: readonly AgentState[] = ['ringing', 'on_call', 'wrap_up'];
/** Staffed = busy or available; paused and logged-out time is not. */
export const STAFFED_STATES: readonly AgentState[] = [...BUSY_STATES, 'available'];

/**
 * Fills `wrapUpSeconds` from the answering agent's wrap_up interval that starts within
 * `toleranceSeconds` of the call's talk end (agent.state_changed carries no call id; routing
 * moves the agent to wrap_up when the agent leg is destroyed, which is when the bridge ends).
 * Calls without such an interval keep what they had.
 */
export function attachWrapUp(calls: readonly CallSummary[], intervals: readonly AgentStateInterval[], toleranceSeconds = 5): CallSummary[] {
  const wrapUps = new Map<string, AgentStateInterval[]>();
  for (const i of intervals) {
    if (i.state !== 'wrap_up') continue;
    const list = wrapUps.get(i.agentId);
    if (list) list.push(i);
    else wrapUps.set(i.agentId, [i]);
  }
  return calls.map((c) => {
    if (c.agentId === null || c.talkEndedAt === null) return c;
    const end = Date.parse(c.talkEndedAt);
    let best: AgentStateInterval | null = null;
    for (const i of wrapUps.get(c.agentId) ?? []) {
      const gap = Math.abs(Date.parse(i.from) - end);
      if (gap <= toleranceSeconds * 1000 && (!best || gap < Math.abs(Date.parse(best.from) - end))) best = i;
    }
    return best ? { ...c, wrapUpSeconds: (Date.parse(best.to) - Date.parse(best.from)) / 1000 } : c;
  });
}

/**
 * Turns agent.state_changed ops events (data: agentId, from, to) into intervals: each change
 * opens the `to` state until the agent's next change, the last one until `until`. Time before
 * an agent's first change is unknown and left out.
 */
export function intervalsFromStateChanges(
  changes: readonly { readonly at: string; readonly data: Readonly<Record<string, unknown>> }[],
  until: string,
): AgentStateInterval[] {
  const byAgent = new Map<string, { at: string; to: AgentState }[]>();
  for (const c of changes) {
    const agentId = c.data.agentId;
    const to = c.data.to;
    if (typeof agentId !== 'string' || typeof to !== 'string') continue;
    const list = byAgent.get(agentId) ?? [];
    list.push({ at: c.at, to: to as AgentState });
    byAgent.set(agentId, list);
  }
  const out: AgentStateInterval[] = [];
  for (const [agentId, list] of byAgent) {
    list.sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
    list.forEach((c, i) => {
      const next = list[i + 1]?.at ?? until;
      if (Date.parse(next) > Date.parse(c.at)) out.push({ agentId, state: c.to, from: c.at, to: next });
    });
  }
  return out;
}
