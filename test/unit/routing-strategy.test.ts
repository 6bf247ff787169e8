import { describe, expect, it } from 'vitest';
import { call, MIN, queue, T0 } from '../helpers/routing-fixtures.ts';
import {
  agentScore,
  decodeSkills,
  effectivePriority,
  encodeEligibility,
  encodeSkills,
  normalizeExtras,
  planClaim,
  queueSkillSum,
  waitingScore,
  type AvailableAgent,
} from '../../src/routing/strategy.ts';
import type { QueueConfig, WaitingCall } from '../../src/routing/types.ts';


const agent = (id: string, skills: Record<string, number>, lastCallEndedAt = 0, callsToday = 0): AvailableAgent => ({ id, skills, lastCallEndedAt, callsToday });

describe('waiting order', () => {
  it('ages priority by the minute', () => {
    expect(effectivePriority(2, T0, 1, T0 + 3 * MIN)).toBe(5);
    expect(effectivePriority(2, T0, 0.5, T0 + 3 * MIN)).toBe(3.5);
    expect(effectivePriority(2, T0, 0, T0 + 60 * MIN)).toBe(2);
  });

  it('orders a queue by score the same way as by effective priority at any moment', () => {
    let seed = 7;
    const rnd = () => ((seed = (seed * 48271) % 2147483647) / 2147483647);
    for (const aging of [0, 0.25, 1, 3]) {
      const calls = Array.from({ length: 200 }, (_, i) => ({ id: i, p: Math.floor(rnd() * 11), t: T0 + Math.floor(rnd() * 30 * MIN) }));
      const byScore = [...calls].sort((a, b) => waitingScore(a.p, a.t, aging) - waitingScore(b.p, b.t, aging) || a.t - b.t).map((c) => c.id);
      for (const now of [T0 + 30 * MIN, T0 + 600 * MIN]) {
        const byEff = [...calls]
          .sort((a, b) => effectivePriority(b.p, b.t, aging, now) - effectivePriority(a.p, a.t, aging, now) || a.t - b.t)
          .map((c) => c.id);
        expect(byScore).toEqual(byEff);
      }
    }
  });
});

describe('agent scores (lower is offered first)', () => {
  it('longest-idle prefers the oldest last call end, never-called agents first', () => {
    expect(agentScore('longest-idle', 0, 9, 0)).toBeLessThan(agentScore('longest-idle', T0, 0, 0));
    expect(agentScore('longest-idle', T0, 0, 0)).toBeLessThan(agentScore('longest-idle', T0 + 1, 0, 0));
  });

  it('fewest-calls prefers fewer calls, then longer idle', () => {
    expect(agentScore('fewest-calls', T0 + MIN, 2, 0)).toBeLessThan(agentScore('fewest-calls', T0, 3, 0));
    expect(agentScore('fewest-calls', T0, 3, 0)).toBeLessThan(agentScore('fewest-calls', T0 + 1, 3, 0));
  });

  it('most-skilled prefers the higher skill sum, then longer idle', () => {
    expect(agentScore('most-skilled', T0 + MIN, 0, 9)).toBeLessThan(agentScore('most-skilled', T0, 0, 8));
    expect(agentScore('most-skilled', T0, 0, 8)).toBeLessThan(agentScore('most-skilled', T0 + 1, 0, 8));
  });

  it('stays an exact double for realistic counters and timestamps', () => {
    expect(Number.isSafeInteger(agentScore('fewest-calls', 9_999_999_999_999, 10_000, 0))).toBe(true);
    expect(Number.isSafeInteger(agentScore('most-skilled', 9_999_999_999_999, 0, 100))).toBe(true);
  });
});

describe('skills', () => {
  it('requires every queue skill at its minimum and sums the proficiency', () => {
    const q = queue('billing', { skills: [{ skill: 'billing', minProficiency: 3 }, { skill: 'vip', minProficiency: 1 }] });
    expect(queueSkillSum({ billing: 3, vip: 1 }, q)).toBe(4);
    expect(queueSkillSum({ billing: 2, vip: 5 }, q)).toBeNull();
    expect(queueSkillSum({ billing: 5 }, q)).toBeNull();
    expect(queueSkillSum({}, queue('any', { skills: [] }))).toBe(0);
  });

  it('encodes skills and eligibility for the Lua side', () => {
    const skills = { english: 2, billing: 4 };
    expect(encodeSkills(skills)).toBe('billing=4,english=2');
    expect(decodeSkills(encodeSkills(skills))).toEqual(skills);
    expect(decodeSkills('')).toEqual({});
    const queues = [queue('billing', { strategy: 'most-skilled' }), queue('tech'), queue('general', { skills: [], strategy: 'fewest-calls' })];
    expect(encodeEligibility({ skills }, queues)).toBe('billing=m:4,general=f:0');
  });

  it('normalizes extra skills so equal needs share one class', () => {
    expect(normalizeExtras(['english', 'billing', 'english'])).toEqual(['billing', 'english']);
    expect(normalizeExtras([])).toEqual([]);
  });
});

describe('planClaim (reference)', () => {
  const now = T0 + 10 * MIN;

  it('serves calls by effective priority, then enqueue time', () => {
    const q = queue('billing');
    // normal: 0 + 10 = 10; vip: 5 + 4 = 9; tie: 3 + 7 = 10 but enqueued later than normal.
    const calls = [
      call('vip', 'billing', { priority: 5, enqueuedAt: T0 + 6 * MIN }),
      call('tie', 'billing', { priority: 3, enqueuedAt: T0 + 3 * MIN }),
      call('normal', 'billing'),
    ];
    const plan = planClaim([q], [agent('a', { billing: 1 })], calls, now);
    expect(plan).toEqual([{ callId: 'normal', agentId: 'a', queue: 'billing' }]);
    const all = planClaim([q], ['a', 'b', 'c'].map((id) => agent(id, { billing: 1 })), calls, now);
    expect(all.map((o) => o.callId)).toEqual(['normal', 'tie', 'vip']);
  });

  it('skips a call no free agent can take and serves the next', () => {
    const calls = [call('french', 'billing', { skills: ['french'] }), call('plain', 'billing', { enqueuedAt: T0 + MIN })];
    const plan = planClaim([queue('billing')], [agent('a', { billing: 2 })], calls, now);
    expect(plan).toEqual([{ callId: 'plain', agentId: 'a', queue: 'billing' }]);
  });

  it('picks the agent by each strategy', () => {
    const agents = [agent('a', { s: 2 }, T0 + 2 * MIN, 1), agent('b', { s: 5 }, T0 + 3 * MIN, 4), agent('c', { s: 1 }, T0 + MIN, 7)];
    const pick = (strategy: QueueConfig['strategy']) =>
      planClaim([queue('s', { strategy })], agents, [call('x', 's')], now).map((o) => o.agentId);
    expect(pick('longest-idle')).toEqual(['c']);
    expect(pick('fewest-calls')).toEqual(['a']);
    expect(pick('most-skilled')).toEqual(['b']);
    expect(pick('ring-all')).toEqual(['c', 'a', 'b']);
  });

  it('counts the extra skills in most-skilled', () => {
    const agents = [agent('a', { s: 5, english: 1 }), agent('b', { s: 3, english: 5 })];
    const plan = planClaim([queue('s', { strategy: 'most-skilled' })], agents, [call('x', 's', { skills: ['english'] })], now);
    expect(plan.map((o) => o.agentId)).toEqual(['b']);
  });
});
