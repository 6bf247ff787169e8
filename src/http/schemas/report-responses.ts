import { z } from 'zod';
import type { AgentReport } from '../../reports/agent-reports.ts';
import type { CallReport } from '../../reports/call-reports.ts';
import type { CapacityPlan } from '../../reports/capacity-report.ts';
import { SLOT_UNITS } from '../../reports/report-source.ts';
import type { Covers } from './responses.ts';

/**
 * The JSON bodies of GET /reports/calls, /reports/agents and /capacity. The report modules
 * build them as TypeScript types; `Covers` keeps these schemas naming every field, so the
 * serializer (which drops fields a z.object does not name) never cuts a report short.
 */

const Rate = z.number().nullable().describe('0..1; null when nothing to divide by');
const Seconds = z.number().nullable();

const Kpis = z.object({
  offered: z.number(),
  ended: z.number(),
  contained: z.number(),
  ivrContainmentRate: Rate,
  meanIvrSeconds: Seconds,
  firstLevelKeys: z.array(z.object({ key: z.string(), calls: z.number(), share: z.number() })),
  agentRequests: z.number(),
  reachedQueue: z.number(),
  answered: z.number(),
  abandoned: z.number(),
  shortAbandoned: z.number(),
  answerRate: Rate,
  serviceLevel: Rate,
  asa: Seconds,
  wait: z.object({ mean: Seconds, p90Above: Seconds, p90AtMost: Seconds }),
  aht: Seconds,
  handled: z.number(),
  handledByAgent: z.record(z.string(), z.number()),
  transfersToIvr: z.number(),
  callbacks: z.object({ requested: z.number(), completed: z.number() }),
  survey: z.object({
    offered: z.number(),
    answeredCalls: z.number(),
    participation: Rate,
    answers: z.number(),
    meanScore: z.number().nullable(),
    csat: Rate,
  }),
});

export const CallReportBody = z.object({
  from: z.string(),
  to: z.string(),
  interval: z.enum(SLOT_UNITS),
  timezone: z.string(),
  filters: z.object({
    queue: z.string().optional(),
    skill: z.string().optional(),
    queues: z.array(z.string()).readonly().optional(),
    agent: z.string().optional(),
    flow: z.string().optional(),
    number: z.string().optional(),
  }),
  serviceLevelSeconds: z.number(),
  shortAbandonSeconds: z.number(),
  rows: z.array(Kpis.extend({ start: z.string(), end: z.string() })),
  total: Kpis,
});
true satisfies Covers<z.output<typeof CallReportBody>, CallReport>;

const AgentFigures = z.object({
  agentId: z.string(),
  handled: z.number(),
  aht: Seconds,
  busySeconds: z.number(),
  staffedSeconds: z.number(),
  occupancy: Rate,
});

export const AgentReportBody = z.object({
  from: z.string(),
  to: z.string(),
  interval: z.enum(SLOT_UNITS),
  timezone: z.string(),
  rows: z.array(z.object({ start: z.string(), end: z.string(), agents: z.array(AgentFigures) })),
  total: z.array(AgentFigures),
});
true satisfies Covers<z.output<typeof AgentReportBody>, AgentReport>;

export const CapacityPlanBody = z.object({
  day: z.string(),
  timezone: z.string(),
  interval: z.enum(['15m', '30m', '60m']),
  weeks: z.number(),
  basedOn: z.array(z.string()),
  ahtSeconds: z.number(),
  ahtFrom: z.enum(['query', 'history']),
  target: z.object({ serviceLevel: z.number(), targetSeconds: z.number(), maxOccupancy: z.number().optional(), shrinkage: z.number().optional() }),
  rows: z.array(
    z.object({
      start: z.string(),
      end: z.string(),
      calls: z.number(),
      load: z.number(),
      agents: z.number(),
      scheduled: z.number(),
      serviceLevel: z.number(),
      asaSeconds: z.number(),
      occupancy: z.number(),
      probabilityOfWaiting: z.number(),
    }),
  ),
});
true satisfies Covers<z.output<typeof CapacityPlanBody>, CapacityPlan>;

/** A report route's 200: the JSON report, or the same report as CSV (`format=csv` or `Accept: text/csv`). */
export function jsonOrCsv<T extends z.ZodType>(json: T) {
  return {
    content: {
      'application/json': { schema: json },
      'text/csv': { schema: z.string().describe('the same rows as CSV, one header line') },
    },
  };
}
