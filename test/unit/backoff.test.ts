import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../../src/telephony/ari/backoff.ts';

describe('reconnect backoff', () => {
  it('grows exponentially up to the cap, with full jitter', () => {
    const top = (attempt: number) => backoffDelay(attempt, 250, 30_000, () => 0.999999);
    expect([0, 1, 2, 3].map(top)).toEqual([249, 499, 999, 1999]);
    expect(top(10)).toBe(29_999);
    expect(top(1000)).toBe(29_999);
    expect(backoffDelay(5, 250, 30_000, () => 0)).toBe(0);
  });
});
