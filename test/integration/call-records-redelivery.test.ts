import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import '../setup/provided.ts';
import type { CallEvent } from '../../src/domain/call-event.ts';
import { summarizeCalls, type CallSummary } from '../../src/kpi/call-summary.ts';
import { callKpis } from '../../src/kpi/kpis.ts';
import { createLogger } from '../../src/log/logger.ts';
import { CallRecordSink } from '../../src/records/call-record-sink.ts';
import { EventStore } from '../../src/records/event-store.ts';
import { EventWriter } from '../../src/records/event-writer.ts';
import { migrate } from '../../src/records/migrate.ts';
import { ReportStore } from '../../src/records/report-store.ts';
import { CallReports } from '../../src/reports/call-reports.ts';
import { generateCalls } from '../fixtures/report-calls.ts';
import { isolatedPipeline, removeSpoolDirs } from './helpers/events.ts';
import { startHangingWriter } from './helpers/hanging-writer.ts';

/*
 * A consumer process commits batches (events, summaries, rollups) and is killed -9 before it
 * acknowledges them; a consumer of the app claims those entries and writes them again. The
 * second write inserts nothing, so nothing is folded twice: summaries and the day's report
 * equal src/kpi over the events, once each. December 2022 is this file's own range.
 */

const DAY = Date.parse('2022-12-06T16:00:00Z'); // 2022-12-07 00:00 in Shanghai
const pool = new pg.Pool({ connectionString: inject('databaseUrl'), max: 6 });
const gen = generateCalls(20221207, 200, DAY + 3_600_000, DAY + 23 * 3_600_000);

beforeAll(() => migrate(pool));
afterAll(async () => {
  await pool.end();
  await removeSpoolDirs();
});

describe('call records through a kill -9 between commit and acknowledgement', () => {
  it('folds a redelivered batch into nothing: summaries and rollups count every event once', async () => {
    const p = await isolatedPipeline();
    const writer = new EventWriter<CallEvent>(new CallRecordSink(pool, new EventStore(pool)), createLogger('silent'), {
      redisUrl: inject('redisUrl'),
      name: 'call_events',
      ...p,
      retryBaseMs: 20,
      retryMaxMs: 200,
      claimIdleMs: 500,
      claimEveryMs: 200,
      blockMs: 200,
    });
    for (const e of gen.events) writer.append(e);
    expect(await writer.whenDurable(10_000)).toBe(true);

    const child = await startHangingWriter({ databaseUrl: inject('databaseUrl'), redisUrl: inject('redisUrl'), prefix: p.prefix, spoolDir: p.spoolDir, hangAfter: 3 });
    const committed = await child.kill();
    expect(committed).toBeGreaterThan(0);
    expect(committed).toBeLessThan(gen.events.length);

    writer.start();
    expect(await writer.drain(30_000)).toBe(true);
    expect(writer.duplicatesSkipped).toBeGreaterThan(0); // the committed, unacknowledged entries came back
    await writer.close();

    const expected = summarizeCalls(gen.events);
    const { rows } = await pool.query<{ summary: CallSummary }>('SELECT summary FROM calls WHERE call_id = ANY($1::uuid[])', [expected.map((s) => s.callId)]);
    const byId = new Map(rows.map((r) => [r.summary.callId, r.summary]));
    // No agent state changes were written here, so no wrap-up is attached.
    for (const s of expected) expect(byId.get(s.callId), s.callId).toEqual(s);

    const reports = new CallReports({ source: new ReportStore(pool), timezone: 'Asia/Shanghai', queuesWithSkill: () => [] });
    const total = (await reports.calls({ from: '2022-12-07', to: '2022-12-08', interval: 'day' })).total;
    const k = callKpis(expected);
    expect([total.offered, total.agentRequests, total.answered, total.abandoned, total.shortAbandoned, total.survey.answers]).toEqual([
      k.offered,
      k.agentRequests,
      k.answered,
      k.abandoned,
      k.shortAbandoned,
      k.survey.answers,
    ]);
    expect(total.handledByAgent).toEqual(k.handledByAgent);
    expect(total.aht).toBeCloseTo(k.aht!, 6);
  });
});
