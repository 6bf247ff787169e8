import { describe, expect, it } from 'vitest';
import {
  agentsNeeded,
  averageSpeedOfAnswer,
  erlangB,
  erlangC,
  serviceLevel,
  staffingTable,
  trafficIntensity,
} from '../../src/capacity/erlang-c.ts';
import { averagePerInterval, sameWeekdayForecast } from '../../src/capacity/forecast.ts';
import { capacityCommand, parseTarget } from '../../src/cli/capacity-command.ts';

/*
 * The reference here is the textbook formula, evaluated exactly with BigInt for a load A = p/q:
 *
 *   C(N, A) = X / (S + X),  X = A^N/N! · N/(N − A),  S = Σ_{k<N} A^k/k!
 *
 * Multiplying X and S by q^N · N! · (Nq − p) keeps everything an integer:
 *   X' = p^N · N · q,   S' = Σ_{k<N} p^k · q^(N−k) · N!/k! · (Nq − p)
 * and Erlang B = (A^N/N!) / Σ_{k<=N} A^k/k!  ->  p^N / Σ_{k<=N} p^k · q^(N−k) · N!/k!.
 * It shares nothing with the code under test (which uses Erlang B's recursion).
 */

/** Σ_{k<=upTo} p^k · q^(N−k) · N!/k!, terms from k = N down (N!/k! grows by one factor each step). */
function scaledSum(n: number, p: bigint, q: bigint, upTo: number): bigint {
  let sum = 0n;
  let fact = 1n; // N!/k!
  for (let k = n; k >= 0; k--) {
    if (k <= upTo) sum += p ** BigInt(k) * q ** BigInt(n - k) * fact;
    fact *= BigInt(k === 0 ? 1 : k);
  }
  return sum;
}

function toNumber(num: bigint, den: bigint): number {
  const scale = 10n ** 30n;
  return Number((num * scale) / den) / 1e30;
}

function exactErlangC(n: number, p: bigint, q: bigint): number {
  const N = BigInt(n);
  const x = p ** N * N * q;
  const s = scaledSum(n, p, q, n - 1) * (N * q - p);
  return toNumber(x, s + x);
}

function exactErlangB(n: number, p: bigint, q: bigint): number {
  return toNumber(p ** BigInt(n), scaledSum(n, p, q, n));
}

/** SL and ASA straight from their definitions, on top of the exact C. */
const exactServiceLevel = (n: number, a: number, c: number, aht: number, t: number) => 1 - c * Math.exp((-(n - a) * t) / aht);
const exactAsa = (n: number, a: number, c: number, aht: number) => (c * aht) / (n - a);

describe('Erlang C against published examples', () => {
  it('A = 10 Erlangs, N = 11 agents: probability of waiting 0.6821', () => {
    expect(erlangC(11, 10)).toBeCloseTo(0.6821, 4);
    expect(exactErlangC(11, 10n, 1n)).toBeCloseTo(0.6821, 4);
  });

  it('the worked example: 100 calls in 30 min, AHT 180 s, 80 % in 20 s, 30 % shrinkage -> 14 agents, 20 scheduled', () => {
    const load = trafficIntensity(100, 180, 30 * 60);
    expect(load).toBe((100 * 180) / 1800);
    const s = agentsNeeded(load, 180, { serviceLevel: 0.8, targetSeconds: 20, shrinkage: 0.3 });
    expect(s.agents).toBe(14);
    expect(s.scheduled).toBe(20); // 14 / 0.7
    const c14 = exactErlangC(14, 10n, 1n);
    expect(s.probabilityOfWaiting).toBeCloseTo(c14, 12);
    expect(s.serviceLevel).toBeCloseTo(exactServiceLevel(14, 10, c14, 180, 20), 12);
    expect(s.asaSeconds).toBeCloseTo(exactAsa(14, 10, c14, 180), 10);
    expect(s.occupancy).toBe(10 / 14);
    // 13 agents fall short of 80 %, which is why 14 are needed.
    expect(exactServiceLevel(13, 10, exactErlangC(13, 10n, 1n), 180, 20)).toBeLessThan(0.8);
  });
});

describe('Erlang B and C against the exact textbook formula', () => {
  const loads: [number, bigint, bigint][] = [
    [0.5, 1n, 2n],
    [2, 2n, 1n],
    [29 / 4, 29n, 4n],
    [10, 10n, 1n],
    [48, 48n, 1n], // 360 calls per half hour at 4 minutes
  ];
  for (const [a, p, q] of loads) {
    it(`A = ${a}: N from ${Math.floor(a) + 1} to ${Math.floor(a) + 15}`, () => {
      for (let n = Math.floor(a) + 1; n <= Math.floor(a) + 15; n++) {
        const c = exactErlangC(n, p, q);
        expect(erlangB(n, a)).toBeCloseTo(exactErlangB(n, p, q), 12);
        expect(erlangC(n, a)).toBeCloseTo(c, 12);
        expect(serviceLevel(n, a, 240, 15)).toBeCloseTo(exactServiceLevel(n, a, c, 240, 15), 12);
        expect(averageSpeedOfAnswer(n, a, 240)).toBeCloseTo(exactAsa(n, a, c, 240), 9);
      }
    });
  }

  it('stays exact at 10,000 calls an hour (833 Erlangs), where A^N / N! overflows a double', () => {
    const load = trafficIntensity(10_000, 300, 3600); // 2500 / 3
    expect(load).toBeCloseTo(2500 / 3, 12);
    expect(Math.pow(load, 850)).toBe(Infinity);
    const s = agentsNeeded(load, 300, { serviceLevel: 0.8, targetSeconds: 20 });
    const c = exactErlangC(s.agents, 2500n, 3n);
    expect(s.probabilityOfWaiting).toBeCloseTo(c, 10);
    expect(exactServiceLevel(s.agents, load, c, 300, 20)).toBeGreaterThanOrEqual(0.8);
    const fewer = s.agents - 1;
    expect(exactServiceLevel(fewer, load, exactErlangC(fewer, 2500n, 3n), 300, 20)).toBeLessThan(0.8);
  });
});

describe('agents needed', () => {
  it('is the fewest agents that meet the target', () => {
    for (const [a, p, q] of [[2, 2n, 1n], [29 / 4, 29n, 4n], [48, 48n, 1n]] as const) {
      const s = agentsNeeded(a, 240, { serviceLevel: 0.9, targetSeconds: 15 });
      expect(exactServiceLevel(s.agents, a, exactErlangC(s.agents, p, q), 240, 15)).toBeGreaterThanOrEqual(0.9);
      if (s.agents - 1 > a) expect(exactServiceLevel(s.agents - 1, a, exactErlangC(s.agents - 1, p, q), 240, 15)).toBeLessThan(0.9);
    }
  });

  it('respects a maximum occupancy', () => {
    // 14 agents meet 80/20 at 10 Erlangs but run at 10/14 = 71 %; with a 70 % cap, 10/0.7 = 14.3 -> 15.
    const s = agentsNeeded(10, 180, { serviceLevel: 0.8, targetSeconds: 20, maxOccupancy: 0.7 });
    expect(s.agents).toBe(15);
    expect(s.occupancy).toBe(10 / 15);
  });

  it('needs nobody for no calls; N <= A never answers in time', () => {
    expect(agentsNeeded(0, 180, { serviceLevel: 0.8, targetSeconds: 20 })).toMatchObject({ agents: 0, scheduled: 0, serviceLevel: 1 });
    expect(erlangC(10, 10)).toBe(1);
    expect(serviceLevel(9, 10, 180, 20)).toBe(0);
    expect(averageSpeedOfAnswer(10, 10, 180)).toBe(Infinity);
  });

  it('refuses targets it cannot meet or read', () => {
    expect(() => agentsNeeded(10, 180, { serviceLevel: 1, targetSeconds: 20 })).toThrow(RangeError);
    expect(() => agentsNeeded(10, 180, { serviceLevel: 0.8, targetSeconds: 20, shrinkage: 1 })).toThrow(RangeError);
    expect(() => agentsNeeded(-1, 180, { serviceLevel: 0.8, targetSeconds: 20 })).toThrow(RangeError);
    expect(() => erlangC(2.5, 1)).toThrow(RangeError);
  });

  it('rounds scheduled agents up without floating-point noise', () => {
    // 21 / (1 - 0.3) is 30.000000000000004 in doubles: find a load that needs 21 agents at 80/20
    // (scanning 10..30 Erlangs in steps of 0.05) and check that 30% shrinkage schedules 30, not 31.
    expect(21 / (1 - 0.3)).toBeGreaterThan(30);
    const load = [...Array(400).keys()].map((i) => 10 + i / 20).find((a) => agentsNeeded(a, 180, { serviceLevel: 0.8, targetSeconds: 20 }).agents === 21)!;
    expect(agentsNeeded(load, 180, { serviceLevel: 0.8, targetSeconds: 20, shrinkage: 0.3 }).scheduled).toBe(30);
  });

  it('staffingTable gives one row per interval', () => {
    const rows = staffingTable([100, 0], 30, 180, { serviceLevel: 0.8, targetSeconds: 20 });
    expect(rows.map((r) => [r.calls, r.load, r.agents])).toEqual([
      [100, 10, 14],
      [0, 0, 0],
    ]);
  });
});

describe('same-weekday forecast', () => {
  it('averages each interval over the days given', () => {
    expect(averagePerInterval([[10, 20, 30], [20, 40, 50], [30, 30]])).toEqual([(10 + 20 + 30) / 3, (20 + 40 + 30) / 3, (30 + 50) / 2]);
    expect(averagePerInterval([])).toEqual([]);
  });

  it('uses the same weekday of the last N weeks and skips weeks with no history', () => {
    // 2025-03-10 is a Monday; the Mondays before it are 03-03, 02-24, 02-17, 02-10.
    const history = new Map<string, number[]>([
      ['2025-03-03', [12, 30]],
      ['2025-03-04', [999, 999]], // a Tuesday: ignored
      ['2025-02-17', [8, 20]],
      ['2025-02-10', [4, 10]],
    ]);
    expect(sameWeekdayForecast(history, '2025-03-10', 3)).toEqual({ calls: [(12 + 8) / 2, (30 + 20) / 2], basedOn: ['2025-03-03', '2025-02-17'] });
    expect(sameWeekdayForecast(history, '2025-03-10', 4).calls).toEqual([(12 + 8 + 4) / 3, (30 + 20 + 10) / 3]);
    expect(() => sameWeekdayForecast(history, '2025-02-30', 4)).toThrow(RangeError);
    expect(() => sameWeekdayForecast(history, '2025-03-10', 0)).toThrow(RangeError);
  });
});

describe('hotline capacity', () => {
  function run(argv: string[]) {
    let out = '';
    let err = '';
    const code = capacityCommand(argv, { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) } });
    return { code, out, err };
  }

  it('prints the table', () => {
    const r = run(['--calls', '100,200', '--interval-minutes', '30', '--aht', '180', '--target', '80/20', '--shrinkage', '0.3']);
    expect(r.code).toBe(0);
    const lines = r.out.trim().split('\n').map((l) => l.trim().split(/\s+/));
    expect(lines[0]).toEqual(['interval', 'calls', 'erlangs', 'agents', 'scheduled', 'SL', '%', 'ASA', 's', 'occupancy', '%', 'P(wait)', '%']);
    const second = agentsNeeded(20, 180, { serviceLevel: 0.8, targetSeconds: 20, shrinkage: 0.3 });
    expect(lines[1]!.slice(0, 5)).toEqual(['1', '100', '10', '14', '20']);
    expect(lines[2]!.slice(0, 5)).toEqual(['2', '200', '20', String(second.agents), String(second.scheduled)]);
  });

  it('prints JSON on request and refuses bad input with exit code 2', () => {
    const r = run(['--calls', '100', '--aht', '180', '--json']);
    expect(JSON.parse(r.out)).toMatchObject([{ calls: 100, load: 10, agents: 14 }]);
    expect(run(['--calls', '100', '--aht', '180', '--target', '80%']).code).toBe(2);
    expect(run(['--aht', '180']).code).toBe(2);
    expect(run(['--calls', '100', '--aht', '180', '--bogus']).code).toBe(2);
    expect(parseTarget('90/15.5')).toEqual({ serviceLevel: 0.9, targetSeconds: 15.5 });
  });
});
