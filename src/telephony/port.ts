/**
 * What Hotline needs from a telephony platform, in the project's own words. The ARI adapter
 * implements it against Asterisk; unit tests use a fake. Nothing outside `telephony/ari`
 * knows that ari-client exists.
 */

export interface CallerId {
  readonly number: string;
  readonly name: string;
}

/** Events from the platform, already mapped to our types. */
export type TelephonyEvent =
  | {
      readonly type: 'channel.entered';
      readonly channelId: string;
      /** Stasis() arguments after the app name, e.g. ['inbound', '10010']. */
      readonly args: readonly string[];
      /** Asterisk's channel name, e.g. PJSIP/agent1001-00000003: tells which endpoint called. */
      readonly channelName: string;
      readonly caller: CallerId;
      readonly at: string;
    }
  | { readonly type: 'dtmf.received'; readonly channelId: string; readonly digit: string; readonly at: string }
  | {
      readonly type: 'playback.finished';
      readonly channelId: string;
      readonly playbackId: string;
      /** 'done' when played to the end, 'stopped' when cut short (barge-in, hang-up). */
      readonly state: 'done' | 'stopped' | 'failed';
      readonly at: string;
    }
  | {
      readonly type: 'channel.hangup_requested';
      readonly channelId: string;
      readonly cause: number;
      readonly at: string;
    }
  | { readonly type: 'channel.left'; readonly channelId: string; readonly at: string }
  | {
      /** The channel is gone; for an originated leg that never answered, the cause says why (19 no answer, 17 busy, 21 rejected). */
      readonly type: 'channel.destroyed';
      readonly channelId: string;
      readonly cause: number;
      readonly at: string;
    }
  | {
      readonly type: 'recording.finished';
      readonly channelId: string;
      readonly name: string;
      readonly ok: boolean;
      readonly seconds: number;
      readonly at: string;
    }
  | {
      readonly type: 'endpoint.state_changed';
      readonly technology: string;
      readonly resource: string;
      /** 'online' | 'offline' | 'unknown' from EndpointStateChange; contact status from ContactStatusChange. */
      readonly state: string;
      readonly contactStatus?: string;
      readonly at: string;
    };

export type ConnectionEvent =
  | { readonly type: 'connected'; readonly reconnect: boolean }
  | { readonly type: 'disconnected'; readonly reason: string };

export interface EndpointInfo {
  readonly technology: string;
  readonly resource: string;
  readonly state: string;
  readonly channelIds: readonly string[];
}

export interface TelephonyPort {
  /** Starts connecting (and keeps reconnecting) in the background. */
  start(): void;
  stop(): Promise<void>;
  isConnected(): boolean;
  onEvent(handler: (event: TelephonyEvent) => void): void;
  /** Called after every (re)connect with the channels still in our Stasis app. */
  onConnection(handler: (event: ConnectionEvent) => void): void;

  answer(channelId: string): Promise<void>;
  play(channelId: string, playbackId: string, media: readonly string[]): Promise<void>;
  stopPlayback(playbackId: string): Promise<void>;
  hangup(channelId: string, reason?: HangupReason): Promise<void>;
  /** Records the caller to `<name>.wav` after a beep; `#` or silence ends it. */
  record(channelId: string, name: string, maxSeconds: number): Promise<void>;
  /**
   * Calls `endpoint` (e.g. PJSIP/agent1001); when answered the new channel enters our app with
   * `appArgs`. `headers` become SIP headers on the INVITE (X-Hotline-*).
   */
  originate(request: OriginateRequest): Promise<void>;
  createBridge(bridgeId: string): Promise<void>;
  addToBridge(bridgeId: string, channelIds: readonly string[]): Promise<void>;
  destroyBridge(bridgeId: string): Promise<void>;
  startMusicOnHold(channelId: string, mohClass: string): Promise<void>;
  stopMusicOnHold(channelId: string): Promise<void>;
  /** Sends the channel back to the dialplan at `context,extension,1`. */
  continueInDialplan(channelId: string, context: string, extension: string): Promise<void>;
  /** Channels currently in our Stasis application (GET /applications/{app}). */
  listAppChannels(): Promise<string[]>;
  getEndpoint(technology: string, resource: string): Promise<EndpointInfo | null>;
  /**
   * Whether the channel still exists, in any Stasis application or none (GET /channels/{id}):
   * how routing tells that an agent whose call a gone instance held has hung up.
   */
  channelExists(channelId: string): Promise<boolean>;
}

export interface OriginateRequest {
  /** Chosen by us, so events of the new leg map to its call before the first one arrives. */
  readonly channelId: string;
  readonly endpoint: string;
  readonly appArgs: readonly string[];
  readonly callerId: string;
  readonly timeoutSeconds: number;
  readonly headers: Readonly<Record<string, string>>;
}

/** ARI's hangup reasons (DELETE /channels/{id}?reason=). */
export type HangupReason = 'normal' | 'busy' | 'congestion' | 'no_answer' | 'unallocated';

/** The channel no longer exists: commands on it are moot, not errors. */
export class ChannelGoneError extends Error {
  readonly channelId: string;

  constructor(channelId: string, cause?: unknown) {
    super(`channel ${channelId} is gone`, { cause });
    this.channelId = channelId;
    this.name = 'ChannelGoneError';
  }
}
