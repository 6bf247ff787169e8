-- Events that belong to no call: agent state changes, routing configuration changes.
-- `subject` names what changed (`agent:<id>`, `queue:<name>`), so one agent's history is one index scan.
CREATE TABLE IF NOT EXISTS ops_events (
  id          uuid        PRIMARY KEY,
  type        text        NOT NULL,
  at          timestamptz NOT NULL,
  subject     text        NOT NULL,
  data        jsonb       NOT NULL DEFAULT '{}'::jsonb,
  recorded_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX IF NOT EXISTS ops_events_subject_at ON ops_events (subject, at);
CREATE INDEX IF NOT EXISTS ops_events_type_at ON ops_events (type, at);
