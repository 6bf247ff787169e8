-- Raw, append-only call events. `id` is the event's own id, so a retried insert is a no-op.
CREATE TABLE IF NOT EXISTS call_events (
  id          uuid        PRIMARY KEY,
  call_id     uuid        NOT NULL,
  seq         integer     NOT NULL CHECK (seq > 0),
  type        text        NOT NULL,
  at          timestamptz NOT NULL,
  data        jsonb       NOT NULL DEFAULT '{}'::jsonb,
  recorded_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX IF NOT EXISTS call_events_call_seq ON call_events (call_id, seq);
CREATE INDEX IF NOT EXISTS call_events_at ON call_events (at);
