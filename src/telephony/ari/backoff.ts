/**
 * Full-jitter exponential backoff: a random delay in [0, min(max, base * 2^attempt)].
 * Jitter keeps several app instances from reconnecting to a restarted Asterisk in lockstep.
 */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}
