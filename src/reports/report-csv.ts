import type { CallReport, ReportRow } from './call-reports.ts';

/**
 * CSV of a call report (RFC 4180: CRLF line ends, fields with a comma, quote or line break
 * quoted): a header, then one line per slot. Rates are fractions 0..1, times seconds, an
 * empty field is a KPI with nothing to measure (null in JSON). First-level keys get one
 * column each (`key_<digit>`: calls); handled calls per agent are in the JSON only.
 */
const COLUMNS: ReadonlyArray<readonly [string, (r: ReportRow) => number | string | null]> = [
  ['start', (r) => r.start],
  ['end', (r) => r.end],
  ['offered', (r) => r.offered],
  ['ended', (r) => r.ended],
  ['contained', (r) => r.contained],
  ['ivr_containment_rate', (r) => r.ivrContainmentRate],
  ['mean_ivr_seconds', (r) => r.meanIvrSeconds],
  ['agent_requests', (r) => r.agentRequests],
  ['reached_queue', (r) => r.reachedQueue],
  ['answered', (r) => r.answered],
  ['abandoned', (r) => r.abandoned],
  ['short_abandoned', (r) => r.shortAbandoned],
  ['answer_rate', (r) => r.answerRate],
  ['service_level', (r) => r.serviceLevel],
  ['asa_seconds', (r) => r.asa],
  ['wait_mean_seconds', (r) => r.wait.mean],
  ['wait_p90_above_seconds', (r) => r.wait.p90Above],
  ['wait_p90_at_most_seconds', (r) => r.wait.p90AtMost],
  ['aht_seconds', (r) => r.aht],
  ['handled', (r) => r.handled],
  ['transfers_to_ivr', (r) => r.transfersToIvr],
  ['callbacks_requested', (r) => r.callbacks.requested],
  ['callbacks_completed', (r) => r.callbacks.completed],
  ['survey_offered', (r) => r.survey.offered],
  ['survey_answered_calls', (r) => r.survey.answeredCalls],
  ['survey_participation', (r) => r.survey.participation],
  ['survey_answers', (r) => r.survey.answers],
  ['survey_mean_score', (r) => r.survey.meanScore],
  ['csat', (r) => r.survey.csat],
];

export function callReportCsv(report: CallReport): string {
  const keys = [...new Set(report.rows.flatMap((r) => r.firstLevelKeys.map((k) => k.key)))].sort((a, b) => a.localeCompare(b));
  const header = [...COLUMNS.map(([name]) => name), ...keys.map((k) => `key_${k}`)];
  const lines = report.rows.map((r) => {
    const perKey = new Map(r.firstLevelKeys.map((k) => [k.key, k.calls]));
    return [...COLUMNS.map(([, get]) => get(r)), ...keys.map((k) => perKey.get(k) ?? 0)];
  });
  return [header, ...lines].map((cells) => cells.map(csvField).join(',')).join('\r\n') + '\r\n';
}

/** One CSV field: empty for null, quoted when it holds a comma, quote or line break. */
export function csvField(v: number | string | null): string {
  if (v === null) return '';
  const s = typeof v === 'number' ? String(Number.isInteger(v) ? v : Number(v.toFixed(6))) : v;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
