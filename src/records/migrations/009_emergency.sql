-- Emergency mode: one row per hotline number switched to an announcement flow, with the flow it
-- had before (NULL: it was not mapped), so switching back restores it even after a restart.
CREATE TABLE IF NOT EXISTS emergency_numbers (
  number        text        PRIMARY KEY,
  flow_id       text        NOT NULL,
  previous_flow text,
  reason        text        NOT NULL,
  started_by    text        NOT NULL,
  started_at    timestamptz NOT NULL DEFAULT now()
);
