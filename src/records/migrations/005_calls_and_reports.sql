-- Call summaries, agent state intervals and the 15-minute rollup reports read (issue 5).
--
-- `calls` holds one row per call, folded from its events by src/kpi/call-summary.ts in the
-- same transaction that inserts the events (src/records/call-record-sink.ts): the columns are
-- for queries, `summary` is the fold's whole state, so the next event is folded onto it.
-- Calls recorded before this migration have no row until `hotline reports rebuild` folds them.
CREATE TABLE calls (
  call_id             uuid PRIMARY KEY,
  direction           text NOT NULL,
  caller              text,
  dialed              text,
  flow                text,
  flow_version        integer,
  started_at          timestamptz,
  ended_at            timestamptz,
  first_level_key     text,
  ivr_seconds         double precision NOT NULL,
  contained_in_ivr    boolean,
  agent_requested     boolean NOT NULL,
  reached_queue       boolean NOT NULL,
  queue               text,
  queued_at           timestamptz,
  queue_outcome       text,
  wait_seconds        double precision NOT NULL,
  agent_id            text,
  answered_at         timestamptz,
  talk_ended_at       timestamptz,
  talk_seconds        double precision NOT NULL,
  hold_seconds        double precision NOT NULL,
  wrap_up_seconds     double precision,
  disposition         text NOT NULL,
  survey_answers      jsonb NOT NULL,
  transfers_out       integer NOT NULL,
  transfers_to_ivr    integer NOT NULL,
  callbacks_requested integer NOT NULL,
  callbacks_completed integer NOT NULL,
  hangup_cause        text,
  phase               text NOT NULL,
  last_seq            integer NOT NULL,
  summary             jsonb NOT NULL,
  updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX calls_started_at ON calls (started_at);
-- Wrap-up: an agent's wrap_up interval is matched to the call whose talk ended when it began.
CREATE INDEX calls_agent_talk_ended ON calls (agent_id, talk_ended_at) WHERE talk_ended_at IS NOT NULL;

-- One row per agent.state_changed ops event: the agent was in `state` from `from_at` until
-- the agent's next change (`to_at`, NULL while it is the latest). `n` is arrival order, which
-- orders changes of the same instant.
CREATE TABLE agent_state_intervals (
  event_id   uuid PRIMARY KEY,
  n          bigint GENERATED ALWAYS AS IDENTITY,
  agent_id   text NOT NULL,
  state      text NOT NULL,
  from_state text,
  reason     text,
  from_at    timestamptz NOT NULL,
  to_at      timestamptz
);
CREATE INDEX agent_state_intervals_agent_from ON agent_state_intervals (agent_id, from_at, n);
CREATE INDEX agent_state_intervals_from ON agent_state_intervals (from_at);

INSERT INTO agent_state_intervals (event_id, agent_id, state, from_state, reason, from_at)
  SELECT id, data->>'agentId', data->>'to', data->>'from', data->>'reason', at
    FROM ops_events
   WHERE type = 'agent.state_changed' AND jsonb_typeof(data->'agentId') = 'string' AND jsonb_typeof(data->'to') = 'string'
   ORDER BY at, recorded_at, id;
UPDATE agent_state_intervals i SET to_at = n.next_at
  FROM (SELECT event_id, lead(from_at) OVER (PARTITION BY agent_id ORDER BY from_at, n) AS next_at FROM agent_state_intervals) n
 WHERE i.event_id = n.event_id AND n.next_at IS NOT NULL;

-- Calls by the 15-minute bucket of their start and the dimensions reports filter on ('' = none).
-- Every column after the key is an additive measure of src/reports/call-measures.ts (times in
-- ms, wait_hNN a wait histogram), kept by adding each summary change's delta.
CREATE TABLE call_rollup_15m (
  bucket                 timestamptz NOT NULL,
  queue                  text NOT NULL,
  agent                  text NOT NULL,
  flow                   text NOT NULL,
  dialed                 text NOT NULL,
  first_key              text NOT NULL,
  offered                integer NOT NULL DEFAULT 0,
  ended                  integer NOT NULL DEFAULT 0,
  contained              integer NOT NULL DEFAULT 0,
  ivr_n                  integer NOT NULL DEFAULT 0,
  ivr_ms                 bigint NOT NULL DEFAULT 0,
  agent_requests         integer NOT NULL DEFAULT 0,
  reached_queue          integer NOT NULL DEFAULT 0,
  answered               integer NOT NULL DEFAULT 0,
  abandoned              integer NOT NULL DEFAULT 0,
  short_abandoned        integer NOT NULL DEFAULT 0,
  sl_within              integer NOT NULL DEFAULT 0,
  asa_n                  integer NOT NULL DEFAULT 0,
  asa_ms                 bigint NOT NULL DEFAULT 0,
  wait_n                 integer NOT NULL DEFAULT 0,
  wait_ms                bigint NOT NULL DEFAULT 0,
  wait_h00               integer NOT NULL DEFAULT 0,
  wait_h01               integer NOT NULL DEFAULT 0,
  wait_h02               integer NOT NULL DEFAULT 0,
  wait_h03               integer NOT NULL DEFAULT 0,
  wait_h04               integer NOT NULL DEFAULT 0,
  wait_h05               integer NOT NULL DEFAULT 0,
  wait_h06               integer NOT NULL DEFAULT 0,
  wait_h07               integer NOT NULL DEFAULT 0,
  wait_h08               integer NOT NULL DEFAULT 0,
  wait_h09               integer NOT NULL DEFAULT 0,
  wait_h10               integer NOT NULL DEFAULT 0,
  wait_h11               integer NOT NULL DEFAULT 0,
  wait_h12               integer NOT NULL DEFAULT 0,
  wait_h13               integer NOT NULL DEFAULT 0,
  wait_h14               integer NOT NULL DEFAULT 0,
  wait_h15               integer NOT NULL DEFAULT 0,
  wait_h16               integer NOT NULL DEFAULT 0,
  wait_h17               integer NOT NULL DEFAULT 0,
  wait_h18               integer NOT NULL DEFAULT 0,
  wait_h19               integer NOT NULL DEFAULT 0,
  wait_h20               integer NOT NULL DEFAULT 0,
  wait_h21               integer NOT NULL DEFAULT 0,
  wait_h22               integer NOT NULL DEFAULT 0,
  wait_h23               integer NOT NULL DEFAULT 0,
  aht_n                  integer NOT NULL DEFAULT 0,
  aht_ms                 bigint NOT NULL DEFAULT 0,
  handled                integer NOT NULL DEFAULT 0,
  transfers_to_ivr       integer NOT NULL DEFAULT 0,
  callbacks_requested    integer NOT NULL DEFAULT 0,
  callbacks_completed    integer NOT NULL DEFAULT 0,
  survey_offered         integer NOT NULL DEFAULT 0,
  survey_answered_calls  integer NOT NULL DEFAULT 0,
  survey_answers         integer NOT NULL DEFAULT 0,
  survey_score_sum       double precision NOT NULL DEFAULT 0,
  csat_yes               integer NOT NULL DEFAULT 0,
  csat_n                 integer NOT NULL DEFAULT 0,
  PRIMARY KEY (bucket, queue, agent, flow, dialed, first_key)
);
