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
  remove(channelId: string): Promise<void>;
}
