-- call_events partitioned by UTC day, so retention drops whole days (DROP TABLE, no vacuum)
-- and a day's queries read one partition.
--
-- The table from 001 is rebuilt: renamed, its rows copied into the partitioned table, dropped,
-- all in this migration's one transaction (a failure leaves 001's table as it was). The copy
-- holds an exclusive lock on the old table: events keep flowing into Redis meanwhile and are
-- written when the migration commits, but a large table makes /ready wait; run
-- `hotline migrate` ahead of the deploy in a quiet hour for one.
--
-- A partitioned table's unique keys must contain the partition key, so the primary key is
-- (id, at) and inserts say ON CONFLICT (id, at) DO NOTHING. Idempotency is unchanged: an
-- event is serialised once, so every copy of it (retry, re-delivery, spool replay) carries the
-- same `at` and lands on the same row.
--
-- Rows with no day partition (older than the partitions made here, or a clock far ahead) go to
-- the DEFAULT partition; call_events_ensure_day moves them out when their day is created.

ALTER TABLE call_events RENAME TO call_events_unpartitioned;
ALTER INDEX call_events_pkey RENAME TO call_events_unpartitioned_pkey;
ALTER INDEX IF EXISTS call_events_call_seq RENAME TO call_events_unpartitioned_call_seq;
ALTER INDEX IF EXISTS call_events_at RENAME TO call_events_unpartitioned_at;

CREATE TABLE call_events (
  id          uuid        NOT NULL,
  call_id     uuid        NOT NULL,
  seq         integer     NOT NULL CHECK (seq > 0),
  type        text        NOT NULL,
  at          timestamptz NOT NULL,
  data        jsonb       NOT NULL DEFAULT '{}'::jsonb,
  recorded_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (id, at)
) PARTITION BY RANGE (at);

CREATE INDEX call_events_call_seq ON call_events (call_id, seq);
CREATE INDEX call_events_at ON call_events (at);
CREATE TABLE call_events_default PARTITION OF call_events DEFAULT;

-- Creates the partition of one UTC day (call_events_YYYYMMDD) unless it exists. Serialised by
-- an advisory lock, so app instances may all call it.
CREATE FUNCTION call_events_ensure_day(day date) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  part text := 'call_events_' || to_char(day, 'YYYYMMDD');
  lo   timestamptz := day::timestamp AT TIME ZONE 'UTC';
  hi   timestamptz := (day + 1)::timestamp AT TIME ZONE 'UTC';
BEGIN
  PERFORM pg_advisory_xact_lock(7041100861);
  IF to_regclass(part) IS NOT NULL THEN
    RETURN;
  END IF;
  IF EXISTS (SELECT 1 FROM call_events_default WHERE at >= lo AND at < hi) THEN
    -- The default partition holds rows of that day: move them into the new partition first.
    EXECUTE format('CREATE TABLE %I (LIKE call_events INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', part);
    EXECUTE format('WITH moved AS (DELETE FROM call_events_default WHERE at >= $1 AND at < $2 RETURNING *) INSERT INTO %I SELECT * FROM moved', part)
      USING lo, hi;
    EXECUTE format('ALTER TABLE call_events ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', part, lo, hi);
  ELSE
    EXECUTE format('CREATE TABLE %I PARTITION OF call_events FOR VALUES FROM (%L) TO (%L)', part, lo, hi);
  END IF;
END $$;

-- Day partitions from `first` to `last` (inclusive); the writer calls it at start and hourly.
CREATE FUNCTION call_events_ensure_days(first date, last date) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  d date := first;
BEGIN
  WHILE d <= last LOOP
    PERFORM call_events_ensure_day(d);
    d := d + 1;
  END LOOP;
END $$;

-- Retention: drops the day partitions that end on or before `keep_from` and deletes older rows
-- from the default partition. Returns how many partitions it dropped.
CREATE FUNCTION call_events_drop_before(keep_from date) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
  part record;
  dropped integer := 0;
BEGIN
  PERFORM pg_advisory_xact_lock(7041100861);
  FOR part IN
    SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = 'call_events'::regclass AND c.relname ~ '^call_events_[0-9]{8}$'
       AND to_date(substr(c.relname, 13), 'YYYYMMDD') < keep_from
  LOOP
    EXECUTE format('DROP TABLE %I', part.relname);
    dropped := dropped + 1;
  END LOOP;
  DELETE FROM call_events_default WHERE at < (keep_from::timestamp AT TIME ZONE 'UTC');
  RETURN dropped;
END $$;

SELECT call_events_ensure_days((now() AT TIME ZONE 'UTC')::date - 1, (now() AT TIME ZONE 'UTC')::date + 7);

INSERT INTO call_events (id, call_id, seq, type, at, data, recorded_at)
  SELECT id, call_id, seq, type, at, data, recorded_at FROM call_events_unpartitioned;
DROP TABLE call_events_unpartitioned;
