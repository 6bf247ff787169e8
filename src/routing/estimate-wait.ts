import type { AgentSnapshot, QueueConfig } from './types.ts';

/** Handle time assumed before a queue has any history (seconds). */
export const DEFAULT_HANDLE_SECONDS = 180;

/** Agent states that count as staffing a queue: working or about to be free (not paused or out). */
const STAFFING = new Set(['available', 'ringing', 'on_call', 'wrap_up']);

/**
 * Estimated wait for the caller at `position`: the calls ahead of them (and theirs) shared by
 * the agents staffing the queue, each taking the recent mean handle time. Null when nobody
 * staffs the queue (no honest estimate exists), so the caller hears only their position.
 */
export function estimateWaitSeconds(input: {
  position: number;
  queue: Pick<QueueConfig, 'skills'>;
  agents: readonly Pick<AgentSnapshot, 'state' | 'skills'>[];
  recentHandleSeconds: number | null;
}): number | null {
  const staffed = input.agents.filter(
    (a) => STAFFING.has(a.state) && input.queue.skills.every((s) => (a.skills[s.skill] ?? 0) >= s.minProficiency),
  ).length;
  if (staffed === 0) return null;
  const handle = input.recentHandleSeconds ?? DEFAULT_HANDLE_SECONDS;
  return Math.round((input.position * handle) / staffed);
}
