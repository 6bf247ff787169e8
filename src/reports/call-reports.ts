import { z } from 'zod';
import { DEFAULT_SERVICE_LEVEL_SECONDS, DEFAULT_SHORT_ABANDON_SECONDS, type KpiOptions } from '../kpi/kpis.ts';
import { BUCKET_MS } from './call-measures.ts';
import { ReportError } from './report-errors.ts';
import { addMeasures, kpisFromMeasures, type ReportKpis } from './report-kpis.ts';
import { SLOT_UNITS, type ReportSource, type RollupFilter, type SlotSums, type SlotUnit } from './report-source.ts';
import { isTimeZone, localIso } from './time-zone.ts';

/** A date (local midnight), a local date-time, or an instant with Z or an offset. */
const When = z.string().regex(/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}(:?\d{2})?)?)?$/, 'YYYY-MM-DD, YYYY-MM-DDTHH:mm (local) or an ISO instant with Z or an offset');
const Name = z.string().min(1).max(200);

/** Query string of GET /reports/calls; unknown parameters are refused (a typo must not silently widen a report). */
export const CallReportQuery = z.strictObject({
  from: When,
  to: When,
  interval: z.enum(SLOT_UNITS).default('60m'),
  /** IANA zone of local dates, days, weeks and months; default the hotline's (HOTLINE_TIMEZONE). */
  tz: z.string().min(1).max(64).optional(),
  queue: Name.optional(),
  /** The queues whose configuration requires this skill. */
  skill: Name.optional(),
  agent: Name.optional(),
  flow: Name.optional(),
  number: Name.optional(),
  format: z.enum(['json', 'csv']).optional(),
});
export type CallReportQuery = z.infer<typeof CallReportQuery>;

/** Longest range per interval (so a report stays a few thousand rows at most). */
const MAX_DAYS: Record<SlotUnit, number> = { '15m': 31, '30m': 31, '60m': 93, day: 732, week: 1_830, month: 3_660 };

export interface ReportRow extends ReportKpis {
  /** Local ISO time with offset; the first and last slot are cut to the report's range. */
  readonly start: string;
  readonly end: string;
}

export interface CallReport {
  readonly from: string;
  readonly to: string;
  readonly interval: SlotUnit;
  readonly timezone: string;
  readonly filters: { queue?: string; skill?: string; queues?: readonly string[]; agent?: string; flow?: string; number?: string };
  /** The thresholds the rollup counted with (service level T, short abandon). */
  readonly serviceLevelSeconds: number;
  readonly shortAbandonSeconds: number;
  readonly rows: ReportRow[];
  readonly total: ReportKpis;
}

export interface CallReportsDeps {
  readonly source: ReportSource;
  /** Default zone of reports. */
  readonly timezone: string;
  /** Queues whose configuration requires the skill (empty: none does). */
  readonly queuesWithSkill: (skill: string) => readonly string[];
  /** The thresholds CallRecordSink counts with. */
  readonly kpi?: KpiOptions;
}

/**
 * Call reports: KPIs per slot (15/30/60 minutes, local day, week, month) over the 15-minute
 * rollup, filtered by queue, skill, agent, flow and dialed number. A call belongs to the slot
 * it started in; a filter on agent keeps the calls that agent answered. Calls still in
 * progress count as the KPIs count them (offered at once, ended-call KPIs once they end).
 */
export class CallReports {
  private readonly deps: CallReportsDeps;

  constructor(deps: CallReportsDeps) {
    this.deps = deps;
  }

  async calls(q: CallReportQuery): Promise<CallReport> {
    const tz = q.tz ?? this.deps.timezone;
    if (!isTimeZone(tz)) throw new ReportError(400, 'unknown_timezone', `unknown time zone ${tz}`);
    const { from, to } = await this.range(q.from, q.to, tz, q.interval);
    const filter = this.filter(q);
    const starts = await this.deps.source.slotStarts(from, to, q.interval, tz);
    const slots = await this.deps.source.slotSums(starts, from, to, filter);
    const rows = starts.map((start, i) => {
      const s = slots[i]!;
      const end = starts[i + 1] ?? to;
      return { start: localIso(start < from ? from : start, tz), end: localIso(end > to ? to : end, tz), ...kpisFromMeasures(s.measures, s.byKey, s.byAgent) };
    });
    const total = slots.reduce((acc, s) => mergeSlot(acc, s), emptySlot());
    return {
      from: localIso(from, tz),
      to: localIso(to, tz),
      interval: q.interval,
      timezone: tz,
      filters: { queue: q.queue, skill: q.skill, queues: filter.queues, agent: q.agent, flow: q.flow, number: q.number },
      serviceLevelSeconds: this.deps.kpi?.serviceLevelSeconds ?? DEFAULT_SERVICE_LEVEL_SECONDS,
      shortAbandonSeconds: this.deps.kpi?.shortAbandonSeconds ?? DEFAULT_SHORT_ABANDON_SECONDS,
      rows,
      total: kpisFromMeasures(total.measures, total.byKey, total.byAgent),
    };
  }

  /** Resolves and checks the range: from < to, on 15-minute boundaries, not longer than the interval allows. */
  async range(fromText: string, toText: string, tz: string, unit: SlotUnit): Promise<{ from: Date; to: Date }> {
    const { from, to } = await this.deps.source.resolveRange(fromText, toText, tz);
    if (!(from.getTime() < to.getTime())) throw new ReportError(400, 'invalid_range', '`from` must be before `to`');
    if (from.getTime() % BUCKET_MS !== 0 || to.getTime() % BUCKET_MS !== 0) {
      throw new ReportError(400, 'range_not_aligned', '`from` and `to` must fall on 15-minute boundaries (reports are built from 15-minute buckets)');
    }
    if (to.getTime() - from.getTime() > MAX_DAYS[unit] * 86_400_000) {
      throw new ReportError(400, 'range_too_long', `a report by ${unit} covers at most ${MAX_DAYS[unit]} days`);
    }
    return { from, to };
  }

  filter(q: { queue?: string | undefined; skill?: string | undefined; agent?: string | undefined; flow?: string | undefined; number?: string | undefined }): RollupFilter {
    let queues: string[] | undefined;
    if (q.skill !== undefined) {
      queues = [...this.deps.queuesWithSkill(q.skill)];
      if (queues.length === 0) throw new ReportError(400, 'unknown_skill', `no queue requires skill ${q.skill}`);
      if (q.queue !== undefined) queues = queues.filter((name) => name === q.queue);
    } else if (q.queue !== undefined) queues = [q.queue];
    return {
      ...(queues ? { queues } : {}),
      ...(q.agent !== undefined ? { agent: q.agent } : {}),
      ...(q.flow !== undefined ? { flow: q.flow } : {}),
      ...(q.number !== undefined ? { dialed: q.number } : {}),
    };
  }
}

function emptySlot(): SlotSums {
  return { measures: {}, byKey: new Map(), byAgent: new Map() };
}

function mergeSlot(into: SlotSums, b: SlotSums): SlotSums {
  addMeasures(into.measures, b.measures);
  for (const [k, n] of b.byKey) into.byKey.set(k, (into.byKey.get(k) ?? 0) + n);
  for (const [a, n] of b.byAgent) into.byAgent.set(a, (into.byAgent.get(a) ?? 0) + n);
  return into;
}
