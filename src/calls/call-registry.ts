/**
 * The essentials of each live call, kept outside the process so that a restarted app can
 * close the calls its predecessor left in Stasis under their own call ids.
 */
export interface CallRecordRef {
  readonly callId: string;
  /** The highest seq handed out for the call's events (0: none yet). */
  readonly seq: number;
}

/**
 * A registration's seq is the highest handed out for its call, so that whoever writes the
 * call's next event, its own runner or another instance ending it, takes a seq nobody else has:
 * (callId, seq) is unique and orders the call's events for the fold (kpi/call-summary).
 */
export interface CallRegistry {
  register(channelId: string, callId: string): Promise<void>;
  /** Raises the seq to `seq` (never lowers it), if the call is still registered. */
  updateSeq(channelId: string, seq: number): Promise<void>;
  /**
   * Hands out the call's next seq, at least `atLeast`, in one step with the check that the call
   * is still open: for a call another instance may end (it went to a queue). 'ended': its end
   * was claimed (claimEnd), so nothing more may be written for it; null: not registered.
   */
  nextSeq(channelId: string, atLeast: number): Promise<number | 'ended' | null>;
  /**
   * Which of `channelIds` had their end claimed (claimEnd), read in one round trip: a stalled
   * instance that runs again asks this for its queued calls on each beat, so a caller who only
   * waits (no event, so no nextSeq) is not left on hold after another instance ended the call.
   */
  claimedAmong(channelIds: readonly string[]): Promise<Set<string>>;
  lookup(channelId: string): Promise<CallRecordRef | null>;
  /**
   * Claims the right to record the end of a call nobody runs any more (closed at reconcile, or
   * its instance is gone): the first claim gets the call's ref and marks it ended, every later
   * one gets 'ended', so call.ended is recorded once whichever instance gets there first. The
   * claim hands out seq + 1 for that call.ended in the same step: a runner that was only
   * stalled cannot take it afterwards. null: the channel is not registered (never was, ended
   * normally, or removed).
   */
  claimEnd(channelId: string): Promise<CallRecordRef | 'ended' | null>;
  remove(channelId: string): Promise<void>;
}
