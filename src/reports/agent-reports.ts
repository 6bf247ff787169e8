import { z } from 'zod';
import type { AgentStateInterval } from '../kpi/agent-intervals.ts';
import { occupancy } from '../kpi/kpis.ts';
import type { CallReports } from './call-reports.ts';
import { ReportError } from './report-errors.ts';
import { SLOT_UNITS, type AgentReportSource, type ReportSource } from './report-source.ts';
import { isTimeZone, localIso } from './time-zone.ts';

const When = z.string().regex(/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}(:?\d{2})?)?)?$/, 'YYYY-MM-DD, YYYY-MM-DDTHH:mm (local) or an ISO instant with Z or an offset');

/** Query string of GET /reports/agents. */
export const AgentReportQuery = z.strictObject({
  from: When,
  to: When,
  interval: z.enum(SLOT_UNITS).default('60m'),
  tz: z.string().min(1).max(64).optional(),
  agent: z.string().min(1).max(200).optional(),
  format: z.enum(['json', 'csv']).optional(),
});
export type AgentReportQuery = z.infer<typeof AgentReportQuery>;

export interface AgentFigures {
  readonly agentId: string;
  /** Calls the agent answered (and connected callbacks), counted in the slot the call started in. */
  readonly handled: number;
  readonly aht: number | null;
  /** Time ringing, on a call or in wrap-up within the slot (src/kpi occupancy). */
  readonly busySeconds: number;
  /** Busy or available time within the slot. */
  readonly staffedSeconds: number;
  readonly occupancy: number | null;
}

export interface AgentReport {
  readonly from: string;
  readonly to: string;
  readonly interval: AgentReportQuery['interval'];
  readonly timezone: string;
  readonly rows: { start: string; end: string; agents: AgentFigures[] }[];
  readonly total: AgentFigures[];
}

/**
 * Per agent and slot: handled calls and AHT from the rollup (calls by their start), occupancy
 * from agent_state_intervals clipped to the slot by `occupancy` of src/kpi (time by when it
 * happened). An interval still open counts until now.
 */
export async function agentReport(deps: { source: ReportSource & AgentReportSource; reports: CallReports; timezone: string; now: () => number }, q: AgentReportQuery): Promise<AgentReport> {
  const tz = q.tz ?? deps.timezone;
  if (!isTimeZone(tz)) throw new ReportError(400, 'unknown_timezone', `unknown time zone ${tz}`);
  const { from, to } = await deps.reports.range(q.from, q.to, tz, q.interval);
  const starts = await deps.source.slotStarts(from, to, q.interval, tz);
  const now = new Date(Math.min(deps.now(), to.getTime()));
  const [sums, intervals] = await Promise.all([deps.source.agentSlotSums(starts, from, to, q.agent), deps.source.stateIntervals(from, to, now, q.agent)]);
  const windows = starts.map((s, i) => ({ from: s < from ? from : s, to: starts[i + 1] ?? to }));
  const bySlot = windows.map(() => [] as AgentStateInterval[]);
  for (const iv of intervals) {
    // Each interval goes to the slots it overlaps (slots are sorted, so a binary search finds the first).
    const a = Date.parse(iv.from);
    const b = Date.parse(iv.to);
    for (let i = firstEndingAfter(windows, a); i < windows.length && windows[i]!.from.getTime() < b; i++) bySlot[i]!.push(iv);
  }
  const rows = windows.map((w, i) => ({
    start: localIso(w.from, tz),
    end: localIso(w.to, tz),
    agents: figures(
      sums.filter((s) => s.slot === i),
      bySlot[i]!,
      { from: w.from.toISOString(), to: w.to.toISOString() },
    ),
  }));
  return {
    from: localIso(from, tz),
    to: localIso(to, tz),
    interval: q.interval,
    timezone: tz,
    rows,
    total: figures(sums, intervals, { from: from.toISOString(), to: to.toISOString() }),
  };
}

function firstEndingAfter(windows: readonly { to: Date }[], t: number): number {
  let lo = 0;
  let hi = windows.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (windows[mid]!.to.getTime() <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function figures(sums: readonly { agentId: string; handled: number; ahtMs: number; ahtN: number }[], intervals: readonly AgentStateInterval[], window: { from: string; to: string }): AgentFigures[] {
  const calls = new Map<string, { handled: number; ahtMs: number; ahtN: number }>();
  for (const s of sums) {
    const c = calls.get(s.agentId) ?? { handled: 0, ahtMs: 0, ahtN: 0 };
    c.handled += s.handled;
    c.ahtMs += s.ahtMs;
    c.ahtN += s.ahtN;
    calls.set(s.agentId, c);
  }
  const occ = occupancy(intervals, window);
  const agents = [...new Set([...calls.keys(), ...Object.keys(occ)])].sort((a, b) => a.localeCompare(b));
  return agents.map((agentId) => {
    const c = calls.get(agentId);
    const o = occ[agentId];
    return {
      agentId,
      handled: c?.handled ?? 0,
      aht: c && c.ahtN > 0 ? c.ahtMs / c.ahtN / 1000 : null,
      busySeconds: o?.busySeconds ?? 0,
      staffedSeconds: o?.staffedSeconds ?? 0,
      occupancy: o?.occupancy ?? null,
    };
  });
}

/** CSV of the agent report: one line per slot and agent. */
export function agentReportCsv(r: AgentReport): string {
  const num = (v: number | null) => (v === null ? '' : String(Number.isInteger(v) ? v : Number(v.toFixed(6))));
  const quote = (s: string) => (/[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  const lines = [['start', 'end', 'agent', 'handled', 'aht_seconds', 'busy_seconds', 'staffed_seconds', 'occupancy'].join(',')];
  for (const row of r.rows) {
    for (const a of row.agents) lines.push([row.start, row.end, quote(a.agentId), num(a.handled), num(a.aht), num(a.busySeconds), num(a.staffedSeconds), num(a.occupancy)].join(','));
  }
  return lines.join('\r\n') + '\r\n';
}
