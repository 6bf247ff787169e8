import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import '../setup/provided.ts';
import { configuredKpi } from '../../src/cli/kpi-config.ts';
import { reportsCommand } from '../../src/cli/reports-command.ts';
import { summarizeCalls } from '../../src/kpi/call-summary.ts';
import { kpiOptionsFor } from '../../src/kpi/kpi-options.ts';
import { callKpis, type KpiOptions } from '../../src/kpi/kpis.ts';
import { EventStore } from '../../src/records/event-store.ts';
import { migrate } from '../../src/records/migrate.ts';
import { rebuildCalls, rebuildRollups } from '../../src/records/report-rebuild.ts';
import { ReportStore } from '../../src/records/report-store.ts';
import { createRedis } from '../../src/redis/redis.ts';
import { CallReports } from '../../src/reports/call-reports.ts';
import { loadRoutingConfig } from '../../src/routing/routing-config.ts';
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

describe('hotline reports rebuild with the configured thresholds', () => {
  it('restates the range with what configuredKpi reads: the queues stored in Redis, else queues.json', async () => {
    const redis = createRedis(inject('redisUrl'));
    const prefix = `${inject('redisPrefix')}kpi${randomBytes(3).toString('hex')}:`;
    const src = { kpi: { serviceLevelSeconds: 25, shortAbandonSeconds: 3 }, flowsDir: fileURLToPath(new URL('../../ivr-flows', import.meta.url)), redis: { url: inject('redisUrl'), prefix } };
    try {
      // Nothing stored yet: the files (which set no thresholds of their own).
      expect(await configuredKpi(src)).toEqual({ kpi: { serviceLevelSeconds: 25, shortAbandonSeconds: 3, perQueue: {} }, from: 'files' });
      const files = await loadRoutingConfig(src.flowsDir);
      const queues = files.queues.map((q) => (q.name === 'vip' ? { ...q, serviceLevelSeconds: 8 } : q));
      await redis.set(`${prefix}routing:config`, JSON.stringify({ revision: 2, sourceHash: files.sourceHash, updatedAt: new Date().toISOString(), updatedBy: 'test', queues, agents: files.agents }));
      const configured = await configuredKpi(src);
      expect(configured).toEqual({ kpi: { serviceLevelSeconds: 25, shortAbandonSeconds: 3, perQueue: { vip: { serviceLevelSeconds: 8 } } }, from: 'redis' });
      expect(callKpis(expected, configured.kpi).serviceLevel).not.toBeCloseTo(callKpis(expected, after).serviceLevel!, 9);

      const out: string[] = [];
      const io = { stdout: { write: (s: string) => out.push(s) }, stderr: { write: (s: string) => out.push(s) } };
      const code = await reportsCommand(['rebuild', '--from', '2023-07-12', '--to', '2023-07-13', '--rollups-only'], { databaseUrl: inject('databaseUrl'), timezone: TZ, kpi: () => configuredKpi(src) }, io);
      expect(code, out.join('')).toBe(0);
      expect(out.join('')).toContain('thresholds (redis): T 25 s, short 3 s; vip: T 8 s, short 3 s');
      expectThresholdKpis(await total(configured.kpi), configured.kpi);
    } finally {
      await redis.del(`${prefix}routing:config`);
      redis.disconnect();
    }
  });
});
