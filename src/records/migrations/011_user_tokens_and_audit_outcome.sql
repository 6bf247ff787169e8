-- Revocable login JWTs (issue 6): every JWT carries its user's id and token_version; deleting
-- the user or changing their role or password bumps (or removes) it, so every earlier token is
-- refused. Logout of a single token is a Redis denylist entry (src/redis/token-revocations.ts).
ALTER TABLE users ADD COLUMN IF NOT EXISTS token_version integer NOT NULL DEFAULT 0;

-- Changes that are not Postgres writes in one transaction with their audit row (Redis-backed
-- queue/agent config, emergency mode's several writes and its pub/sub notice) are audited
-- first, as 'pending', and the row is completed with the outcome: a change whose audit row
-- cannot be written is never made. Rows written in the change's own transaction are 'applied'.
ALTER TABLE audit_log ADD COLUMN IF NOT EXISTS outcome text NOT NULL DEFAULT 'applied'
  CHECK (outcome IN ('pending', 'applied', 'refused', 'failed'));
