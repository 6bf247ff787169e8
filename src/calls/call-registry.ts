/**
 * The essentials of each live call, kept outside the process so that a restarted app can
 * close the calls its predecessor left in Stasis under their own call ids.
 */
export interface CallRecordRef {
  readonly callId: string;
  readonly seq: number;
}

export interface CallRegistry {
  register(channelId: string, callId: string): Promise<void>;
  updateSeq(channelId: string, seq: number): Promise<void>;
  lookup(channelId: string): Promise<CallRecordRef | null>;
  /**
   * Claims the right to record the end of a call nobody runs any more (closed at reconcile, or
   * its instance is gone): the first claim gets the call's ref and marks it ended, every later
   * one gets 'ended', so call.ended is recorded once whichever instance gets there first. null:
   * the channel is not registered (never was, ended normally, or removed).
   */
  claimEnd(channelId: string): Promise<CallRecordRef | 'ended' | null>;
  remove(channelId: string): Promise<void>;
}
