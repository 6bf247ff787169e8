-- Daily rollups (issue 5): call_rollup_15m and call_rollup_15m_no_agent summed per local day,
-- for reports by day, week and month (a 28-day report reads 28 buckets per row key, not
-- 2,688). `bucket` is the instant of the day's local midnight in the zone of
-- call_rollup_day_zone, so a day bucket falls into a report slot exactly as its 15-minute
-- buckets would, for reports in that zone (ReportStore uses them only then).
--
-- Kept by the same deltas as the 15-minute rollups, in the same transaction
-- (src/records/rollup-store.ts), each delta's day computed in SQL from the zone row; changing
-- the zone (syncDayZone, at start with HOTLINE_TIMEZONE) rebuilds both from the 15-minute ones
-- under the rollup rebuild lock.
CREATE TABLE call_rollup_day (LIKE call_rollup_15m INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
ALTER TABLE call_rollup_day ADD PRIMARY KEY (bucket, queue, agent, flow, dialed, first_key);
CREATE TABLE call_rollup_day_no_agent (LIKE call_rollup_15m_no_agent INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
ALTER TABLE call_rollup_day_no_agent ADD PRIMARY KEY (bucket, queue, flow, dialed, first_key);

-- One row: the IANA zone whose local days the daily rollups hold.
CREATE TABLE call_rollup_day_zone (
  one  boolean PRIMARY KEY DEFAULT true CHECK (one),
  zone text NOT NULL
);
INSERT INTO call_rollup_day_zone (zone) VALUES ('UTC');

-- Days of the calls recorded so far (UTC until the app sets its zone).
INSERT INTO call_rollup_day
  SELECT date_trunc('day', bucket AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', queue, agent, flow, dialed, first_key,
         sum(offered), sum(ended), sum(contained), sum(ivr_n), sum(ivr_ms), sum(agent_requests), sum(reached_queue), sum(answered), sum(abandoned), sum(short_abandoned), sum(sl_within), sum(asa_n), sum(asa_ms), sum(wait_n), sum(wait_ms), sum(wait_h00), sum(wait_h01), sum(wait_h02), sum(wait_h03), sum(wait_h04), sum(wait_h05), sum(wait_h06), sum(wait_h07), sum(wait_h08), sum(wait_h09), sum(wait_h10), sum(wait_h11), sum(wait_h12), sum(wait_h13), sum(wait_h14), sum(wait_h15), sum(wait_h16), sum(wait_h17), sum(wait_h18), sum(wait_h19), sum(wait_h20), sum(wait_h21), sum(wait_h22), sum(wait_h23), sum(aht_n), sum(aht_ms), sum(handled), sum(transfers_to_ivr), sum(callbacks_requested), sum(callbacks_completed), sum(survey_offered), sum(survey_answered_calls), sum(survey_answers), sum(survey_score_sum), sum(csat_yes), sum(csat_n)
    FROM call_rollup_15m
   GROUP BY 1, queue, agent, flow, dialed, first_key;
INSERT INTO call_rollup_day_no_agent
  SELECT date_trunc('day', bucket AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', queue, flow, dialed, first_key,
         sum(offered), sum(ended), sum(contained), sum(ivr_n), sum(ivr_ms), sum(agent_requests), sum(reached_queue), sum(answered), sum(abandoned), sum(short_abandoned), sum(sl_within), sum(asa_n), sum(asa_ms), sum(wait_n), sum(wait_ms), sum(wait_h00), sum(wait_h01), sum(wait_h02), sum(wait_h03), sum(wait_h04), sum(wait_h05), sum(wait_h06), sum(wait_h07), sum(wait_h08), sum(wait_h09), sum(wait_h10), sum(wait_h11), sum(wait_h12), sum(wait_h13), sum(wait_h14), sum(wait_h15), sum(wait_h16), sum(wait_h17), sum(wait_h18), sum(wait_h19), sum(wait_h20), sum(wait_h21), sum(wait_h22), sum(wait_h23), sum(aht_n), sum(aht_ms), sum(handled), sum(transfers_to_ivr), sum(callbacks_requested), sum(callbacks_completed), sum(survey_offered), sum(survey_answered_calls), sum(survey_answers), sum(survey_score_sum), sum(csat_yes), sum(csat_n)
    FROM call_rollup_15m_no_agent
   GROUP BY 1, queue, flow, dialed, first_key;
