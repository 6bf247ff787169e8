import { z } from 'zod';
import { agentsNeeded, staffingTable, type StaffingTarget } from '../capacity/erlang-c.ts';
import { sameWeekdayForecast } from '../capacity/forecast.ts';
import type { CallReports } from './call-reports.ts';
import { ReportError } from './report-errors.ts';
import { addMeasures, kpisFromMeasures } from './report-kpis.ts';
import type { ReportSource } from './report-source.ts';
import { isTimeZone, localIso } from './time-zone.ts';

const Name = z.string().min(1).max(200);

/** Query string of GET /capacity. */
export const CapacityQuery = z.strictObject({
  /** The day to plan (local calendar date). */
  day: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'YYYY-MM-DD'),
  /** Same weekday of this many past weeks is averaged. */
  weeks: z.coerce.number().int().min(1).max(52).default(4),
  interval: z.enum(['15m', '30m', '60m']).default('30m'),
  /** <percent>/<seconds>, as `hotline capacity --target`. */
  target: z.string().regex(/^\d+(\.\d+)?\/\d+(\.\d+)?$/, '<percent>/<seconds>, e.g. 80/20').default('80/20'),
  /** Handle time to plan with; default the AHT of the same history. */
  aht: z.coerce.number().positive().max(86_400).optional(),
  shrinkage: z.coerce.number().min(0).lt(1).optional(),
  maxOccupancy: z.coerce.number().gt(0).max(1).optional(),
  tz: z.string().min(1).max(64).optional(),
  queue: Name.optional(),
  skill: Name.optional(),
  flow: Name.optional(),
  number: Name.optional(),
});
export type CapacityQuery = z.infer<typeof CapacityQuery>;

export interface CapacityRow {
  readonly start: string;
  readonly end: string;
  /** Forecast calls offered in the interval. */
  readonly calls: number;
  readonly load: number;
  readonly agents: number;
  readonly scheduled: number;
  readonly serviceLevel: number;
  readonly asaSeconds: number;
  readonly occupancy: number;
  readonly probabilityOfWaiting: number;
}

export interface CapacityPlan {
  readonly day: string;
  readonly timezone: string;
  readonly interval: '15m' | '30m' | '60m';
  readonly weeks: number;
  /** The past days averaged, newest first (days without any recorded call are left out). */
  readonly basedOn: string[];
  readonly ahtSeconds: number;
  readonly ahtFrom: 'query' | 'history';
  readonly target: StaffingTarget;
  readonly rows: CapacityRow[];
}

const MINUTES = { '15m': 15, '30m': 30, '60m': 60 } as const;

/**
 * Erlang C staffing for one day from the recorded history: calls offered per interval forecast
 * as the mean of the same weekday over the last N weeks (src/capacity/forecast.ts), AHT from the
 * same days unless given, agents per interval from src/capacity/erlang-c.ts.
 */
export async function capacityPlan(deps: { source: ReportSource; reports: CallReports; timezone: string }, q: CapacityQuery): Promise<CapacityPlan> {
  const tz = q.tz ?? deps.timezone;
  if (!isTimeZone(tz)) throw new ReportError(400, 'unknown_timezone', `unknown time zone ${tz}`);
  shiftDay(q.day, 0); // a real calendar day, or 400
  const target = parseTarget(q);
  const filter = deps.reports.filter(q);
  const history = new Map<string, number[]>();
  const measures = {};
  const past = Array.from({ length: q.weeks }, (_, i) => shiftDay(q.day, -7 * (i + 1)));
  await Promise.all(
    past.map(async (day) => {
      const { from, to } = await deps.reports.range(day, shiftDay(day, 1), tz, q.interval);
      if (!(await deps.source.recorded(from, to))) return;
      const starts = await deps.source.slotStarts(from, to, q.interval, tz);
      const slots = await deps.source.slotSums(starts, from, to, filter);
      history.set(day, slots.map((s) => s.measures.offered ?? 0));
      for (const s of slots) addMeasures(measures, s.measures);
    }),
  );
  const forecast = sameWeekdayForecast(history, q.day, q.weeks);
  const historyAht = kpisFromMeasures(measures, new Map(), new Map()).aht;
  const aht = q.aht ?? historyAht;
  if (aht === null || !(aht > 0)) throw new ReportError(422, 'aht_unknown', 'no handled calls in the history to take an AHT from: give aht');
  const { from, to } = await deps.reports.range(q.day, shiftDay(q.day, 1), tz, q.interval);
  const starts = await deps.source.slotStarts(from, to, q.interval, tz);
  const calls = starts.map((_, i) => forecast.calls[i] ?? 0);
  let table;
  try {
    table = staffingTable(calls, MINUTES[q.interval], aht, target);
  } catch (err) {
    if (err instanceof RangeError) throw new ReportError(422, 'capacity_unreachable', err.message);
    throw err;
  }
  return {
    day: q.day,
    timezone: tz,
    interval: q.interval,
    weeks: q.weeks,
    basedOn: forecast.basedOn,
    ahtSeconds: aht,
    ahtFrom: q.aht !== undefined ? 'query' : 'history',
    target,
    rows: table.map((r, i) => ({ start: localIso(starts[i]!, tz), end: localIso(starts[i + 1] ?? to, tz), ...r })),
  };
}

function parseTarget(q: CapacityQuery): StaffingTarget {
  const [percent, seconds] = q.target.split('/').map(Number) as [number, number];
  const target: StaffingTarget = { serviceLevel: percent / 100, targetSeconds: seconds, shrinkage: q.shrinkage, maxOccupancy: q.maxOccupancy };
  try {
    agentsNeeded(1, 60, target); // checks the target itself, whatever the history
  } catch (err) {
    throw new ReportError(400, 'invalid_target', (err as Error).message);
  }
  return target;
}

/** A calendar day `days` after `day` (YYYY-MM-DD; dates, not instants, so DST never shifts it). */
function shiftDay(day: string, days: number): string {
  const t = Date.parse(`${day}T00:00:00Z`);
  if (!Number.isFinite(t) || new Date(t).toISOString().slice(0, 10) !== day) throw new ReportError(400, 'invalid_day', `not a calendar day: ${day}`);
  return new Date(t + days * 86_400_000).toISOString().slice(0, 10);
}
