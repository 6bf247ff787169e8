import type { TelephonyEvent } from '../port.ts';

/**
 * Maps a raw ARI event (the JSON Asterisk sends on the WebSocket) to a TelephonyEvent, or
 * null for events Hotline does not use. Pure, so it is unit-tested without Asterisk.
 */
export function mapAriEvent(raw: AriRawEvent): TelephonyEvent | null {
  const at = raw.timestamp ?? new Date().toISOString();
  switch (raw.type) {
    case 'StasisStart': {
      const ch = raw.channel;
      if (!ch) return null;
      return {
        type: 'channel.entered',
        channelId: ch.id,
        args: raw.args ?? [],
        channelName: ch.name ?? '',
        caller: { number: ch.caller?.number ?? '', name: ch.caller?.name ?? '' },
        at,
      };
    }
    case 'ChannelDtmfReceived':
      if (!raw.channel || !raw.digit) return null;
      return { type: 'dtmf.received', channelId: raw.channel.id, digit: raw.digit, at };
    case 'PlaybackFinished': {
      const pb = raw.playback;
      // target_uri is "channel:<id>" for playbacks on a channel; others are not ours.
      const channelId = pb?.target_uri?.startsWith('channel:') ? pb.target_uri.slice('channel:'.length) : null;
      if (!pb || !channelId) return null;
      const state = pb.state === 'done' ? 'done' : pb.state === 'failed' ? 'failed' : 'stopped';
      return { type: 'playback.finished', channelId, playbackId: pb.id, state, at };
    }
    case 'ChannelHangupRequest':
      if (!raw.channel) return null;
      return { type: 'channel.hangup_requested', channelId: raw.channel.id, cause: raw.cause ?? 0, at };
    case 'ChannelDestroyed':
      if (!raw.channel) return null;
      return { type: 'channel.destroyed', channelId: raw.channel.id, cause: raw.cause ?? 0, at };
    case 'StasisEnd':
      if (!raw.channel) return null;
      return { type: 'channel.left', channelId: raw.channel.id, at };
    case 'RecordingFinished':
    case 'RecordingFailed': {
      const rec = raw.recording;
      const channelId = rec?.target_uri?.startsWith('channel:') ? rec.target_uri.slice('channel:'.length) : null;
      if (!rec || !channelId) return null;
      return {
        type: 'recording.finished',
        channelId,
        name: rec.name,
        ok: raw.type === 'RecordingFinished',
        seconds: rec.duration ?? 0,
        at,
      };
    }
    case 'EndpointStateChange': {
      const ep = raw.endpoint;
      if (!ep) return null;
      return { type: 'endpoint.state_changed', technology: ep.technology, resource: ep.resource, state: ep.state ?? 'unknown', at };
    }
    case 'ContactStatusChange': {
      const ep = raw.endpoint;
      if (!ep) return null;
      return {
        type: 'endpoint.state_changed',
        technology: ep.technology,
        resource: ep.resource,
        state: ep.state ?? 'unknown',
        contactStatus: raw.contact_info?.contact_status ?? 'Unknown',
        at,
      };
    }
    default:
      return null;
  }
}

/** The parts of ARI's event JSON that mapAriEvent reads. */
export interface AriRawEvent {
  type: string;
  application?: string;
  timestamp?: string;
  args?: string[];
  digit?: string;
  cause?: number;
  channel?: { id: string; name?: string; caller?: { number?: string; name?: string } };
  playback?: { id: string; target_uri?: string; state?: string };
  recording?: { name: string; target_uri?: string; state?: string; duration?: number };
  endpoint?: { technology: string; resource: string; state?: string };
  contact_info?: { contact_status?: string; uri?: string };
}
