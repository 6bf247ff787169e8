import { describe, expect, it } from 'vitest';
import { planEmergency, type EmergencyEntry } from '../../src/flows/emergency-plan.ts';

const numbers = { '10010': 'main', '10086': 'main', '96000': 'survey' };
const flows = new Set(['main', 'survey', 'emergency', 'closed']);
const exists = (id: string) => flows.has(id);
const AT = '2026-11-23T02:00:00.000Z';
const LATER = '2026-11-23T03:00:00.000Z';

describe('planEmergency', () => {
  it('remembers each number\'s mapped flow', () => {
    expect(planEmergency([], { numbers: ['10010', '96000'], flow: 'emergency', reason: 'storm' }, numbers, exists, 'alice', AT)).toEqual({
      ok: true,
      changed: true,
      entries: [
        { number: '10010', flow: 'emergency', previousFlow: 'main', reason: 'storm', startedBy: 'alice', startedAt: AT },
        { number: '96000', flow: 'emergency', previousFlow: 'survey', reason: 'storm', startedBy: 'alice', startedAt: AT },
      ],
    });
  });

  it('a number already switched keeps its first previous flow, even though the map now says "emergency"', () => {
    const active: EmergencyEntry[] = [{ number: '10010', flow: 'emergency', previousFlow: 'main', reason: 'storm', startedBy: 'alice', startedAt: AT }];
    const switched = { ...numbers, '10010': 'emergency' };
    const same = planEmergency(active, { numbers: ['10010'], flow: 'emergency', reason: 'storm' }, switched, exists, 'bob', LATER);
    expect(same).toEqual({ ok: true, changed: false, entries: active });
    const other = planEmergency(active, { numbers: ['10010', '10086'], flow: 'closed', reason: 'flood' }, switched, exists, 'bob', LATER);
    expect(other).toEqual({
      ok: true,
      changed: true,
      entries: [
        { number: '10010', flow: 'closed', previousFlow: 'main', reason: 'flood', startedBy: 'alice', startedAt: AT },
        { number: '10086', flow: 'closed', previousFlow: 'main', reason: 'flood', startedBy: 'bob', startedAt: LATER },
      ],
    });
  });

  it('counts a number given twice once', () => {
    const plan = planEmergency([], { numbers: ['10010', '10010'], flow: 'emergency', reason: 'x' }, numbers, exists, 'alice', AT);
    expect(plan.ok && plan.entries.map((e) => e.number)).toEqual(['10010']);
  });

  it('refuses an unknown flow or number, naming the field', () => {
    expect(planEmergency([], { numbers: ['10010'], flow: 'nope', reason: 'x' }, numbers, exists, 'alice', AT)).toEqual({
      ok: false,
      error: 'emergency_unknown_flow',
      message: 'unknown flow "nope"',
      path: 'flow',
    });
    expect(planEmergency([], { numbers: ['10010', '55555'], flow: 'emergency', reason: 'x' }, numbers, exists, 'alice', AT)).toEqual({
      ok: false,
      error: 'emergency_unknown_number',
      message: 'number 55555 is not a hotline number',
      path: 'numbers.1',
    });
  });
});
