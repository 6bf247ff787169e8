-- The node heat map (issue 5): per 15-minute bucket of the call's start, flow, version and node,
-- the counts of src/kpi's nodeHeatMap (see src/reports/node-measures.ts), kept by adding each
-- summary change's delta in the same transaction as call_rollup_15m. `type` is the node's type
-- in that flow version (fixed once published). Calls recorded before this migration are not in
-- it until `hotline reports rebuild --rollups-only` recounts their range.
CREATE TABLE call_node_rollup_15m (
  bucket        timestamptz NOT NULL,
  flow          text NOT NULL,
  version       integer NOT NULL,
  node          text NOT NULL,
  type          text NOT NULL,
  entered       integer NOT NULL DEFAULT 0,
  calls         integer NOT NULL DEFAULT 0,
  moved_on      integer NOT NULL DEFAULT 0,
  ended_here    integer NOT NULL DEFAULT 0,
  hung_up_here  integer NOT NULL DEFAULT 0,
  ended_by_flow integer NOT NULL DEFAULT 0,
  lost_here     integer NOT NULL DEFAULT 0,
  current_calls integer NOT NULL DEFAULT 0,
  PRIMARY KEY (bucket, flow, version, node)
);
