-- Calls whose wrap-up must be looked up again (issue 5): the agent-interval folder appends a
-- call here when a wrap_up interval near its talk's end got its end, in the transaction that
-- set it, and the wrap-up refresh (src/records/wrap-up-refresh.ts) reads them back in a
-- transaction of its own. The hand-over is what keeps the interval folder from locking calls
-- while it holds agents' locks (the call folder locks calls, then agents). Append-only (no
-- unique key), so an append never waits for a refresh that is deleting the same call.
CREATE TABLE call_wrap_up_refresh (
  id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  call_id   uuid NOT NULL,
  queued_at timestamptz NOT NULL DEFAULT now()
);
