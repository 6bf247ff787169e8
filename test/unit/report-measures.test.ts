import { describe, expect, it } from 'vitest';
import { attachWrapUp, intervalsFromStateChanges } from '../../src/kpi/agent-intervals.ts';
import { emptySummary, foldCallEvent, summarizeCalls, type CallSummary } from '../../src/kpi/call-summary.ts';
import { callKpis } from '../../src/kpi/kpis.ts';
import { percentile } from '../../src/kpi/stats.ts';
import { addDelta, contribution, keyString, nonZeroDeltas, waitBin, WAIT_BIN_COLUMNS, WAIT_BIN_EDGES, type Contribution } from '../../src/reports/call-measures.ts';
import { callReportCsv } from '../../src/reports/report-csv.ts';
import { addMeasures, kpisFromMeasures, p90Bin, type ReportKpis } from '../../src/reports/report-kpis.ts';
import { localIso } from '../../src/reports/time-zone.ts';
import { generateCalls } from '../fixtures/report-calls.ts';

/** Sums contributions the way the rollup and a report do: all measures, offered per key, handled per agent. */
function sumUp(contributions: readonly (Contribution | null)[]): ReportKpis {
  const m = {};
  const byKey = new Map<string, number>();
  const byAgent = new Map<string, number>();
  for (const c of contributions) {
    if (!c) continue;
    addMeasures(m, c.measures);
    byKey.set(c.key.firstKey, (byKey.get(c.key.firstKey) ?? 0) + (c.measures.offered ?? 0));
    byAgent.set(c.key.agent, (byAgent.get(c.key.agent) ?? 0) + (c.measures.handled ?? 0));
  }
  return kpisFromMeasures(m, byKey, byAgent);
}

function summaries(seed: number, count: number): CallSummary[] {
  const t0 = Date.parse('2024-06-03T00:00:00Z');
  const gen = generateCalls(seed, count, t0, t0 + 86_400_000);
  return attachWrapUp(summarizeCalls(gen.events), intervalsFromStateChanges(gen.agentChanges, '2024-06-10T00:00:00Z'));
}

describe('rollup measures recombine into the KPIs of src/kpi', () => {
  it.each([1, 2, 3, 4, 5])('sums of per-call measures equal callKpis over the same calls (seed %i)', (seed) => {
    const calls = summaries(seed, 150);
    const got = sumUp(calls.map((c) => contribution(c)));
    const want = callKpis(calls);
    for (const f of ['offered', 'agentRequests', 'reachedQueue', 'answered', 'abandoned', 'shortAbandoned', 'transfersToIvr', 'handledByAgent', 'callbacks'] as const) {
      expect(got[f], f).toEqual(want[f]);
    }
    for (const f of ['ivrContainmentRate', 'meanIvrSeconds', 'answerRate', 'serviceLevel', 'asa', 'aht'] as const) expect(got[f], f).toBeCloseTo(want[f]!, 9);
    expect(got.wait.mean).toBeCloseTo(want.wait.mean!, 9);
    expect(want.wait.p90).toBeGreaterThan(got.wait.p90Above ?? -Infinity);
    expect(want.wait.p90).toBeLessThanOrEqual(got.wait.p90AtMost ?? Infinity);
    expect(got.firstLevelKeys.map((k) => [k.key, k.calls])).toEqual(want.firstLevelKeys.map((k) => [k.key, k.calls]));
    expect(got.survey.offered).toBe(want.survey.offered);
    expect(got.survey.answers).toBe(want.survey.answers);
    expect(got.survey.csat).toBeCloseTo(want.survey.csat!, 9);
    expect(got.survey.meanScore).toBeCloseTo(want.survey.meanScore!, 9);
  });

  it('the same thresholds move the same way: service level and short abandons at other T', () => {
    const calls = summaries(9, 200);
    const opts = { serviceLevelSeconds: 45, shortAbandonSeconds: 10 };
    const got = sumUp(calls.map((c) => contribution(c, opts)));
    const want = callKpis(calls, opts);
    expect([got.abandoned, got.shortAbandoned]).toEqual([want.abandoned, want.shortAbandoned]);
    expect(got.serviceLevel).toBeCloseTo(want.serviceLevel!, 9);
  });

  it('deltas applied event by event (old measures off, new on) end where the final summaries are', () => {
    const t0 = Date.parse('2024-06-03T00:00:00Z');
    const gen = generateCalls(11, 120, t0, t0 + 86_400_000);
    const rollup = new Map<string, Contribution>();
    const current = new Map<string, CallSummary>();
    for (const e of gen.events) {
      const before = current.get(e.callId) ?? null;
      const after = foldCallEvent(before ?? emptySummary(e.callId), e);
      const deltas = new Map<string, Contribution>();
      addDelta(deltas, before && contribution(before), contribution(after));
      for (const d of nonZeroDeltas(deltas)) addDelta(rollup, null, d);
      current.set(e.callId, after);
    }
    const direct = new Map<string, Contribution>();
    for (const s of current.values()) addDelta(direct, null, contribution(s));
    expect(nonZeroDeltas(rollup)).toEqual(nonZeroDeltas(direct));
    // Calls moved rows as their queue, agent and key became known: rows they left are back to zero.
    expect(rollup.size).toBeGreaterThan(direct.size);
  });
});

describe('wait histogram and p90 bin', () => {
  it('puts a wait in the first bin whose upper edge holds it', () => {
    expect(waitBin(0)).toBe(0);
    expect(waitBin(0.001)).toBe(1);
    expect(waitBin(20)).toBe(WAIT_BIN_EDGES.indexOf(20));
    expect(waitBin(20.001)).toBe(WAIT_BIN_EDGES.indexOf(25));
    expect(waitBin(3600)).toBe(WAIT_BIN_EDGES.length - 1);
    expect(waitBin(3600.5)).toBe(WAIT_BIN_EDGES.length);
  });

  it('finds the bin of the nearest-rank p90', () => {
    // Ten waits: nearest-rank p90 is the 9th smallest, 44 s: bin (30, 45].
    const waits = [1, 2, 3, 4, 5, 6, 7, 8, 44, 500];
    const m: Record<string, number> = {};
    for (const w of waits) m[WAIT_BIN_COLUMNS[waitBin(w)]!] = (m[WAIT_BIN_COLUMNS[waitBin(w)]!] ?? 0) + 1;
    expect(percentile(waits, 90)).toBe(44);
    expect(p90Bin(m)).toEqual({ p90Above: 30, p90AtMost: 45 });
    expect(p90Bin({})).toEqual({ p90Above: null, p90AtMost: null });
    expect(p90Bin({ wait_h00: 3 })).toEqual({ p90Above: null, p90AtMost: 0 });
    expect(p90Bin({ wait_h23: 1 })).toEqual({ p90Above: 3600, p90AtMost: null });
  });
});

describe('report slots and output', () => {
  it('writes local times with the zone offset', () => {
    expect(localIso(new Date('2024-06-03T16:00:00Z'), 'Asia/Shanghai')).toBe('2024-06-04T00:00:00+08:00');
    expect(localIso(new Date('2024-06-03T16:00:00Z'), 'America/New_York')).toBe('2024-06-03T12:00:00-04:00');
    expect(localIso(new Date('2024-06-03T16:00:00Z'), 'Asia/Kolkata')).toBe('2024-06-03T21:30:00+05:30');
  });

  it('writes CSV per RFC 4180: CRLF, empty for null, one key column per first-level key', () => {
    const kpis = (key: string, calls: number): ReportKpis => ({
      ...kpisFromMeasures({ offered: calls, reached_queue: 2, sl_within: 1 }, new Map([[key, calls]]), new Map()),
    });
    const csv = callReportCsv({
      from: 'a',
      to: 'b',
      interval: '60m',
      timezone: 'UTC',
      filters: {},
      serviceLevelSeconds: 20,
      shortAbandonSeconds: 5,
      rows: [
        { start: 's1', end: 'e,1', ...kpis('1', 3) },
        { start: 's2', end: 'e2', ...kpis('2', 1) },
      ],
      total: kpis('1', 4),
    });
    const lines = csv.split('\r\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]!.startsWith('start,end,offered,')).toBe(true);
    expect(lines[0]!.endsWith(',csat,key_1,key_2')).toBe(true);
    expect(lines[1]!.startsWith('s1,"e,1",3,0,0,,')).toBe(true);
    expect(lines[1]!.endsWith(',3,0')).toBe(true);
    expect(lines[2]!.endsWith(',0,1')).toBe(true);
    const header = lines[0]!.split(',');
    expect(lines[2]!.split(',')[header.indexOf('service_level')]).toBe('0.5');
  });

  it('orders deltas by key so every writer locks rollup rows in the same order', () => {
    const c = (bucket: number, queue: string): Contribution => ({ key: { bucket, queue, agent: '', flow: '', dialed: '', firstKey: '' }, measures: { offered: 1 } });
    const m = new Map<string, Contribution>();
    for (const x of [c(2, 'b'), c(1, 'z'), c(2, 'a')]) addDelta(m, null, x);
    expect(nonZeroDeltas(m).map((d) => keyString(d.key))).toEqual([keyString(c(1, 'z').key), keyString(c(2, 'a').key), keyString(c(2, 'b').key)]);
  });
});
