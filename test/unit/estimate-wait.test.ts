import { describe, expect, it } from 'vitest';
import { DEFAULT_HANDLE_SECONDS, estimateWaitSeconds } from '../../src/routing/estimate-wait.ts';

// Who counts as staffing a queue is RoutingStore.staffing's (integration test in routing-store).
describe('estimated wait', () => {
  it('shares the calls up to the caller among the agents staffing the queue', () => {
    // 4 calls up to and including ours, 2 staffing agents, 120 s each: 4 * 120 / 2 = 240 s.
    expect(estimateWaitSeconds({ position: 4, staffed: 2, recentHandleSeconds: 120 })).toBe(240);
    // 3 * 100 / 2 = 150.
    expect(estimateWaitSeconds({ position: 3, staffed: 2, recentHandleSeconds: 100 })).toBe(150);
  });

  it('uses the default handle time without history, and gives no estimate when nobody staffs the queue', () => {
    expect(estimateWaitSeconds({ position: 1, staffed: 1, recentHandleSeconds: null })).toBe(DEFAULT_HANDLE_SECONDS);
    expect(estimateWaitSeconds({ position: 1, staffed: 0, recentHandleSeconds: 60 })).toBeNull();
  });
});
