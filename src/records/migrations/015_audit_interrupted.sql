-- A 'pending' audit row (written before a change outside Postgres, completed after it) stays
-- pending for good when its instance dies in between. Each process now names itself in the rows
-- it leaves pending (writer) and keeps a beat in audit_writers while it runs; a pending row whose
-- writer has not beaten for a while is resolved as 'interrupted': the change may or may not have
-- been made, and nobody is still making it (AuditStore.resolveInterrupted).
ALTER TABLE audit_log DROP CONSTRAINT audit_log_outcome_check;
ALTER TABLE audit_log ADD CONSTRAINT audit_log_outcome_check
  CHECK (outcome IN ('pending', 'applied', 'refused', 'failed', 'interrupted'));
ALTER TABLE audit_log ADD COLUMN writer uuid;

CREATE TABLE audit_writers (
  id uuid PRIMARY KEY,
  seen_at timestamptz NOT NULL DEFAULT now()
);

-- The periodic sweep reads only the rows still pending.
CREATE INDEX audit_log_pending ON audit_log (writer) WHERE outcome = 'pending';
