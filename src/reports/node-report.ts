import { z } from 'zod';
import { compareNodes, type NodeHeat } from '../kpi/kpis.ts';
import { BUCKET_MS } from './call-measures.ts';
import { csvField } from './report-csv.ts';
import { ReportError } from './report-errors.ts';
import { NODE_MEASURES } from './node-measures.ts';
import type { ReportSource } from './report-source.ts';
import { isTimeZone, localIso } from './time-zone.ts';

/**
 * The node heat map report (GET /reports/nodes): per flow, version and node, how many calls
 * entered, left for the next node, hung up there, were ended there by the flow or lost there,
 * over the calls that started in [from, to). The numbers are src/kpi's nodeHeatMap over those
 * calls, summed from the node rollup (call_node_rollup_15m) kept as events land.
 */

const When = z.string().regex(/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}(:?\d{2})?)?)?$/, 'YYYY-MM-DD, YYYY-MM-DDTHH:mm (local) or an ISO instant with Z or an offset');

/** Query string of GET /reports/nodes; unknown parameters are refused. */
export const NodeReportQuery = z.strictObject({
  from: When,
  to: When,
  /** IANA zone of local dates; default the hotline's (HOTLINE_TIMEZONE). */
  tz: z.string().min(1).max(64).optional(),
  flow: z.string().min(1).max(200).optional(),
  version: z.coerce.number().int().min(0).max(2_147_483_647).optional(),
  format: z.enum(['json', 'csv']).optional(),
});
export type NodeReportQuery = z.infer<typeof NodeReportQuery>;

const Count = z.number().int();

export const NodeHeatRow = z.strictObject({
  flow: z.string(),
  version: z.number().int(),
  node: z.string(),
  type: z.string(),
  entered: Count.describe('visits (a call that loops back counts each time)'),
  calls: Count.describe('distinct calls that entered'),
  movedOn: Count.describe('visits followed by another node'),
  endedHere: Count.describe('calls whose last node this was: hungUpHere + endedByFlow + lostHere'),
  hungUpHere: Count.describe('the caller hung up here: where callers give up'),
  endedByFlow: Count.describe('the flow ended the call here (hang-up node, transfer, no agent, ...)'),
  lostHere: Count.describe('the system lost the call here (restart, outage, shutdown, error)'),
  current: Count.describe('calls at this node now'),
});

/** Response of GET /reports/nodes (JSON). */
export const NodeReportResponse = z.strictObject({
  from: z.string(),
  to: z.string(),
  timezone: z.string(),
  filters: z.strictObject({ flow: z.string().optional(), version: z.number().int().optional() }),
  nodes: z.array(NodeHeatRow),
});
export type NodeReport = z.infer<typeof NodeReportResponse>;

/** What the node report reads (src/records/report-store.ts). */
export interface NodeReportSource {
  /** The node rollup summed over the buckets in [from, to), ordered by flow, version, node. */
  nodeSums(from: Date, to: Date, filter: { flow?: string; version?: number }): Promise<NodeHeat[]>;
}

/** Longest range: the rollup holds a row per node and 15 minutes, so 93 days stay a few hundred thousand rows. */
const MAX_DAYS = 93;

export async function nodeReport(deps: { source: ReportSource & NodeReportSource; timezone: string }, q: NodeReportQuery): Promise<NodeReport> {
  const tz = q.tz ?? deps.timezone;
  if (!isTimeZone(tz)) throw new ReportError(400, 'unknown_timezone', `unknown time zone ${tz}`);
  const { from, to } = await deps.source.resolveRange(q.from, q.to, tz);
  if (!(from.getTime() < to.getTime())) throw new ReportError(400, 'invalid_range', '`from` must be before `to`');
  if (from.getTime() % BUCKET_MS !== 0 || to.getTime() % BUCKET_MS !== 0) {
    throw new ReportError(400, 'range_not_aligned', '`from` and `to` must fall on 15-minute boundaries (reports are built from 15-minute buckets)');
  }
  if (to.getTime() - from.getTime() > MAX_DAYS * 86_400_000) throw new ReportError(400, 'range_too_long', `a node report covers at most ${MAX_DAYS} days`);
  const filter = { ...(q.flow !== undefined ? { flow: q.flow } : {}), ...(q.version !== undefined ? { version: q.version } : {}) };
  return { from: localIso(from, tz), to: localIso(to, tz), timezone: tz, filters: filter, nodes: (await deps.source.nodeSums(from, to, filter)).sort(compareNodes) };
}

const CSV_COLUMNS = ['flow', 'version', 'node', 'type', ...NODE_MEASURES.map(([m]) => m)] as const;

/** CSV of a node report (RFC 4180, as the call report): a header, then one line per node. */
export function nodeReportCsv(report: NodeReport): string {
  const snake = (s: string) => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
  const lines = [CSV_COLUMNS.map(snake), ...report.nodes.map((n) => CSV_COLUMNS.map((c) => n[c]))];
  return lines.map((cells) => cells.map(csvField).join(',')).join('\r\n') + '\r\n';
}
