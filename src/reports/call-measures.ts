import type { CallSummary } from '../kpi/call-summary.ts';
import {
  abandoned,
  agentRequests,
  aht,
  answered,
  asa,
  callbacks,
  handledByAgent,
  ivrContainment,
  meanIvrSeconds,
  offered,
  reachedQueue,
  serviceLevel,
  survey,
  transfersToIvr,
  waitTimes,
  type KpiOptions,
} from '../kpi/kpis.ts';

/**
 * What one call adds to a report, as additive numbers (the columns of `call_rollup_15m`), so a
 * report over any set of calls is the sum of its calls' measures. Each measure is read off the
 * KPI functions of src/kpi applied to that one call: a KPI's definition lives there only, and
 * a report recombines sums the way the KPI combines calls (see report-kpis.ts). A test checks
 * that the recombined sums equal the KPIs computed over the same calls.
 *
 * Times are whole milliseconds (bigint columns), so adding a call's new measures and
 * subtracting its old ones never drifts the way floating-point sums would.
 *
 * p90 wait is not additive; each call adds 1 to one bin of a fixed wait histogram instead
 * (WAIT_BIN_EDGES), and a report gives the bin holding the nearest-rank p90.
 */

/** Upper edges (inclusive, seconds) of the wait histogram bins; the last bin is everything above the last edge. */
export const WAIT_BIN_EDGES = [0, 1, 2, 3, 5, 10, 15, 20, 25, 30, 45, 60, 90, 120, 180, 240, 300, 420, 600, 900, 1200, 1800, 3600] as const;
export const WAIT_BINS = WAIT_BIN_EDGES.length + 1;

/** Histogram column names: wait_h00 .. wait_h23. */
export const WAIT_BIN_COLUMNS: readonly string[] = Array.from({ length: WAIT_BINS }, (_, i) => `wait_h${String(i).padStart(2, '0')}`);

/** Additive measures and their rollup columns. Every one is a whole number except the survey score sum. */
export const MEASURE_COLUMNS = [
  'offered',
  'ended',
  'contained',
  'ivr_n',
  'ivr_ms',
  'agent_requests',
  'reached_queue',
  'answered',
  'abandoned',
  'short_abandoned',
  'sl_within',
  'asa_n',
  'asa_ms',
  'wait_n',
  'wait_ms',
  ...WAIT_BIN_COLUMNS,
  'aht_n',
  'aht_ms',
  'handled',
  'transfers_to_ivr',
  'callbacks_requested',
  'callbacks_completed',
  'survey_offered',
  'survey_answered_calls',
  'survey_answers',
  'survey_score_sum',
  'csat_yes',
  'csat_n',
] as const;

export type MeasureColumn = string;
/** Column -> value; columns a call does not touch are absent (0). */
export type Measures = Record<MeasureColumn, number>;

/** The dimensions a rollup row is keyed by besides its 15-minute bucket; '' stands for none. */
export interface RollupDims {
  readonly queue: string;
  readonly agent: string;
  readonly flow: string;
  readonly dialed: string;
  readonly firstKey: string;
}

export interface RollupKey extends RollupDims {
  /** Start of the call's 15-minute bucket, epoch milliseconds (UTC-aligned; every zone's offset is a multiple of 15 minutes). */
  readonly bucket: number;
}

export interface Contribution {
  readonly key: RollupKey;
  readonly measures: Measures;
}

export const BUCKET_MS = 15 * 60_000;

/** The call's rollup row: the bucket of its start and its dimensions. Null for a summary without a usable start. */
export function rollupKey(c: CallSummary): RollupKey | null {
  const started = c.startedAt === null ? NaN : Date.parse(c.startedAt);
  if (!Number.isFinite(started)) return null;
  return {
    bucket: Math.floor(started / BUCKET_MS) * BUCKET_MS,
    queue: c.queue ?? '',
    agent: c.agentId ?? '',
    flow: c.flow ?? '',
    dialed: c.dialed ?? '',
    firstKey: c.firstLevelKey ?? '',
  };
}

/** Bin index of a wait in seconds (the first bin whose upper edge holds it). */
export function waitBin(seconds: number): number {
  const i = WAIT_BIN_EDGES.findIndex((edge) => seconds <= edge);
  return i === -1 ? WAIT_BINS - 1 : i;
}

/** One call's contribution to its rollup row; null when the call has no start time. */
export function contribution(c: CallSummary, opts: KpiOptions = {}): Contribution | null {
  const key = rollupKey(c);
  if (!key) return null;
  const one = [c];
  const m: Measures = {};
  const add = (column: string, value: number) => {
    if (value !== 0 && Number.isFinite(value)) m[column] = (m[column] ?? 0) + value;
  };
  const addMean = (n: string, sum: string, value: number | null) => {
    if (value === null) return;
    add(n, 1);
    add(sum, ms(value));
  };

  add('offered', offered(one));
  const containment = ivrContainment(one);
  add('ended', containment.ended);
  add('contained', containment.contained);
  addMean('ivr_n', 'ivr_ms', meanIvrSeconds(one));
  add('agent_requests', agentRequests(one));
  const reached = reachedQueue(one);
  add('reached_queue', reached);
  add('answered', answered(one));
  const lost = abandoned(one, opts);
  add('abandoned', lost.abandoned);
  add('short_abandoned', lost.shortAbandoned);
  // One call's service level is within / (reached − short), a denominator of 0 or 1.
  add('sl_within', (serviceLevel(one, opts) ?? 0) * (reached - lost.shortAbandoned));
  addMean('asa_n', 'asa_ms', asa(one));
  const wait = waitTimes(one).mean;
  addMean('wait_n', 'wait_ms', wait);
  if (wait !== null) add(WAIT_BIN_COLUMNS[waitBin(wait)]!, 1);
  addMean('aht_n', 'aht_ms', aht(one));
  add('handled', Object.values(handledByAgent(one)).reduce((a, b) => a + b, 0));
  add('transfers_to_ivr', transfersToIvr(one));
  const cb = callbacks(one);
  add('callbacks_requested', cb.requested);
  add('callbacks_completed', cb.completed);
  const s = survey(one);
  add('survey_offered', s.offered);
  add('survey_answered_calls', s.answeredCalls);
  add('survey_answers', s.answers);
  // Score and CSAT per answer: the call seen with that one answer, so survey() decides what counts.
  for (const answer of c.surveyAnswers) {
    const each = survey([{ ...c, surveyAnswers: [answer] }]);
    if (each.meanScore !== null) add('survey_score_sum', each.meanScore);
    if (each.csat !== null) {
      add('csat_n', 1);
      add('csat_yes', each.csat);
    }
  }
  return { key, measures: m };
}

function ms(seconds: number): number {
  return Math.round(seconds * 1000);
}

export function sameKey(a: RollupKey, b: RollupKey): boolean {
  return a.bucket === b.bucket && a.queue === b.queue && a.agent === b.agent && a.flow === b.flow && a.dialed === b.dialed && a.firstKey === b.firstKey;
}

export function keyString(k: RollupKey): string {
  return JSON.stringify([k.bucket, k.queue, k.agent, k.flow, k.dialed, k.firstKey]);
}

/**
 * The rollup changes when a call's summary goes from `before` to `after`: its old measures
 * come off its old row and its new ones go onto its new row (a call's queue, agent or key is
 * known only as it goes on). Accumulates into `into` (row key string -> delta), skipping zeros.
 */
export function addDelta(into: Map<string, Contribution>, before: Contribution | null, after: Contribution | null): void {
  if (before) accumulate(into, before.key, before.measures, -1);
  if (after) accumulate(into, after.key, after.measures, 1);
}

function accumulate(into: Map<string, Contribution>, key: RollupKey, measures: Measures, sign: 1 | -1): void {
  const k = keyString(key);
  let row = into.get(k);
  if (!row) {
    row = { key, measures: {} };
    into.set(k, row);
  }
  for (const [column, value] of Object.entries(measures)) {
    const next = (row.measures[column] ?? 0) + sign * value;
    if (next === 0) delete row.measures[column];
    else row.measures[column] = next;
  }
}

/** Deltas that change something, in key order (rows are locked in that order, so two writers never deadlock). */
export function nonZeroDeltas(deltas: Map<string, Contribution>): Contribution[] {
  return [...deltas.entries()]
    .filter(([, d]) => Object.keys(d.measures).length > 0)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, d]) => d);
}

/** The same deltas summed over agents (for the rollup without the agent dimension), in key order. */
export function withoutAgent(deltas: readonly Contribution[]): Contribution[] {
  const out = new Map<string, Contribution>();
  for (const d of deltas) addDelta(out, null, { key: { ...d.key, agent: '' }, measures: d.measures });
  return nonZeroDeltas(out);
}
