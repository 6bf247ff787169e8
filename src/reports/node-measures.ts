import type { CallSummary } from '../kpi/call-summary.ts';
import { nodeHeatMap, type NodeHeat } from '../kpi/kpis.ts';
import { BUCKET_MS } from './call-measures.ts';
import type { SummaryChange } from './summary-updates.ts';

/**
 * What one call adds to the node heat map rollup (`call_node_rollup_15m`): the KPI of
 * src/kpi (nodeHeatMap) over that one call, filed under the 15-minute bucket the call started
 * in. Every count is additive over calls, so a report over any range is the sum of its rows and
 * equals nodeHeatMap over the same calls; the rollup is kept like call_rollup_15m, by adding
 * the difference between a call's contribution before and after each batch.
 */

/** The counts of a NodeHeat that a rollup row sums, with their column names. */
export const NODE_MEASURES = [
  ['entered', 'entered'],
  ['calls', 'calls'],
  ['movedOn', 'moved_on'],
  ['endedHere', 'ended_here'],
  ['hungUpHere', 'hung_up_here'],
  ['endedByFlow', 'ended_by_flow'],
  ['lostHere', 'lost_here'],
  ['current', 'current_calls'],
] as const satisfies ReadonlyArray<readonly [keyof NodeHeat, string]>;

export type NodeMeasure = (typeof NODE_MEASURES)[number][0];

export interface NodeRollupDelta {
  /** Epoch milliseconds of the bucket start. */
  readonly bucket: number;
  readonly flow: string;
  readonly version: number;
  readonly node: string;
  readonly type: string;
  readonly counts: Record<NodeMeasure, number>;
}

function rowKey(bucket: number, h: { flow: string; version: number; node: string }): string {
  return JSON.stringify([bucket, h.flow, h.version, h.node]);
}

function accumulate(into: Map<string, NodeRollupDelta>, c: CallSummary | null, sign: 1 | -1): void {
  const started = c?.startedAt == null ? NaN : Date.parse(c.startedAt);
  if (!c || !Number.isFinite(started)) return;
  const bucket = Math.floor(started / BUCKET_MS) * BUCKET_MS;
  for (const h of nodeHeatMap([c])) {
    const k = rowKey(bucket, h);
    let row = into.get(k);
    if (!row) {
      row = { bucket, flow: h.flow, version: h.version, node: h.node, type: h.type, counts: Object.fromEntries(NODE_MEASURES.map(([m]) => [m, 0])) as Record<NodeMeasure, number> };
      into.set(k, row);
    }
    for (const [m] of NODE_MEASURES) row.counts[m] += sign * h[m];
  }
}

/**
 * The node rollup changes of a batch of summary changes, rows that change something only, in
 * key order (two writers lock shared rows in the same order, as with the call rollup).
 */
export function nodeRollupDeltas(changes: readonly SummaryChange[]): NodeRollupDelta[] {
  const into = new Map<string, NodeRollupDelta>();
  for (const ch of changes) {
    accumulate(into, ch.before, -1);
    accumulate(into, ch.after, 1);
  }
  return sortedNonZero(into);
}

/** The rows of a set of calls, from nothing (a rebuild). */
export function nodeRollupRows(calls: Iterable<CallSummary>, into = new Map<string, NodeRollupDelta>()): Map<string, NodeRollupDelta> {
  for (const c of calls) accumulate(into, c, 1);
  return into;
}

export function sortedNonZero(rows: Map<string, NodeRollupDelta>): NodeRollupDelta[] {
  return [...rows.entries()]
    .filter(([, d]) => NODE_MEASURES.some(([m]) => d.counts[m] !== 0))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, d]) => d);
}
