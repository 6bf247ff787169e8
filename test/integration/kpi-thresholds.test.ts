import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import '../setup/provided.ts';
import { summarizeCalls } from '../../src/kpi/call-summary.ts';
import { kpiOptionsFor } from '../../src/kpi/kpi-options.ts';
import { callKpis, type KpiOptions } from '../../src/kpi/kpis.ts';
import { EventStore } from '../../src/records/event-store.ts';
import { migrate } from '../../src/records/migrate.ts';
import { rebuildCalls, rebuildRollups } from '../../src/records/report-rebuild.ts';
import { ReportStore } from '../../src/records/report-store.ts';
import { CallReports } from '../../src/reports/call-reports.ts';
import { generateCalls } from '../fixtures/report-calls.ts';

/*
 * Thresholds per queue, on real Postgres: the rollup counts each call with its queue's
 * service-level T and short-abandon time (defaults for queues that set none), so the report
 * equals callKpis with the same options. When thresholds change, rollup rows keep those they
 * were counted with until `hotline reports rebuild` restates the range with the new ones.
 * July 2023 is this file's own range.
 */

const TZ = 'Asia/Shanghai';
const DAY = Date.parse('2023-07-11T16:00:00Z'); // 2023-07-12 00:00 in Shanghai
const RANGE = { from: new Date(DAY), to: new Date(DAY + 86_400_000) };
const pool = new pg.Pool({ connectionString: inject('databaseUrl'), max: 4 });
const store = new ReportStore(pool);
const gen = generateCalls(20230712, 240, DAY + 3_600_000, DAY + 22 * 3_600_000);
const expected = summarizeCalls(gen.events);

const before = kpiOptionsFor({ serviceLevelSeconds: 20, shortAbandonSeconds: 5 }, [{ name: 'vip', serviceLevelSeconds: 10, shortAbandonSeconds: 2 }, { name: 'general' }]);
const after = kpiOptionsFor({ serviceLevelSeconds: 30, shortAbandonSeconds: 5 }, [{ name: 'billing', serviceLevelSeconds: 60, shortAbandonSeconds: 4 }]);

const total = async (kpi: KpiOptions) =>
  (await new CallReports({ source: store, timezone: TZ, queuesWithSkill: () => [], kpi }).calls({ from: '2023-07-12', to: '2023-07-13', interval: 'day' })).total;

function expectThresholdKpis(got: Awaited<ReturnType<typeof total>>, kpi: KpiOptions): void {
  const k = callKpis(expected, kpi);
  expect([got.abandoned, got.shortAbandoned, got.reachedQueue]).toEqual([k.abandoned, k.shortAbandoned, k.reachedQueue]);
  expect(got.serviceLevel).toBeCloseTo(k.serviceLevel!, 9);
}

beforeAll(async () => {
  await migrate(pool);
  expect(await new EventStore(pool).insertBatch(gen.events)).toBe(gen.events.length);
  // The way the consumers write them, with the thresholds configured now.
  await rebuildCalls(pool, RANGE, before);
});
afterAll(() => pool.end());

describe('service level T and short abandons per queue', () => {
  it("counts each call with its queue's thresholds: the report equals callKpis with the same options", async () => {
    // The options matter on this data: each gives other numbers than the plain defaults.
    const plain = callKpis(expected);
    expect(callKpis(expected, before).serviceLevel).not.toBeCloseTo(plain.serviceLevel!, 9);
    expect(callKpis(expected, after).serviceLevel).not.toBeCloseTo(callKpis(expected, before).serviceLevel!, 9);
    expectThresholdKpis(await total(before), before);
  });

  it('keeps the thresholds rows were counted with after a change, until a rebuild restates them', async () => {
    expectThresholdKpis(await total(after), before);
    await rebuildRollups(pool, RANGE, after);
    expectThresholdKpis(await total(after), after);
    const report = await new CallReports({ source: store, timezone: TZ, queuesWithSkill: () => [], kpi: after }).calls({ from: '2023-07-12', to: '2023-07-13', interval: 'day' });
    expect([report.serviceLevelSeconds, report.shortAbandonSeconds]).toEqual([30, 5]);
  });
});
