-- The agent report reads the intervals that overlap its range: those starting in it
-- (agent_state_intervals_from) and those that started before and end inside or after it, or
-- are still open (this index), without scanning older history.
CREATE INDEX agent_state_intervals_to ON agent_state_intervals (to_at);
