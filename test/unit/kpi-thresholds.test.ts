import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/config.ts';
import { summarizeCall, type FoldableEvent } from '../../src/kpi/call-summary.ts';
import { kpiOptionsFor, liveKpiOptions } from '../../src/kpi/kpi-options.ts';
import { abandoned, serviceLevel, thresholdsOf } from '../../src/kpi/kpis.ts';
import { contribution } from '../../src/reports/call-measures.ts';
import { QueueConfigSchema } from '../../src/routing/types.ts';

/*
 * Service level T and the short-abandon time per queue. Six hand-built calls, each joining its
 * queue at second 0 and then answered or abandoned after `wait` seconds:
 *
 *   queue  outcome    wait   with the defaults (T 20, short 5)   with sales T 10, short 2 / vip T 30
 *   sales  answered   15     within T                            not within (15 > 10)
 *   sales  abandoned  3      short abandon                       abandon (3 >= 2)
 *   sales  answered   8      within                              within
 *   vip    answered   25     not within                          within (25 <= 30)
 *   vip    abandoned  4      short abandon                       short (vip keeps 5)
 *   vip    answered   40     not within                          not within
 */

const T0 = Date.parse('2025-03-03T09:00:00.000Z');
const at = (s: number) => new Date(T0 + s * 1000).toISOString();

function queued(n: number, queue: string, outcome: 'answered' | 'abandoned', wait: number) {
  const callId = `c${n}`;
  const steps: [number, string, Record<string, unknown>][] = [
    [0, 'call.started', { caller: `+86${n}`, dialed: '400', flow: 'main', version: 1 }],
    [0, 'flow.node_entered', { flow: 'main', version: 1, node: 'agent', type: 'queue' }],
    [0, 'queue.requested', { node: 'agent', queue }],
    [0, 'queue.joined', { node: 'agent', queue, position: 1 }],
  ];
  if (outcome === 'answered') steps.push([wait, 'agent.answered', { agentId: 'a1', queue }], [wait + 60, 'call.ended', { cause: 'completed' }]);
  else steps.push([wait, 'call.ended', { cause: 'caller_hangup' }]);
  const events: FoldableEvent[] = steps.map(([s, type, data], i) => ({ callId, seq: i + 1, type, at: at(n * 1000 + s), data }));
  return summarizeCall(events)!;
}

const calls = [
  queued(1, 'sales', 'answered', 15),
  queued(2, 'sales', 'abandoned', 3),
  queued(3, 'sales', 'answered', 8),
  queued(4, 'vip', 'answered', 25),
  queued(5, 'vip', 'abandoned', 4),
  queued(6, 'vip', 'answered', 40),
];
const own = { serviceLevelSeconds: 20, shortAbandonSeconds: 5, perQueue: { sales: { serviceLevelSeconds: 10, shortAbandonSeconds: 2 }, vip: { serviceLevelSeconds: 30 } } };

describe('KPI thresholds per queue', () => {
  it('defaults: T 20 s, short abandon 5 s, for every queue', () => {
    // Within 20 s: 15 and 8. Reached the queue: 6, short abandons: 3 s and 4 s -> 2 / (6 - 2).
    expect(serviceLevel(calls)).toBe(2 / 4);
    expect(abandoned(calls)).toEqual({ abandoned: 0, shortAbandoned: 2 });
  });

  it("each call counts with its queue's thresholds, the rest falling back to the top level", () => {
    expect(thresholdsOf(calls[0]!, own)).toEqual({ serviceLevelSeconds: 10, shortAbandonSeconds: 2 });
    expect(thresholdsOf(calls[3]!, own)).toEqual({ serviceLevelSeconds: 30, shortAbandonSeconds: 5 });
    expect(thresholdsOf({ queue: null }, own)).toEqual({ serviceLevelSeconds: 20, shortAbandonSeconds: 5 });
    // A queue named like an Object prototype key is not found there.
    expect(thresholdsOf({ queue: 'toString' }, own)).toEqual({ serviceLevelSeconds: 20, shortAbandonSeconds: 5 });
    // Within: sales 8 (<= 10), vip 25 (<= 30) -> 2. Short: vip 4 s only (sales' 3 s >= 2 is an abandon) -> 2 / (6 - 1).
    expect(serviceLevel(calls, own)).toBe(2 / 5);
    expect(abandoned(calls, own)).toEqual({ abandoned: 1, shortAbandoned: 1 });
    expect(serviceLevel(calls.slice(0, 3), own)).toBe(1 / 3);
    expect(serviceLevel(calls.slice(3), own)).toBe(1 / 2);
  });

  it("a rollup contribution counts with the call's queue's thresholds", () => {
    expect(contribution(calls[0]!, own)!.measures.sl_within).toBeUndefined();
    expect(contribution(calls[0]!)!.measures.sl_within).toBe(1);
    expect(contribution(calls[1]!, own)!.measures).toMatchObject({ abandoned: 1 });
    expect(contribution(calls[3]!, own)!.measures.sl_within).toBe(1);
  });

  it('options from queue configs list only queues with thresholds, and follow edits', () => {
    let queues: { name: string; serviceLevelSeconds?: number; shortAbandonSeconds?: number }[] = [{ name: 'sales', serviceLevelSeconds: 10 }, { name: 'general' }];
    expect(kpiOptionsFor({ serviceLevelSeconds: 25, shortAbandonSeconds: 4 }, queues)).toEqual({ serviceLevelSeconds: 25, shortAbandonSeconds: 4, perQueue: { sales: { serviceLevelSeconds: 10 } } });
    const live = liveKpiOptions({ serviceLevelSeconds: 25, shortAbandonSeconds: 4 }, () => queues);
    expect(serviceLevel(calls.slice(0, 3), live)).toBe(1 / 2); // sales: 8 within 10 of 2 (3 s is short under 4)
    // An edit replaces the list (RoutingAdmin keeps a new config object), which the options see at once.
    queues = [{ name: 'sales', serviceLevelSeconds: 15 }, { name: 'general' }];
    expect(serviceLevel(calls.slice(0, 3), live)).toBe(2 / 2);
  });

  it('queue configuration validates the thresholds', () => {
    const base = { name: 'sales', skills: [], strategy: 'longest-idle', ringTimeoutSeconds: 15, wrapUpSeconds: 10, maxWaitSeconds: 300, agingPerMinute: 1 };
    expect(QueueConfigSchema.parse({ ...base, serviceLevelSeconds: 30, shortAbandonSeconds: 0 })).toMatchObject({ serviceLevelSeconds: 30, shortAbandonSeconds: 0 });
    expect(QueueConfigSchema.parse(base).serviceLevelSeconds).toBeUndefined();
    for (const bad of [{ serviceLevelSeconds: 0 }, { serviceLevelSeconds: 3601 }, { serviceLevelSeconds: 2.5 }, { shortAbandonSeconds: -1 }, { shortAbandonSeconds: '5' }]) {
      expect(QueueConfigSchema.safeParse({ ...base, ...bad }).success, JSON.stringify(bad)).toBe(false);
    }
  });

  it('env: SERVICE_LEVEL_SECONDS and SHORT_ABANDON_SECONDS, validated, default 20 and 5; retention days default 0', () => {
    const d = loadConfig({ ARI_PASSWORD: 'x' });
    expect(d.kpi).toEqual({ serviceLevelSeconds: 20, shortAbandonSeconds: 5 });
    expect(d.events).toMatchObject({ retentionDays: 0, callRetentionDays: 0, rollupRetentionDays: 0 });
    const c = loadConfig({ ARI_PASSWORD: 'x', SERVICE_LEVEL_SECONDS: '30', SHORT_ABANDON_SECONDS: '3', CALL_RETENTION_DAYS: '400', ROLLUP_RETENTION_DAYS: '1500' });
    expect(c.kpi).toEqual({ serviceLevelSeconds: 30, shortAbandonSeconds: 3 });
    expect(c.events).toMatchObject({ callRetentionDays: 400, rollupRetentionDays: 1500 });
    try {
      loadConfig({ ARI_PASSWORD: 'x', SERVICE_LEVEL_SECONDS: '0', SHORT_ABANDON_SECONDS: 'soon', CALL_RETENTION_DAYS: '-1' });
      expect.unreachable();
    } catch (err) {
      const issues = (err as ConfigError).issues.join('\n');
      expect(issues).toMatch(/^SERVICE_LEVEL_SECONDS:/m);
      expect(issues).toMatch(/^SHORT_ABANDON_SECONDS:/m);
      expect(issues).toMatch(/^CALL_RETENTION_DAYS:/m);
    }
  });
});
