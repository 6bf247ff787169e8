/** Timers as the coalescer needs them, so tests can drive it by hand. */
export interface CoalescerTimers {
  now(): number;
  setTimeout(fn: () => void, ms: number): { cancel(): void };
}

export const realTimers: CoalescerTimers = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref();
    return { cancel: () => clearTimeout(t) };
  },
};

/**
 * Runs a task after pokes, never two at once and starts at least `minIntervalMs` apart: a
 * burst of changes becomes one run (the first one on the next turn of the event loop when the
 * last run is long past), and a poke during a run is one more run afterwards, so the last
 * change is always seen.
 */
export class Coalescer {
  private readonly task: () => Promise<void>;
  private readonly minIntervalMs: number;
  private readonly timers: CoalescerTimers;
  private timer: { cancel(): void } | null = null;
  private running = false;
  private again = false;
  private closed = false;
  private lastStart = -Infinity;

  constructor(task: () => Promise<void>, minIntervalMs: number, timers: CoalescerTimers = realTimers) {
    this.task = task;
    this.minIntervalMs = minIntervalMs;
    this.timers = timers;
  }

  poke(): void {
    if (this.closed) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.timer) return;
    const wait = Math.max(0, this.lastStart + this.minIntervalMs - this.timers.now());
    this.timer = this.timers.setTimeout(() => void this.run(), wait);
  }

  close(): void {
    this.closed = true;
    this.timer?.cancel();
    this.timer = null;
  }

  private async run(): Promise<void> {
    this.timer = null;
    this.running = true;
    this.lastStart = this.timers.now();
    try {
      await this.task();
    } catch {
      // The task reports its own failures; the next poke tries again.
    } finally {
      this.running = false;
      if (this.again) {
        this.again = false;
        this.poke();
      }
    }
  }
}
