import { describe, expect, it } from 'vitest';
import { DEFAULT_HANDLE_SECONDS, estimateWaitSeconds } from '../../src/routing/estimate-wait.ts';

const queue = { skills: [{ skill: 'general', minProficiency: 2 }] };
const agent = (state: string, general: number) => ({ state: state as 'available', skills: { general } });

describe('estimated wait', () => {
  it('shares the calls up to the caller among the agents staffing the queue', () => {
    // 4 calls up to and including ours, 2 staffing agents, 120 s each: 4 * 120 / 2 = 240 s.
    expect(estimateWaitSeconds({ position: 4, queue, agents: [agent('on_call', 3), agent('wrap_up', 2)], recentHandleSeconds: 120 })).toBe(240);
  });

  it('counts only agents with the queue skill at its minimum, and not paused or logged-out ones', () => {
    const agents = [agent('available', 3), agent('available', 1), agent('paused', 5), agent('logged_out', 5), agent('ringing', 2)];
    // Staffing: the first and the ringing one -> 2. 3 * 100 / 2 = 150.
    expect(estimateWaitSeconds({ position: 3, queue, agents, recentHandleSeconds: 100 })).toBe(150);
  });

  it('uses the default handle time without history, and gives no estimate when nobody staffs the queue', () => {
    expect(estimateWaitSeconds({ position: 1, queue, agents: [agent('available', 2)], recentHandleSeconds: null })).toBe(DEFAULT_HANDLE_SECONDS);
    expect(estimateWaitSeconds({ position: 1, queue, agents: [agent('paused', 5)], recentHandleSeconds: 60 })).toBeNull();
  });
});
