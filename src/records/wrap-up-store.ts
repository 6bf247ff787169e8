import type pg from 'pg';
import { attachWrapUp, type AgentStateInterval } from '../kpi/agent-intervals.ts';
import type { AgentState } from '../routing/types.ts';
import type { CallSummary } from '../kpi/call-summary.ts';

/**
 * Wrap-up time comes from the agent, not the call: routing moves the answering agent to
 * wrap_up when the bridge ends, and the interval's length is known when the agent's next state
 * change lands (ops events, a different stream from the call's events). Whichever of the two
 * commits second attaches it, under the agent's advisory lock (both writers take it), so one
 * of them always sees the other's rows. The rule itself is attachWrapUp of src/kpi.
 */

/** attachWrapUp's default: a wrap_up interval starting this close to the talk's end belongs to the call. */
export const WRAP_UP_TOLERANCE_SECONDS = 5;

/**
 * The summaries with `wrapUpSeconds` set from the agents' closed wrap_up intervals near their
 * talk's end (null when there is none). Summaries without an agent or talk end come back as
 * they were. The caller holds the agents' locks.
 */
export async function withWrapUps(client: pg.PoolClient, summaries: readonly CallSummary[]): Promise<CallSummary[]> {
  const ready = summaries.filter((s) => s.agentId !== null && s.talkEndedAt !== null);
  if (ready.length === 0) return [...summaries];
  const res = await client.query<{ agent_id: string; state: AgentState; from_at: Date; to_at: Date }>(
    `SELECT DISTINCT i.agent_id, i.state, i.from_at, i.to_at
       FROM unnest($1::text[], $2::timestamptz[]) AS c(agent, ended)
       JOIN agent_state_intervals i ON i.agent_id = c.agent AND i.state = 'wrap_up' AND i.to_at IS NOT NULL
        AND i.from_at BETWEEN c.ended - make_interval(secs => $3) AND c.ended + make_interval(secs => $3)`,
    [ready.map((s) => s.agentId), ready.map((s) => s.talkEndedAt), WRAP_UP_TOLERANCE_SECONDS],
  );
  const intervals: AgentStateInterval[] = res.rows.map((r) => ({ agentId: r.agent_id, state: r.state, from: r.from_at.toISOString(), to: r.to_at.toISOString() }));
  return attachWrapUp(
    summaries.map((s) => (s.agentId !== null && s.talkEndedAt !== null ? { ...s, wrapUpSeconds: null } : s)),
    intervals,
    WRAP_UP_TOLERANCE_SECONDS,
  );
}

/** Calls whose talk with one of these agents ended near one of these instants (wrap_up intervals that changed). */
export async function callsNearWrapUps(client: pg.PoolClient, wrapUps: readonly { agentId: string; from: Date }[]): Promise<string[]> {
  if (wrapUps.length === 0) return [];
  const res = await client.query<{ call_id: string }>(
    `SELECT DISTINCT c.call_id
       FROM unnest($1::text[], $2::timestamptz[]) AS w(agent, from_at)
       JOIN calls c ON c.agent_id = w.agent AND c.talk_ended_at BETWEEN w.from_at - make_interval(secs => $3) AND w.from_at + make_interval(secs => $3)`,
    [wrapUps.map((w) => w.agentId), wrapUps.map((w) => w.from), WRAP_UP_TOLERANCE_SECONDS],
  );
  return res.rows.map((r) => r.call_id);
}
