/** Handle time assumed before a queue has any history (seconds). */
export const DEFAULT_HANDLE_SECONDS = 180;

/**
 * Estimated wait for the caller at `position`: the calls ahead of them (and theirs) shared by
 * the `staffed` agents of the queue (eligible and working or about to be free, not paused or
 * out: RoutingStore.staffing), each taking the recent mean handle time. Null when nobody staffs
 * the queue (no honest estimate exists), so the caller hears only their position.
 */
export function estimateWaitSeconds(input: { position: number; staffed: number; recentHandleSeconds: number | null }): number | null {
  if (input.staffed <= 0) return null;
  const handle = input.recentHandleSeconds ?? DEFAULT_HANDLE_SECONDS;
  return Math.round((input.position * handle) / input.staffed);
}
