import type { AgentStateInterval } from '../kpi/agent-intervals.ts';
import type { Measures } from './call-measures.ts';

/** The report intervals: 15/30/60 minutes, and local days, ISO weeks (from Monday) and months. */
export const SLOT_UNITS = ['15m', '30m', '60m', 'day', 'week', 'month'] as const;
export type SlotUnit = (typeof SLOT_UNITS)[number];

/** Rollup dimensions to keep; absent = all. `queues` is a set (a skill filter names the queues that need it). */
export interface RollupFilter {
  readonly queues?: readonly string[];
  readonly agent?: string;
  readonly flow?: string;
  readonly dialed?: string;
}

/** One slot's sums: every measure, offered calls per first-level key, handled calls per agent. */
export interface SlotSums {
  readonly measures: Measures;
  readonly byKey: Map<string, number>;
  readonly byAgent: Map<string, number>;
}

/** What reports read (src/records/report-store.ts over Postgres). */
export interface ReportSource {
  /** Each bound: an instant with an offset, or a local date / date-time in `tz`. */
  resolveRange(from: string, to: string, tz: string): Promise<{ from: Date; to: Date }>;
  /** Starts of the report's slots covering [from, to), in order; the first may be before `from`. */
  slotStarts(from: Date, to: Date, unit: SlotUnit, tz: string): Promise<Date[]>;
  /** Sums of the buckets in [from, to), per slot (`starts` ascending; a bucket counts in the last slot starting at or before it). */
  slotSums(starts: readonly Date[], from: Date, to: Date, filter: RollupFilter): Promise<SlotSums[]>;
  /** Whether any call started in [from, to) (whatever the filters): a day without one was not recorded (or the hotline was closed). */
  recorded(from: Date, to: Date): Promise<boolean>;
}

/** One agent's handled calls and handle time in one slot (calls that agent answered, by their start). */
export interface AgentSlotSums {
  readonly slot: number;
  readonly agentId: string;
  readonly handled: number;
  readonly ahtMs: number;
  readonly ahtN: number;
}

/** What the agent report reads besides ReportSource. */
export interface AgentReportSource {
  agentSlotSums(starts: readonly Date[], from: Date, to: Date, agentId?: string): Promise<AgentSlotSums[]>;
  /** State intervals overlapping [from, to); one still open ends at `openUntil`. */
  stateIntervals(from: Date, to: Date, openUntil: Date, agentId?: string): Promise<AgentStateInterval[]>;
}
