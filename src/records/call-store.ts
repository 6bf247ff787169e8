import type pg from 'pg';
import type { CallSummary, FoldableEvent } from '../kpi/call-summary.ts';

/**
 * The `calls` table (migration 005): one row per call, its summary's fields as columns for
 * queries and the whole summary as jsonb to fold the next event onto. Callers hold the calls'
 * advisory locks (transaction.ts) inside their transaction.
 */

const num = (field: string) => `coalesce((s->>'${field}')::float8, 0)`;
const int = (field: string) => `coalesce((s->>'${field}')::numeric, 0)::int`;
const ts = (field: string) => `(s->>'${field}')::timestamptz`;

const UPSERT_SQL = `INSERT INTO calls AS c (call_id, direction, caller, dialed, flow, flow_version, started_at, ended_at, first_level_key,
    ivr_seconds, contained_in_ivr, agent_requested, reached_queue, queue, queued_at, queue_outcome, wait_seconds, agent_id, answered_at,
    talk_ended_at, talk_seconds, hold_seconds, wrap_up_seconds, disposition, survey_answers, transfers_out, transfers_to_ivr,
    callbacks_requested, callbacks_completed, hangup_cause, phase, last_seq, summary, updated_at)
  SELECT (s->>'callId')::uuid, s->>'direction', s->>'caller', s->>'dialed', s->>'flow',
         CASE WHEN jsonb_typeof(s->'flowVersion') = 'number' AND abs((s->>'flowVersion')::numeric) < 2147483647 THEN round((s->>'flowVersion')::numeric)::int END,
         ${ts('startedAt')}, ${ts('endedAt')}, s->>'firstLevelKey', ${num('ivrSeconds')}, (s->>'containedInIvr')::boolean,
         coalesce((s->>'agentRequested')::boolean, false), coalesce((s->>'reachedQueue')::boolean, false), s->>'queue', ${ts('queuedAt')},
         s->>'queueOutcome', ${num('waitSeconds')}, s->>'agentId', ${ts('answeredAt')}, ${ts('talkEndedAt')}, ${num('talkSeconds')},
         ${num('holdSeconds')}, (s->>'wrapUpSeconds')::float8, s->>'disposition', coalesce(s->'surveyAnswers', '[]'::jsonb),
         ${int('transfersOut')}, ${int('transfersToIvr')}, ${int('callbacksRequested')}, ${int('callbacksCompleted')},
         s->>'hangupCause', s->>'phase', ${int('lastSeq')}, s, now()
    FROM jsonb_array_elements($1::jsonb) AS s
   ORDER BY 1
  ON CONFLICT (call_id) DO UPDATE SET
    direction = excluded.direction, caller = excluded.caller, dialed = excluded.dialed, flow = excluded.flow,
    flow_version = excluded.flow_version, started_at = excluded.started_at, ended_at = excluded.ended_at,
    first_level_key = excluded.first_level_key, ivr_seconds = excluded.ivr_seconds, contained_in_ivr = excluded.contained_in_ivr,
    agent_requested = excluded.agent_requested, reached_queue = excluded.reached_queue, queue = excluded.queue,
    queued_at = excluded.queued_at, queue_outcome = excluded.queue_outcome, wait_seconds = excluded.wait_seconds,
    agent_id = excluded.agent_id, answered_at = excluded.answered_at, talk_ended_at = excluded.talk_ended_at,
    talk_seconds = excluded.talk_seconds, hold_seconds = excluded.hold_seconds, wrap_up_seconds = excluded.wrap_up_seconds,
    disposition = excluded.disposition, survey_answers = excluded.survey_answers, transfers_out = excluded.transfers_out,
    transfers_to_ivr = excluded.transfers_to_ivr, callbacks_requested = excluded.callbacks_requested,
    callbacks_completed = excluded.callbacks_completed, hangup_cause = excluded.hangup_cause, phase = excluded.phase,
    last_seq = excluded.last_seq, summary = excluded.summary, updated_at = excluded.updated_at`;

/** Stored summaries of these calls (lower-case uuids), by call id. */
export async function loadSummaries(client: pg.PoolClient, callIds: readonly string[]): Promise<Map<string, CallSummary>> {
  const out = new Map<string, CallSummary>();
  if (callIds.length === 0) return out;
  const res = await client.query<{ call_id: string; summary: CallSummary }>('SELECT call_id, summary FROM calls WHERE call_id = ANY($1::uuid[])', [callIds]);
  for (const r of res.rows) out.set(r.call_id, r.summary);
  return out;
}

/** Writes the summaries (insert or replace their rows). */
export async function saveSummaries(client: pg.PoolClient, summaries: readonly CallSummary[]): Promise<void> {
  if (summaries.length === 0) return;
  await client.query(UPSERT_SQL, [JSON.stringify(summaries)]);
}

/** Every stored event of these calls, in seq order per call (to fold a call again from the start). */
export async function storedEvents(client: pg.PoolClient | pg.Pool, callIds: readonly string[]): Promise<Map<string, FoldableEvent[]>> {
  const out = new Map<string, FoldableEvent[]>();
  if (callIds.length === 0) return out;
  const res = await client.query<{ call_id: string; seq: number; type: string; at: Date; data: Record<string, unknown> }>(
    'SELECT call_id, seq, type, at, data FROM call_events WHERE call_id = ANY($1::uuid[]) ORDER BY call_id, seq',
    [callIds],
  );
  for (const r of res.rows) {
    const e: FoldableEvent = { callId: r.call_id, seq: r.seq, type: r.type, at: r.at.toISOString(), data: r.data };
    const list = out.get(r.call_id);
    if (list) list.push(e);
    else out.set(r.call_id, [e]);
  }
  return out;
}
