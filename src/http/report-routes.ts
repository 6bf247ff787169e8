import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { CallReportQuery, type CallReports } from '../reports/call-reports.ts';
import { capacityPlan, CapacityQuery } from '../reports/capacity-report.ts';
import { callReportCsv } from '../reports/report-csv.ts';
import { ReportError } from '../reports/report-errors.ts';
import type { AgentReportSource, ReportSource } from '../reports/report-source.ts';
import { agentReport, agentReportCsv, AgentReportQuery } from '../reports/agent-reports.ts';
import { nodeReport, nodeReportCsv, NodeReportQuery, NodeReportResponse, type NodeReportSource } from '../reports/node-report.ts';
import { requireRole, type TokenAuth } from './auth.ts';
import { AgentReportBody, CallReportBody, CapacityPlanBody, jsonOrCsv } from './schemas/report-responses.ts';
import { errors } from './schemas/responses.ts';

export interface ReportRouteDeps {
  reports: CallReports;
  source: ReportSource & AgentReportSource & NodeReportSource;
  /** Default zone of capacity plans (the reports' own default is inside CallReports). */
  timezone: string;
  auth: TokenAuth;
}

/**
 * Reports for admins and supervisors. Bad query parameters are 400 `validation_failed` with
 * each parameter's path (unknown ones included); a range or zone the data cannot answer is a
 * 400/422 with its own id (ReportError: invalid_range, range_not_aligned, range_too_long,
 * unknown_timezone, unknown_skill, invalid_day, invalid_target, aht_unknown, capacity_unreachable).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function registerReportRoutes(app: FastifyInstance<any, any, any, any, any>, deps: ReportRouteDeps): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const read = requireRole(deps.auth, ['admin', 'supervisor']);
  /** ReportError: 400 for a range, zone, skill, day or target the query gets wrong; 422 when the data cannot answer (aht_unknown, capacity_unreachable). */
  const REFUSED = errors(400, 422);
  const refused = (reply: FastifyReply, err: unknown) => {
    if (!(err instanceof ReportError)) throw err;
    return reply.status(err.status).send({ error: err.errorId, message: err.message });
  };

  r.get('/reports/calls', { preHandler: read, schema: { querystring: CallReportQuery, response: { 200: jsonOrCsv(CallReportBody), ...REFUSED } } }, async (req, reply) => {
    try {
      const report = await deps.reports.calls(req.query);
      if (!wantsCsv(req, req.query.format)) return report;
      const name = `calls_${report.interval}_${report.from.slice(0, 16)}_${report.to.slice(0, 16)}.csv`.replace(/:/g, '');
      return reply.header('content-type', 'text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${name}"`).send(callReportCsv(report));
    } catch (err) {
      return refused(reply, err);
    }
  });

  r.get('/reports/agents', { preHandler: read, schema: { querystring: AgentReportQuery, response: { 200: jsonOrCsv(AgentReportBody), ...REFUSED } } }, async (req, reply) => {
    try {
      const report = await agentReport({ source: deps.source, reports: deps.reports, timezone: deps.timezone, now: Date.now }, req.query);
      if (!wantsCsv(req, req.query.format)) return report;
      const name = `agents_${report.interval}_${report.from.slice(0, 16)}_${report.to.slice(0, 16)}.csv`.replace(/:/g, '');
      return reply.header('content-type', 'text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${name}"`).send(agentReportCsv(report));
    } catch (err) {
      return refused(reply, err);
    }
  });

  r.get('/reports/nodes', { preHandler: read, schema: { querystring: NodeReportQuery, response: { 200: NodeReportResponse } } }, async (req, reply) => {
    try {
      const report = await nodeReport({ source: deps.source, timezone: deps.timezone }, req.query);
      if (!wantsCsv(req, req.query.format)) return report;
      const name = `nodes_${report.from.slice(0, 16)}_${report.to.slice(0, 16)}.csv`.replace(/:/g, '');
      return reply.header('content-type', 'text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${name}"`).send(csvPayload(nodeReportCsv(report)));
    } catch (err) {
      return refused(reply, err);
    }
  });

  r.get('/capacity', { preHandler: read, schema: { querystring: CapacityQuery, response: { 200: CapacityPlanBody, ...REFUSED } } }, async (req, reply) => {
    try {
      return await capacityPlan({ source: deps.source, reports: deps.reports, timezone: deps.timezone }, req.query);
    } catch (err) {
      return refused(reply, err);
    }
  });
}

/**
 * A CSV body for a route whose 200 schema is the JSON report: Fastify sends a string with a
 * non-JSON content type as it is (no serializer runs), the type provider just cannot know it.
 */
function csvPayload<T>(csv: string): T {
  return csv as unknown as T;
}

/** `format=csv`, or no format and an Accept header that asks for text/csv. */
function wantsCsv(req: FastifyRequest, format: 'json' | 'csv' | undefined): boolean {
  if (format) return format === 'csv';
  return /\btext\/csv\b/.test(req.headers.accept ?? '');
}
