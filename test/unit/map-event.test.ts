import { describe, expect, it } from 'vitest';
import { mapAriEvent } from '../../src/telephony/ari/map-event.ts';

const at = '2026-11-23T08:00:00.000+0000';

describe('ARI event mapping', () => {
  it('maps StasisStart with args and caller', () => {
    expect(
      mapAriEvent({ type: 'StasisStart', timestamp: at, args: ['inbound', '10010'], channel: { id: 'ch1', name: 'PJSIP/trunk-00000007', caller: { number: '138', name: 'A' } } }),
    ).toEqual({ type: 'channel.entered', channelId: 'ch1', args: ['inbound', '10010'], channelName: 'PJSIP/trunk-00000007', caller: { number: '138', name: 'A' }, at });
  });

  it('maps PlaybackFinished to its channel from target_uri', () => {
    expect(mapAriEvent({ type: 'PlaybackFinished', timestamp: at, playback: { id: 'p1', target_uri: 'channel:ch1', state: 'done' } })).toEqual({
      type: 'playback.finished',
      channelId: 'ch1',
      playbackId: 'p1',
      state: 'done',
      at,
    });
    expect(mapAriEvent({ type: 'PlaybackFinished', playback: { id: 'p2', target_uri: 'bridge:b1', state: 'done' } })).toBeNull();
  });

  it('maps hangup requests with their Q.850 cause, and presence events', () => {
    expect(mapAriEvent({ type: 'ChannelHangupRequest', timestamp: at, cause: 16, channel: { id: 'ch1' } })).toEqual({
      type: 'channel.hangup_requested',
      channelId: 'ch1',
      cause: 16,
      at,
    });
    expect(
      mapAriEvent({
        type: 'ContactStatusChange',
        timestamp: at,
        endpoint: { technology: 'PJSIP', resource: 'agent1001', state: 'online' },
        contact_info: { contact_status: 'Reachable' },
      }),
    ).toEqual({ type: 'endpoint.state_changed', technology: 'PJSIP', resource: 'agent1001', state: 'online', contactStatus: 'Reachable', at });
  });

  it('ignores events Hotline does not use', () => {
    expect(mapAriEvent({ type: 'ChannelVarset', channel: { id: 'x' } })).toBeNull();
    expect(mapAriEvent({ type: 'StasisStart' })).toBeNull();
  });
});
