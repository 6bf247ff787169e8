import { ratio } from '../kpi/stats.ts';
import { WAIT_BIN_COLUMNS, WAIT_BIN_EDGES, type Measures } from './call-measures.ts';

/**
 * Turns summed rollup measures back into the KPIs of src/kpi/kpis.ts, in the shape
 * `callKpis` returns: counts are sums, rates are ratio(sum, sum), means are sum / n. Only the
 * p90 wait differs: rollups keep a histogram, so a report gives the bin that holds the
 * nearest-rank p90 (`p90Above` < p90 ≤ `p90AtMost`) instead of the value itself.
 */
export interface ReportKpis {
  readonly offered: number;
  readonly ended: number;
  readonly contained: number;
  readonly ivrContainmentRate: number | null;
  readonly meanIvrSeconds: number | null;
  readonly firstLevelKeys: { key: string; calls: number; share: number }[];
  readonly agentRequests: number;
  readonly reachedQueue: number;
  readonly answered: number;
  readonly abandoned: number;
  readonly shortAbandoned: number;
  readonly answerRate: number | null;
  readonly serviceLevel: number | null;
  readonly asa: number | null;
  readonly wait: { mean: number | null; p90Above: number | null; p90AtMost: number | null };
  readonly aht: number | null;
  readonly handled: number;
  readonly handledByAgent: Record<string, number>;
  readonly transfersToIvr: number;
  readonly callbacks: { requested: number; completed: number };
  readonly survey: {
    offered: number;
    answeredCalls: number;
    participation: number | null;
    answers: number;
    meanScore: number | null;
    csat: number | null;
  };
}

/** `byKey`: offered calls per first-level key (none = ''); `byAgent`: handled calls per agent (none = ''). */
export function kpisFromMeasures(m: Measures, byKey: ReadonlyMap<string, number>, byAgent: ReadonlyMap<string, number>): ReportKpis {
  const v = (column: string) => m[column] ?? 0;
  const meanMs = (sum: string, n: string) => (v(n) > 0 ? v(sum) / v(n) / 1000 : null);
  const keys = [...byKey.entries()].filter(([k, n]) => k !== '' && n > 0).sort(([a], [b]) => a.localeCompare(b));
  const keyed = keys.reduce((a, [, n]) => a + n, 0);
  const handledByAgent: Record<string, number> = {};
  for (const [agent, n] of [...byAgent.entries()].sort(([a], [b]) => a.localeCompare(b))) if (agent !== '' && n > 0) handledByAgent[agent] = n;
  return {
    offered: v('offered'),
    ended: v('ended'),
    contained: v('contained'),
    ivrContainmentRate: ratio(v('contained'), v('ended')),
    meanIvrSeconds: meanMs('ivr_ms', 'ivr_n'),
    firstLevelKeys: keys.map(([key, n]) => ({ key, calls: n, share: n / keyed })),
    agentRequests: v('agent_requests'),
    reachedQueue: v('reached_queue'),
    answered: v('answered'),
    abandoned: v('abandoned'),
    shortAbandoned: v('short_abandoned'),
    answerRate: ratio(v('answered'), v('agent_requests')),
    serviceLevel: ratio(v('sl_within'), v('reached_queue') - v('short_abandoned')),
    asa: meanMs('asa_ms', 'asa_n'),
    wait: { mean: meanMs('wait_ms', 'wait_n'), ...p90Bin(m) },
    aht: meanMs('aht_ms', 'aht_n'),
    handled: v('handled'),
    handledByAgent,
    transfersToIvr: v('transfers_to_ivr'),
    callbacks: { requested: v('callbacks_requested'), completed: v('callbacks_completed') },
    survey: {
      offered: v('survey_offered'),
      answeredCalls: v('survey_answered_calls'),
      participation: ratio(v('survey_answered_calls'), v('survey_offered')),
      answers: v('survey_answers'),
      meanScore: v('survey_answers') > 0 ? v('survey_score_sum') / v('survey_answers') : null,
      csat: ratio(v('csat_yes'), v('csat_n')),
    },
  };
}

/**
 * The histogram bin holding the nearest-rank p90 (the same rank `percentile` in stats.ts
 * takes): its lower edge (exclusive; null for the first bin) and upper edge (inclusive; null
 * for the open last bin). Both null when no wait was measured.
 */
export function p90Bin(m: Measures): { p90Above: number | null; p90AtMost: number | null } {
  const counts = WAIT_BIN_COLUMNS.map((c) => m[c] ?? 0);
  const n = counts.reduce((a, b) => a + b, 0);
  if (n === 0) return { p90Above: null, p90AtMost: null };
  const rank = Math.max(1, Math.ceil((90 / 100) * n));
  let seen = 0;
  const i = counts.findIndex((count) => (seen += count) >= rank);
  return { p90Above: i === 0 ? null : WAIT_BIN_EDGES[i - 1]!, p90AtMost: WAIT_BIN_EDGES[i] ?? null };
}

/** Adds `b` into `a` (summing rollup rows in memory). */
export function addMeasures(a: Measures, b: Readonly<Measures>): Measures {
  for (const [k, x] of Object.entries(b)) if (x) a[k] = (a[k] ?? 0) + x;
  return a;
}
