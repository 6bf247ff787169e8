/**
 * Erlang C staffing math (M/M/N: Poisson arrivals, exponential handle times, callers who wait
 * and never give up). Everything goes through Erlang B's recursion
 *   B(0) = 1,  B(n) = A·B(n−1) / (n + A·B(n−1))
 * which stays in (0, 1] at every step, so loads of thousands of Erlangs (10,000 calls an hour is
 * ~830 Erlangs at a 5-minute AHT) never meet the A^N / N! overflow of the textbook formula.
 * Then C(N, A) = N·B / (N − A·(1 − B)) for N > A.
 */

/** Offered load in Erlangs: calls per interval × AHT / interval length. */
export function trafficIntensity(calls: number, ahtSeconds: number, intervalSeconds: number): number {
  if (!(calls >= 0) || !(ahtSeconds >= 0) || !(intervalSeconds > 0)) throw new RangeError('calls and AHT must be >= 0 and the interval > 0');
  return (calls * ahtSeconds) / intervalSeconds;
}

/** Erlang B: probability that a call finds all `agents` busy when it cannot wait. */
export function erlangB(agents: number, load: number): number {
  checkAgents(agents, load);
  let b = 1;
  for (let n = 1; n <= agents; n++) b = nextB(b, n, load);
  return b;
}

/** Erlang C: probability that a call waits. 1 when agents <= load (the queue grows without end). */
export function erlangC(agents: number, load: number): number {
  checkAgents(agents, load);
  return cFromB(agents, load, erlangB(agents, load));
}

/** Share of calls answered within `targetSeconds`: 1 − C·e^(−(N−A)·T/AHT); 0 when N <= A. */
export function serviceLevel(agents: number, load: number, ahtSeconds: number, targetSeconds: number): number {
  return slFromC(agents, load, ahtSeconds, targetSeconds, erlangC(agents, load));
}

/** Average speed of answer over all calls (those answered at once count 0): C·AHT / (N − A). */
export function averageSpeedOfAnswer(agents: number, load: number, ahtSeconds: number): number {
  if (agents <= load) return Infinity;
  return (erlangC(agents, load) * ahtSeconds) / (agents - load);
}

export interface StaffingTarget {
  /** Share of calls to answer within `targetSeconds`, e.g. 0.8; must be below 1. */
  readonly serviceLevel: number;
  readonly targetSeconds: number;
  /** Upper bound on A / N, e.g. 0.85, so agents are not driven flat out; none by default. */
  readonly maxOccupancy?: number | undefined;
  /** Share of paid time not on the phones (breaks, training, absence), e.g. 0.3. Default 0. */
  readonly shrinkage?: number | undefined;
}

export interface Staffing {
  /** Erlangs. */
  readonly load: number;
  /** Agents on the phones needed to meet the target. */
  readonly agents: number;
  /** Agents to schedule: agents / (1 − shrinkage), rounded up. */
  readonly scheduled: number;
  readonly probabilityOfWaiting: number;
  readonly serviceLevel: number;
  readonly asaSeconds: number;
  readonly occupancy: number;
}

/** Above this many agents the search stops: a target that needs more is a typo in the input. */
const MAX_AGENTS = 1_000_000;

/**
 * The fewest agents that meet the service-level target (and the occupancy cap, if any), and
 * what they achieve. One pass of the B recursion from 1 agent upward: O(agents) in all.
 */
export function agentsNeeded(load: number, ahtSeconds: number, target: StaffingTarget): Staffing {
  const { serviceLevel: goal, targetSeconds, maxOccupancy, shrinkage = 0 } = target;
  if (!(goal > 0 && goal < 1)) throw new RangeError('the service level target must be between 0 and 1 (exclusive)');
  if (!(targetSeconds >= 0)) throw new RangeError('the target answer time must be >= 0 seconds');
  if (maxOccupancy !== undefined && !(maxOccupancy > 0 && maxOccupancy <= 1)) throw new RangeError('max occupancy must be in (0, 1]');
  if (!(shrinkage >= 0 && shrinkage < 1)) throw new RangeError('shrinkage must be in [0, 1)');
  if (!(load >= 0) || !Number.isFinite(load)) throw new RangeError('the load must be a finite number of Erlangs >= 0');
  if (!(ahtSeconds > 0)) throw new RangeError('AHT must be > 0 seconds');
  if (load === 0) return { load, agents: 0, scheduled: 0, probabilityOfWaiting: 0, serviceLevel: 1, asaSeconds: 0, occupancy: 0 };

  const floorByOccupancy = maxOccupancy === undefined ? 0 : Math.ceil(load / maxOccupancy - 1e-9);
  let b = 1;
  for (let n = 1; n <= MAX_AGENTS; n++) {
    b = nextB(b, n, load);
    if (n <= load || n < floorByOccupancy) continue;
    const c = cFromB(n, load, b);
    const sl = slFromC(n, load, ahtSeconds, targetSeconds, c);
    if (sl < goal) continue;
    return {
      load,
      agents: n,
      // The epsilon keeps 21 / (1 − 0.3) = 30.000000000000004 at 30.
      scheduled: Math.ceil(n / (1 - shrinkage) - 1e-9),
      probabilityOfWaiting: c,
      serviceLevel: sl,
      asaSeconds: (c * ahtSeconds) / (n - load),
      occupancy: load / n,
    };
  }
  throw new RangeError(`more than ${MAX_AGENTS} agents would be needed`);
}

export interface IntervalStaffing extends Staffing {
  readonly calls: number;
}

/** The staffing table: one row per interval's call count (forecast or actual). */
export function staffingTable(callsPerInterval: readonly number[], intervalMinutes: number, ahtSeconds: number, target: StaffingTarget): IntervalStaffing[] {
  return callsPerInterval.map((calls) => ({ calls, ...agentsNeeded(trafficIntensity(calls, ahtSeconds, intervalMinutes * 60), ahtSeconds, target) }));
}

function nextB(prev: number, n: number, load: number): number {
  const x = load * prev;
  return x / (n + x);
}

function cFromB(agents: number, load: number, b: number): number {
  if (agents <= load) return 1;
  return (agents * b) / (agents - load * (1 - b));
}

function slFromC(agents: number, load: number, ahtSeconds: number, targetSeconds: number, c: number): number {
  if (agents <= load) return 0;
  return 1 - c * Math.exp((-(agents - load) * targetSeconds) / ahtSeconds);
}

function checkAgents(agents: number, load: number): void {
  if (!Number.isInteger(agents) || agents < 0) throw new RangeError('agents must be a whole number >= 0');
  if (!(load >= 0) || !Number.isFinite(load)) throw new RangeError('the load must be a finite number of Erlangs >= 0');
}
