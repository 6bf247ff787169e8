import { foldCallEvent, emptySummary, type CallSummary, type FoldableEvent } from '../kpi/call-summary.ts';
import type { KpiOptions } from '../kpi/kpis.ts';
import { addDelta, contribution, type Contribution } from './call-measures.ts';

/**
 * How a batch of newly stored events changes the call summaries, without I/O: which events
 * are new, what each call's summary becomes, and what that does to the rollups. The Postgres
 * side (src/records/call-record-sink.ts) reads and writes; this decides.
 */

/**
 * The events of a batch payload (a JSON array, as the event stream carries it), once each; with
 * `inserted`, only those whose ids are in it. Ids and call ids are lower-cased as Postgres
 * prints uuids. An event folded before (a redelivered fold batch) comes back too: its seq is
 * not after its call's lastSeq, so foldOnto answers 'refold' and the call is folded afresh.
 */
export function newEvents(payload: string, inserted?: ReadonlySet<string>): FoldableEvent[] {
  const out: FoldableEvent[] = [];
  const seen = new Set<string>();
  for (const raw of JSON.parse(payload) as Array<Record<string, unknown>>) {
    const id = String(raw.id).toLowerCase();
    if ((inserted && !inserted.has(id)) || seen.has(id)) continue;
    seen.add(id);
    out.push({
      callId: String(raw.callId).toLowerCase(),
      seq: Number(raw.seq),
      type: String(raw.type),
      at: String(raw.at),
      data: (raw.data ?? {}) as Record<string, unknown>,
    });
  }
  return out;
}

export function groupByCall(events: readonly FoldableEvent[]): Map<string, FoldableEvent[]> {
  const byCall = new Map<string, FoldableEvent[]>();
  for (const e of events) {
    const list = byCall.get(e.callId);
    if (list) list.push(e);
    else byCall.set(e.callId, [e]);
  }
  return byCall;
}

/**
 * Folds a call's new events onto its stored summary (none yet: an empty one), in seq order.
 * Returns 'refold' when an event is not after the summary's lastSeq: it arrived late (a spool
 * replay, or another consumer committed later events first), and folding it now would ignore
 * it, so the caller folds the call again from all its stored events.
 */
export function foldOnto(prev: CallSummary | null, callId: string, events: readonly FoldableEvent[]): CallSummary | 'refold' {
  const sorted = [...events].sort((a, b) => a.seq - b.seq);
  if (prev && sorted.some((e) => e.seq <= prev.lastSeq)) return 'refold';
  return sorted.reduce<CallSummary>((s, e) => foldCallEvent(s, e), prev ?? emptySummary(callId));
}

/** A call's summary before and after this batch (before is null for a call seen for the first time). */
export interface SummaryChange {
  readonly before: CallSummary | null;
  readonly after: CallSummary;
}

/** What the changes do to the 15-minute rollup, row by row. */
export function rollupDeltas(changes: readonly SummaryChange[], opts: KpiOptions): Map<string, Contribution> {
  const deltas = new Map<string, Contribution>();
  for (const c of changes) addDelta(deltas, c.before ? contribution(c.before, opts) : null, contribution(c.after, opts));
  return deltas;
}
