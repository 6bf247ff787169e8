import { afterAll, describe, expect, inject, it } from 'vitest';
import '../setup/provided.ts';
import { createLogger } from '../../src/log/logger.ts';
import { AriTelephony } from '../../src/telephony/ari/ari-telephony.ts';
import type { TelephonyEvent } from '../../src/telephony/port.ts';
import { waitFor } from './helpers/hotline-process.ts';
import { startSoftphone, type Softphone } from './helpers/baresip.ts';

describe('agent presence plumbing (baresip -> Asterisk -> ARI adapter)', () => {
  const ast = inject('asterisk');
  const events: TelephonyEvent[] = [];
  const telephony = new AriTelephony(
    {
      url: ast.ariUrl,
      user: ast.ariUser,
      password: ast.ariPassword,
      app: 'presence-e2e',
      connectTimeoutMs: 5_000,
      pingIntervalMs: 5_000,
      reconnectMaxMs: 5_000,
      subscriptions: ['endpoint:PJSIP'],
    },
    createLogger('silent'),
  );
  telephony.onEvent((e) => events.push(e));
  let phone: Softphone | undefined;

  afterAll(async () => {
    await phone?.stop();
    await telephony.stop();
  });

  it('sees a softphone register (ContactStatusChange) and the endpoint turn online, then offline', async () => {
    telephony.start();
    await waitFor(() => telephony.isConnected(), 10_000, () => 'ARI adapter never connected');
    expect((await telephony.getEndpoint('PJSIP', 'agent1002'))?.state).toBe('offline');

    phone = startSoftphone('agent1002', 25200);
    const agentEvents = () => events.filter((e) => e.type === 'endpoint.state_changed' && e.resource === 'agent1002');
    await waitFor(
      () => agentEvents().some((e) => e.type === 'endpoint.state_changed' && e.contactStatus === 'Reachable'),
      15_000,
      () => `no ContactStatusChange for agent1002: ${JSON.stringify(agentEvents())}\nbaresip: ${phone?.output()}`,
    );
    expect((await telephony.getEndpoint('PJSIP', 'agent1002'))?.state).toBe('online');
    expect(agentEvents().some((e) => e.type === 'endpoint.state_changed' && e.state === 'online')).toBe(true);

    // baresip unregisters on exit: the endpoint goes offline, which the routing issue uses to log agents out.
    await phone.stop();
    phone = undefined;
    await waitFor(
      async () => (await telephony.getEndpoint('PJSIP', 'agent1002'))?.state === 'offline',
      15_000,
      () => 'agent1002 stayed online after baresip stopped',
    );
  });

  // Routing asks this of an agent whose call a gone instance held: still talking, or hung up?
  it("channelExists: an agent's leg exists while the softphone holds it, and not once the agent hangs up; an unknown id does not", async () => {
    await waitFor(() => telephony.isConnected(), 10_000, () => 'ARI adapter never connected');
    phone = startSoftphone('agent1002', 25210);
    await waitFor(async () => (await telephony.getEndpoint('PJSIP', 'agent1002'))?.state === 'online', 15_000, () => `agent1002 did not register\nbaresip: ${phone?.output()}`);
    const legId = `agentleg-e2e-${Date.now().toString(36)}`;
    await telephony.originate({ channelId: legId, endpoint: 'PJSIP/agent1002', appArgs: ['agentleg', 'e2e', 'agent1002'], callerId: '10010', timeoutSeconds: 15, headers: {} });
    await waitFor(() => events.some((e) => e.type === 'channel.entered' && e.channelId === legId), 15_000, () => `the leg was not answered\nbaresip: ${phone?.output()}`);
    expect(await telephony.channelExists(legId)).toBe(true);

    phone.command('/hangup');
    await waitFor(() => events.some((e) => e.type === 'channel.destroyed' && e.channelId === legId), 15_000, () => `the agent's hang-up did not end the leg\nbaresip: ${phone?.output()}`);
    expect(await telephony.channelExists(legId)).toBe(false);
    expect(await telephony.channelExists('no-such-channel')).toBe(false);
  });
});
